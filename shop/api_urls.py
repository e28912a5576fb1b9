"""Catalog API under /api/."""

from __future__ import annotations

app_name = "shop-api"

urlpatterns: list = []
