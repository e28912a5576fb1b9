"""The catalog over HTTP (/api/): one class per action, reading through shop.selectors
(cached in Redis) and writing through shop.services (which invalidate that cache)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny, IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from common.api.errors import (
    BAD_TOKEN,
    FORBIDDEN,
    MALFORMED_QUERY,
    UNAUTHENTICATED,
    ErrorDetailOutputSerializer,
    MalformedQuery,
    invalid_body,
)
from common.api.pagination import page_links, page_output_serializer, page_parameters
from common.api.queries import MAX_PAGE, MAX_PAGE_SIZE, InvalidQuery
from shop import services
from shop.models import Product
from shop.queries import parse_product_query
from shop.selectors import (
    SORTS,
    category_tree,
    product_detail_by_id,
    product_detail_by_slug,
    product_detail_for_staff,
    product_list,
)
from shop.serializers import (
    ERROR_SKU_TAKEN,
    ERROR_SLUG_TAKEN,
    CategoryNodeOutputSerializer,
    ProductCardOutputSerializer,
    ProductDetailOutputSerializer,
    ProductInputSerializer,
    ProductStaffOutputSerializer,
)

logger = logging.getLogger(__name__)

ERROR_PRODUCT_NOT_FOUND = _("No product on sale has that id.")
ERROR_SLUG_NOT_FOUND = _("No product on sale has that slug.")
ERROR_CATEGORY_NOT_FOUND = _("No category has that slug.")

TAGS = ["catalog"]
# Unique keys a write can collide on, with the message staff see on that field.
DUPLICATE_KEY_MESSAGES = {"sku": ERROR_SKU_TAKEN, "slug": ERROR_SLUG_TAKEN}

# --- OpenAPI pieces shared by several operations ---------------------------------------------

NOT_FOUND = OpenApiResponse(ErrorDetailOutputSerializer, description="Unknown or malformed id/slug.")
INVALID_BODY = invalid_body(example={"sku": [str(ERROR_SKU_TAKEN)]})
ID_PARAMETER = OpenApiParameter("id", str, OpenApiParameter.PATH, description="The product's ObjectId (24 hex digits).")
LIST_PARAMETERS = [
    OpenApiParameter("category", str, description="A category slug; its subcategories' products are included."),
    OpenApiParameter("q", str, description="Plain text searched in name and description (max 200 characters)."),
    OpenApiParameter("min_price", str, description="Lowest price, a decimal from 0 to 1000000, like 10 or 9.99."),
    OpenApiParameter("max_price", str, description="Highest price, a decimal from 0 to 1000000."),
    OpenApiParameter("in_stock", str, enum=["1", "0"], description="1: only products in stock."),
    OpenApiParameter("sort", str, enum=sorted(SORTS), default="newest", description="Order of the results."),
    *page_parameters(
        page=f"Page number, 1 to {MAX_PAGE}; past the end is empty.",
        page_size=f"Results per page, 1 to {MAX_PAGE_SIZE}.",
    ),
]
LIST_DESCRIPTION = (
    "Products on sale, filtered and paginated like the shop pages.\n\n"
    "**Attribute filters**: besides the parameters below, any number (up to 5) of "
    "`attr_<name>=<value>` parameters match a product attribute exactly, e.g. "
    "`?attr_colour=red&attr_size=M`. Names are lower-case letters, digits and `_`; values are "
    "up to 60 characters.\n\n"
    'A malformed parameter answers 400 with `{"errors": {"<parameter>": "<message>"}}`; '
    "an unknown category answers 404."
)


def _product_or_404(product_id: str) -> Product:
    """Any product (on sale or not) for staff writes; a malformed id is just not found."""
    try:
        oid = ObjectId(product_id)
    except (InvalidId, TypeError):
        raise NotFound(ERROR_PRODUCT_NOT_FOUND) from None
    product = Product.objects.filter(pk=oid).first()
    if product is None:
        raise NotFound(ERROR_PRODUCT_NOT_FOUND)
    return product


def _write(action: Callable[[], Product]) -> Product:
    """Run a service write, turning model validation and duplicate keys into 400s."""
    try:
        return action()
    except DjangoValidationError as error:
        detail = serializers.as_serializer_error(error)
        if "__all__" in detail:
            detail[api_settings.NON_FIELD_ERRORS_KEY] = detail.pop("__all__")
        raise serializers.ValidationError(detail) from error
    except IntegrityError as error:
        # django-mongodb-backend leaves str(error) empty; pymongo's DuplicateKeyError is the cause.
        cause = error.__cause__
        logger.warning("product write rejected by the database: %.500r", cause)
        keys = _duplicate_keys(cause)
        for field, message in DUPLICATE_KEY_MESSAGES.items():
            if field in keys:
                raise serializers.ValidationError({field: [message]}) from error
        raise


def _duplicate_keys(cause: BaseException | None) -> set[str]:
    """Fields of the unique indexes a pymongo DuplicateKeyError or BulkWriteError collided on."""
    details = getattr(cause, "details", None) or {}
    entries = [details, *details.get("writeErrors", [])]
    return {key for entry in entries for key in (entry.get("keyPattern") or {})}


def _staff_detail(product: Product) -> dict[str, Any]:
    """The product as stored after a staff write, on sale or not."""
    detail = product_detail_for_staff(product.pk)
    if detail is None:  # deleted between the write and this read
        raise NotFound(ERROR_PRODUCT_NOT_FOUND)
    return detail


# --- Reads (public) ---------------------------------------------------------------------------
# _READ_PATH_NOTE: public reads return the selectors' cached dicts as they are. Each
# OutputSerializer documents that shape for OpenAPI; running it again on every request
# only costs time (it would re-validate our own output). shop/tests/test_api_contract.py
# proves that serializing a selector answer changes nothing.


class ProductListApi(APIView):
    permission_classes = [AllowAny]

    OutputSerializer = page_output_serializer(
        ref_name="ProductPage", rows="Products", row_serializer=ProductCardOutputSerializer
    )

    @extend_schema(
        operation_id="products_list",
        tags=TAGS,
        summary="List products",
        description=LIST_DESCRIPTION,
        parameters=LIST_PARAMETERS,
        responses={
            200: OutputSerializer,
            400: MALFORMED_QUERY,
            401: BAD_TOKEN,
            404: OpenApiResponse(ErrorDetailOutputSerializer, description="Unknown category slug."),
        },
    )
    def get(self, request: Request) -> Response:
        try:
            query = parse_product_query(request.query_params, allow_page_size=True)
        except InvalidQuery as error:
            raise MalformedQuery(error.errors) from error
        answer = product_list(query)
        if answer is None:
            raise NotFound(ERROR_CATEGORY_NOT_FOUND)
        links = page_links(request, page=answer["page"], pages=answer["pages"])
        return Response({**answer, **links})  # already the OutputSerializer's shape (see _READ_PATH_NOTE)


class ProductDetailApi(APIView):
    permission_classes = [AllowAny]
    # The same shape as the by-slug answer: one OpenAPI component for both.
    OutputSerializer = ProductDetailOutputSerializer

    @extend_schema(
        operation_id="products_retrieve",
        tags=TAGS,
        summary="Get a product by id",
        description="A product on sale, with its description, images and category breadcrumbs.",
        parameters=[ID_PARAMETER],
        responses={200: OutputSerializer, 401: BAD_TOKEN, 404: NOT_FOUND},
    )
    def get(self, request: Request, id: str) -> Response:
        detail = product_detail_by_id(id)
        if detail is None:
            raise NotFound(ERROR_PRODUCT_NOT_FOUND)
        return Response(detail)


class ProductBySlugApi(APIView):
    permission_classes = [AllowAny]
    OutputSerializer = ProductDetailOutputSerializer

    class SlugSerializer(serializers.Serializer):
        slug = serializers.SlugField(max_length=220)

    @extend_schema(
        operation_id="products_by_slug_retrieve",
        tags=TAGS,
        summary="Get a product by slug",
        description="The same answer as by id, for URLs that carry the slug.",
        parameters=[OpenApiParameter("slug", str, OpenApiParameter.PATH, description="The product's slug.")],
        responses={200: OutputSerializer, 401: BAD_TOKEN, 404: NOT_FOUND},
    )
    def get(self, request: Request, slug: str) -> Response:
        # Anything that cannot be a slug is not found without a cache entry per junk string.
        if not self.SlugSerializer(data={"slug": slug}).is_valid():
            raise NotFound(ERROR_SLUG_NOT_FOUND)
        detail = product_detail_by_slug(slug)
        if detail is None:
            raise NotFound(ERROR_SLUG_NOT_FOUND)
        return Response(detail)


class CategoryListApi(APIView):
    permission_classes = [AllowAny]
    OutputSerializer = CategoryNodeOutputSerializer

    @extend_schema(
        operation_id="categories_list",
        tags=TAGS,
        summary="The category tree",
        description="Root categories in display order, each with its `children` (recursively).",
        responses={200: OutputSerializer(many=True), 401: BAD_TOKEN},
    )
    def get(self, request: Request) -> Response:
        return Response(category_tree())


# --- Writes (staff) ---------------------------------------------------------------------------

STAFF_ERRORS = {400: INVALID_BODY, 401: UNAUTHENTICATED, 403: FORBIDDEN}


class ProductCreateApi(APIView):
    permission_classes = [IsAdminUser]
    OutputSerializer = ProductStaffOutputSerializer

    class InputSerializer(ProductInputSerializer):
        class Meta:
            ref_name = "ProductInput"

    @extend_schema(
        operation_id="products_create",
        tags=TAGS,
        summary="Create a product (staff)",
        description="Answers the product as the public API now shows it, plus `is_active`. "
        "The slug is made from the name when left out.",
        request=InputSerializer,
        responses={201: OutputSerializer, **STAFF_ERRORS},
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        product = _write(lambda: services.product_create(**serializer.validated_data))
        return Response(self.OutputSerializer(_staff_detail(product)).data, status=status.HTTP_201_CREATED)


class ProductUpdateApi(APIView):
    """PUT replaces every field (left-out optional ones return to their defaults, the slug stays);
    PATCH changes only the fields sent."""

    permission_classes = [IsAdminUser]
    OutputSerializer = ProductStaffOutputSerializer
    InputSerializer = ProductCreateApi.InputSerializer  # the same fields; PATCH makes them optional

    def _update(self, request: Request, id: str, *, partial: bool) -> Response:
        product = _product_or_404(id)
        serializer = self.InputSerializer(instance=product, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        product = _write(lambda: services.product_update(product=product, **serializer.validated_data))
        return Response(self.OutputSerializer(_staff_detail(product)).data)

    @extend_schema(
        operation_id="products_update",
        tags=TAGS,
        summary="Replace a product (staff)",
        description="Every field is replaced: optional fields left out return to their defaults; "
        "a left-out slug stays as it is.",
        parameters=[ID_PARAMETER],
        request=InputSerializer,
        responses={200: OutputSerializer, **STAFF_ERRORS, 404: NOT_FOUND},
    )
    def put(self, request: Request, id: str) -> Response:
        return self._update(request, id, partial=False)

    @extend_schema(
        operation_id="products_partial_update",
        tags=TAGS,
        summary="Change some fields of a product (staff)",
        description="Only the fields sent change.",
        parameters=[ID_PARAMETER],
        request=InputSerializer,
        responses={200: OutputSerializer, **STAFF_ERRORS, 404: NOT_FOUND},
    )
    def patch(self, request: Request, id: str) -> Response:
        return self._update(request, id, partial=True)


class ProductDeleteApi(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(
        operation_id="products_destroy",
        tags=TAGS,
        summary="Delete a product (staff)",
        description="Removes the product; its page and every list showing it update at once.",
        parameters=[ID_PARAMETER],
        responses={204: None, 401: UNAUTHENTICATED, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    def delete(self, request: Request, id: str) -> Response:
        services.product_delete(product=_product_or_404(id))
        return Response(status=status.HTTP_204_NO_CONTENT)
