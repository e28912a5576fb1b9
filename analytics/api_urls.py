"""config/urls.py includes these under /api/staff/analytics/."""

from __future__ import annotations

from django.urls import path

from analytics.api import AnalyticsApi

app_name = "analytics-api"

urlpatterns = [
    path("", AnalyticsApi.as_view(), name="figures"),
]
