"""Staff pages under /staff/."""

from __future__ import annotations

from django.urls import path

from shop import staff_views

app_name = "staff"

urlpatterns = [
    path("cache/", staff_views.cache_stats_page, name="cache-stats"),
    path("cache.json", staff_views.cache_stats_json, name="cache-stats-json"),
]
