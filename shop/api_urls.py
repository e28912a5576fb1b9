"""Catalog API under /api/: each URL with the action class that serves each of its methods."""

from __future__ import annotations

from django.urls import path

from common.api.routing import method_router
from shop.api import (
    CategoryListApi,
    ProductBySlugApi,
    ProductCreateApi,
    ProductDeleteApi,
    ProductDetailApi,
    ProductListApi,
    ProductUpdateApi,
)

app_name = "shop-api"

# <str:...> rather than a stricter converter: a malformed id or slug must answer a JSON 404,
# not fall through to the HTML 404 page.
urlpatterns = [
    path(
        "products/",
        method_router("ProductCollectionApi", description="/api/products/", get=ProductListApi, post=ProductCreateApi),
        name="product-list",
    ),
    path("products/by-slug/<str:slug>/", ProductBySlugApi.as_view(), name="product-by-slug"),
    path(
        "products/<str:id>/",
        method_router(
            "ProductItemApi",
            description="/api/products/{id}/",
            get=ProductDetailApi,
            put=ProductUpdateApi,
            patch=ProductUpdateApi,
            delete=ProductDeleteApi,
        ),
        name="product-detail",
    ),
    path("categories/", CategoryListApi.as_view(), name="category-list"),
]
