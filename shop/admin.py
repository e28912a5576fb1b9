"""Catalog in Django admin. Every save and delete goes through shop.services (cache invalidation)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from shop import services
from shop.models import Category, Product


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "parent", "position")
    list_editable = ("position",)
    list_filter = ("parent",)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    ordering = ("position", "name")

    def save_model(self, request: HttpRequest, obj: Category, form: Any, change: bool) -> None:
        services.category_saved(category=obj)

    def delete_model(self, request: HttpRequest, obj: Category) -> None:
        services.category_delete(category=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Category]) -> None:
        for category in queryset:
            services.category_delete(category=category)

    def get_form(self, request: HttpRequest, obj: Category | None = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        original_clean = form.clean

        def clean(self: Any) -> Any:
            data = original_clean(self)
            if self.instance.pk and data.get("parent") is not None:
                self.instance.parent = data["parent"]
                services.category_check_parent(category=self.instance)
            return data

        form.clean = clean
        return form


class StockFilter(admin.SimpleListFilter):
    title = _("stock")
    parameter_name = "stock_state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("in", _("In stock")), ("low", _("Low (1 to 3)")), ("out", _("Out of stock"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Product]) -> QuerySet[Product]:
        match self.value():
            case "in":
                return queryset.filter(stock__gt=0)
            case "low":
                return queryset.filter(stock__gte=1, stock__lte=3)
            case "out":
                return queryset.filter(stock=0)
        return queryset


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("name", "sku", "category_name", "price", "currency", "stock", "is_active", "created_at")
    list_editable = ("price", "stock")
    list_filter = ("category", StockFilter, "is_active")
    # A join per page is a $lookup on MongoDB; the dozen category names come from one small query.
    list_select_related = ()
    show_full_result_count = False
    search_fields = ("name", "sku", "slug")
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("created_at", "updated_at")
    list_per_page = 50
    actions = ("put_on_sale", "take_off_sale")
    fieldsets = (
        (None, {"fields": ("name", "slug", "sku", "category", "is_active")}),
        (_("Price and stock"), {"fields": ("price", "currency", "stock")}),
        (_("Content"), {"fields": ("description", "images", "tags", "attributes")}),
        (_("Dates"), {"fields": ("created_at", "updated_at")}),
    )

    @admin.display(description=_("category"), ordering="category")
    def category_name(self, obj: Product) -> str:
        names = getattr(self, "_category_names", None)
        if names is None or obj.category_id not in names:
            names = self._category_names = dict(Category.objects.values_list("pk", "name"))
        return names.get(obj.category_id, "")

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        self._category_names = None  # fresh names for every page view
        return super().changelist_view(request, extra_context)

    def save_model(self, request: HttpRequest, obj: Product, form: Any, change: bool) -> None:
        services.product_saved(product=obj, changed_fields=form.changed_data if change else ())

    def delete_model(self, request: HttpRequest, obj: Product) -> None:
        services.product_delete(product=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Product]) -> None:
        services.products_delete(product_ids=list(queryset.values_list("pk", flat=True)))

    @admin.action(description=_("Put selected products on sale"), permissions=["change"])
    def put_on_sale(self, request: HttpRequest, queryset: QuerySet[Product]) -> None:
        self._set_active(request, queryset, active=True)

    @admin.action(description=_("Take selected products off sale"), permissions=["change"])
    def take_off_sale(self, request: HttpRequest, queryset: QuerySet[Product]) -> None:
        self._set_active(request, queryset, active=False)

    def _set_active(self, request: HttpRequest, queryset: QuerySet[Product], *, active: bool) -> None:
        count = services.products_bulk_update(product_ids=list(queryset.values_list("pk", flat=True)), is_active=active)
        self.message_user(
            request,
            ngettext("%(count)d product updated.", "%(count)d products updated.", count) % {"count": count},
            messages.SUCCESS,
        )
