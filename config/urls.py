from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularSwaggerSplitView

from config.views import ApiSchemaView, healthz, language_switch, livez

# A MongoDB outage answers 503 (page or JSON), not 500 (config/outages.py).
handler500 = "config.outages.server_error"
# Unknown paths under /api/ answer JSON, like every other API error (config/errors.py).
handler404 = "config.errors.page_not_found"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("livez", livez, name="livez"),
    path("admin/", admin.site.urls),
    path("staff/orders/", include("orders.staff_urls")),
    path("staff/analytics/", include("analytics.urls")),
    path("staff/", include("shop.staff_urls")),
    path("i18n/setlang/", language_switch, name="set_language"),
    path("account/", include("accounts.urls")),
    path("api/schema/", ApiSchemaView.as_view(), name="api-schema"),
    # The split view serves its start-up script as a file: no inline script (config/security.py).
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/auth/", include("accounts.api_urls")),
    path("api/orders/", include("orders.api_urls")),
    path("api/staff/analytics/", include("analytics.api_urls")),
    path("api/", include("shop.api_urls")),
    path("orders/", include("orders.urls")),
    path("", include("shop.urls")),
]
