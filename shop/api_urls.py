"""Catalog API under /api/ (paths that clients rely on are listed in DESIGN.md, section 3)."""

from __future__ import annotations

from django.urls import path

from shop.api import CategoryListApi, ProductBySlugApi, ProductCollectionApi, ProductItemApi

app_name = "shop-api"

# <str:...> rather than a stricter converter: a malformed id or slug must answer a JSON 404,
# not fall through to the HTML 404 page.
urlpatterns = [
    path("products/", ProductCollectionApi.as_view(), name="product-list"),
    path("products/by-slug/<str:slug>/", ProductBySlugApi.as_view(), name="product-by-slug"),
    path("products/<str:id>/", ProductItemApi.as_view(), name="product-detail"),
    path("categories/", CategoryListApi.as_view(), name="category-list"),
]
