"""Serializers shared by several catalog API classes (shop/api.py).

Output serializers render the JSON-ready dicts of shop.selectors (cached in Redis), so
they never touch the database; they exist to pin the public shape and to document it
in OpenAPI. ``Meta.ref_name`` names each OpenAPI component.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.validators import UniqueValidator

from shop.availability import LOW_STOCK_THRESHOLD
from shop.models import Category, Product
from shop.queries import MAX_ATTRIBUTE_VALUE_LENGTH
from shop.selectors import ATTRIBUTE_NAME

MAX_ATTRIBUTES = 30
MAX_IMAGES = 20
MAX_TAGS = 20
MAX_DESCRIPTION_LENGTH = 20_000
MAX_STOCK = 2**31 - 1
# BSON stores integers as int64; a larger number would fail inside the driver, not here.
MAX_ATTRIBUTE_NUMBER = 2**63 - 1

ERROR_CATEGORY_UNKNOWN = _("No category has the slug “{value}”.")
ERROR_SKU_TAKEN = _("Another product already uses this SKU.")
ERROR_SLUG_TAKEN = _("Another product already uses this slug.")
ERROR_CURRENCY = _("Currency must be a three-letter upper-case code, like EUR.")
ERROR_IMAGE = _("Images must be absolute http(s) URLs or site paths starting with “/”.")
ERROR_ATTRIBUTES_TYPE = _("Attributes must be an object of names to strings or numbers.")
ERROR_ATTRIBUTES_COUNT = _("Use at most 30 attributes.")
ERROR_ATTRIBUTE_NAME = _("Attribute names are lower-case letters, digits and “_”, starting with a letter (max 30).")
ERROR_ATTRIBUTE_VALUE = _("Attribute values are strings of up to 60 characters or finite numbers.")

# "//host/x" is protocol-relative (another site), so a site path is "/" not followed by "/".
_IMAGE = re.compile(r"^(https?://[^\s/$.?#][^\s]*|/(?!/)[^\s]*)$", re.IGNORECASE)
_CURRENCY = re.compile(r"^[A-Z]{3}$")

ATTRIBUTES_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Free-form attributes: names match ^[a-z][a-z0-9_]{0,29}$, values are strings or numbers.",
    "maxProperties": MAX_ATTRIBUTES,
    "additionalProperties": {
        "oneOf": [{"type": "string", "maxLength": MAX_ATTRIBUTE_VALUE_LENGTH}, {"type": "number"}],
    },
    "example": {"colour": "red", "size": "M", "weight_g": 180},
}


@extend_schema_field(ATTRIBUTES_SCHEMA)
class AttributesField(serializers.Field):
    """A flat object of attribute names to strings or numbers (what the filters can match)."""

    def to_representation(self, value: dict[str, Any]) -> dict[str, Any]:
        return dict(value)

    def to_internal_value(self, data: Any) -> dict[str, str | int | float]:
        if not isinstance(data, dict):
            raise serializers.ValidationError(ERROR_ATTRIBUTES_TYPE)
        if len(data) > MAX_ATTRIBUTES:
            raise serializers.ValidationError(ERROR_ATTRIBUTES_COUNT)
        cleaned: dict[str, str | int | float] = {}
        for name, value in data.items():
            if not isinstance(name, str) or not ATTRIBUTE_NAME.match(name):
                raise serializers.ValidationError(ERROR_ATTRIBUTE_NAME)
            cleaned[name] = _attribute_value(value)
        return cleaned


def _attribute_value(value: Any) -> str | int | float:
    if isinstance(value, str):
        value = value.strip()
        valid = 0 < len(value) <= MAX_ATTRIBUTE_VALUE_LENGTH
    elif isinstance(value, bool):  # bool is an int to Python, not a number to a shopper
        valid = False
    elif isinstance(value, int):
        valid = abs(value) <= MAX_ATTRIBUTE_NUMBER
    else:
        valid = isinstance(value, float) and math.isfinite(value)
    if not valid:
        raise serializers.ValidationError(ERROR_ATTRIBUTE_VALUE)
    return value


def _validate_image(value: str) -> None:
    if not _IMAGE.match(value):
        raise serializers.ValidationError(ERROR_IMAGE)


# --- Output: shapes of shop.selectors answers -------------------------------------------------


class CategoryRefOutputSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="ObjectId (24 hex digits).")
    name = serializers.CharField()
    slug = serializers.CharField()

    class Meta:
        ref_name = "CategoryRef"


class BreadcrumbOutputSerializer(serializers.Serializer):
    name = serializers.CharField()
    slug = serializers.CharField()

    class Meta:
        ref_name = "Breadcrumb"


class ProductCardOutputSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="ObjectId (24 hex digits).")
    name = serializers.CharField()
    slug = serializers.CharField()
    sku = serializers.CharField()
    price = serializers.DecimalField(max_digits=10, decimal_places=2, help_text="A decimal string, like 19.90.")
    currency = serializers.CharField()
    in_stock = serializers.BooleanField(help_text="At least one unit left.")
    stock_left = serializers.IntegerField(
        allow_null=True,
        help_text=f"The units left when there are at most {LOW_STOCK_THRESHOLD} (0 when sold out), else null: "
        "what the shop's “only N left” badge shows. List cards carry no exact count (a stock change that "
        "leaves the badge alone does not refresh cached lists); the product's own endpoint has `stock`.",
    )
    image = serializers.CharField(help_text="The first image, or an empty string.")
    tags = serializers.ListField(child=serializers.CharField())
    attributes = AttributesField()
    category = CategoryRefOutputSerializer()
    created_at = serializers.DateTimeField()

    class Meta:
        ref_name = "ProductCard"


class ProductDetailOutputSerializer(ProductCardOutputSerializer):
    stock = serializers.IntegerField(help_text="The exact number of units left, fresh after every change.")
    description = serializers.CharField()
    images = serializers.ListField(child=serializers.CharField())
    updated_at = serializers.DateTimeField()
    breadcrumbs = BreadcrumbOutputSerializer(many=True, help_text="From the root category down to the product's.")

    class Meta:
        ref_name = "ProductDetail"


class ProductStaffOutputSerializer(ProductDetailOutputSerializer):
    is_active = serializers.BooleanField(help_text="False: hidden from the shop and the public API.")

    class Meta:
        ref_name = "ProductStaffDetail"


class CategoryNodeOutputSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="ObjectId (24 hex digits).")
    name = serializers.CharField()
    slug = serializers.CharField()
    description = serializers.CharField()
    parent_id = serializers.CharField(allow_null=True)

    class Meta:
        ref_name = "CategoryNode"

    def get_fields(self) -> dict[str, serializers.Field]:
        # The tree is recursive; building the children field lazily avoids infinite recursion.
        fields = super().get_fields()
        fields["children"] = CategoryNodeOutputSerializer(many=True)
        return fields


# --- Input --------------------------------------------------------------------------------------


class ProductInputSerializer(serializers.Serializer):
    """A product as staff send it."""

    # Field names are the keyword arguments of services.product_create / product_update.
    # Pass the product being edited as ``instance`` so the uniqueness checks skip it.

    category = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=Category.objects.all(),
        error_messages={"does_not_exist": ERROR_CATEGORY_UNKNOWN},
        help_text="The category's slug.",
    )
    name = serializers.CharField(max_length=200)
    slug = serializers.SlugField(
        max_length=220,
        required=False,
        validators=[UniqueValidator(queryset=Product.objects.all(), message=ERROR_SLUG_TAKEN)],
        help_text="Made from the name when left out on create; kept when left out on update.",
    )
    sku = serializers.CharField(
        max_length=40, validators=[UniqueValidator(queryset=Product.objects.all(), message=ERROR_SKU_TAKEN)]
    )
    price = serializers.DecimalField(max_digits=10, decimal_places=2, min_value=Decimal("0"))
    currency = serializers.RegexField(_CURRENCY, default="EUR", error_messages={"invalid": ERROR_CURRENCY})
    stock = serializers.IntegerField(min_value=0, max_value=MAX_STOCK, default=0)
    description = serializers.CharField(max_length=MAX_DESCRIPTION_LENGTH, allow_blank=True, default="")
    images = serializers.ListField(
        child=serializers.CharField(max_length=500, validators=[_validate_image]), max_length=MAX_IMAGES, default=list
    )
    tags = serializers.ListField(child=serializers.CharField(max_length=40), max_length=MAX_TAGS, default=list)
    attributes = AttributesField(default=dict)
    is_active = serializers.BooleanField(default=True)
