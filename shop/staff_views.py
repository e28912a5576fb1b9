"""Staff-only pages about the catalog's machinery (linked from the admin index)."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from shop.selectors import cache_stats


@never_cache
@staff_member_required
def cache_stats_page(request: HttpRequest) -> HttpResponse:
    """Hit, miss, rebuild and invalidation counts per cache namespace."""
    context = {
        **admin.site.each_context(request),
        "title": _("Catalog cache"),
        "stats": cache_stats(),
    }
    return render(request, "staff/cache_stats.html", context)


@never_cache
@staff_member_required
def cache_stats_json(request: HttpRequest) -> JsonResponse:
    """The same counters as JSON, for the benchmark and monitoring."""
    return JsonResponse({"namespaces": cache_stats()})
