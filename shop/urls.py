"""Server-rendered shop pages."""

from __future__ import annotations

app_name = "shop"

urlpatterns: list = []
