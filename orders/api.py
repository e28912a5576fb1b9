"""Orders over HTTP (/api/orders/): one class per action, reading through orders.selectors
and writing through orders.services (the same functions the admin and the pages call)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import APIException
from rest_framework.permissions import IsAdminUser, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.api.errors import VALIDATION_ERROR_SCHEMA, QueryErrorOutputSerializer
from common.api.pagination import page_links
from common.api.queries import ERROR_PAGE, ERROR_PAGE_SIZE, MAX_PAGE, MAX_PAGE_SIZE, PAGE_SIZE, whole_number
from common.api.routing import MethodRouterApi
from orders import selectors, services
from orders.models import Order, OrderStatus, ShippingAddress
from orders.selectors import order_by_id_for_user

ERROR_ORDER_NOT_FOUND = _("You have no order with that id.")
ERROR_PAY_NOT_OWNER = _("Only the customer who placed an order can pay for it.")
ERROR_PRODUCT_ID = _("Product ids are 24 hexadecimal digits.")
ERROR_QUANTITY = _("Quantities must be whole numbers from 1 to 99.")
ERROR_TOO_MANY_LINES = _("An order can have at most 50 lines.")
ERROR_COUNTRY = _("Country must be a two-letter code, like ES.")
ERROR_STATUS_FILTER = _("Status must be one of: pending, paid, shipped, delivered, cancelled.")
ERROR_EMAIL_FILTER = _("E-mail must be at most 254 characters.")

TAGS = ["orders"]
MAX_EMAIL_LENGTH = 254
# Service refusals and their HTTP status; any other OrderError (a race, say) is a conflict too.
ORDER_ERROR_STATUS: dict[type[services.OrderError], int] = {
    services.EmptyCart: status.HTTP_400_BAD_REQUEST,
    services.InvalidLine: status.HTTP_400_BAD_REQUEST,
    services.OutOfStock: status.HTTP_409_CONFLICT,
    services.IllegalTransition: status.HTTP_409_CONFLICT,
    services.PaymentExpired: status.HTTP_409_CONFLICT,
    services.TooManyPendingOrders: status.HTTP_409_CONFLICT,
}


# --- Serializers -------------------------------------------------------------------------------


class OrderErrorOutputSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="A message to show the customer.")
    code = serializers.CharField(
        help_text="empty_cart, invalid_line, out_of_stock, too_many_pending_orders, illegal_transition, "
        "payment_expired, not_found..."
    )

    class Meta:
        ref_name = "OrderError"


class OrderLineOutputSerializer(serializers.Serializer):
    product_id = serializers.CharField(help_text="ObjectId of the product bought.")
    sku = serializers.CharField(help_text="As it was when ordered.")
    name = serializers.CharField(help_text="As it was when ordered.")
    unit_price = serializers.DecimalField(max_digits=10, decimal_places=2, help_text="As it was when ordered.")
    quantity = serializers.IntegerField()
    line_total = serializers.DecimalField(max_digits=12, decimal_places=2)

    class Meta:
        ref_name = "OrderLine"


class ShippingAddressOutputSerializer(serializers.Serializer):
    full_name = serializers.CharField()
    line1 = serializers.CharField()
    line2 = serializers.CharField()
    city = serializers.CharField()
    postal_code = serializers.CharField()
    country = serializers.CharField()

    class Meta:
        ref_name = "ShippingAddress"


class OrderEventOutputSerializer(serializers.Serializer):
    """A timeline entry, the same shape as the ``event`` of WebSocket pushes (orders/events.py)."""

    seq = serializers.IntegerField(help_text="1 for the order being placed, then 2, 3...")
    to = serializers.CharField(source="to_status")
    actor = serializers.CharField(source="actor_email", help_text="E-mail of who made the change, or system.")
    at = serializers.DateTimeField()
    reason = serializers.CharField(
        help_text="Why the system made the change, or empty: payment_expired (not paid within the payment window)."
    )

    class Meta:
        ref_name = "OrderEvent"

    def get_fields(self) -> dict[str, serializers.Field]:
        # "from" is a Python keyword, so it cannot be a class attribute.
        fields = super().get_fields()
        came_from = serializers.CharField(source="from_status", help_text="Empty for the first entry.")
        return {"seq": fields.pop("seq"), "from": came_from, **fields}


class BoundedListField(serializers.ListField):
    """A ListField that refuses an over-long list before validating a single item.

    DRF checks ``max_length`` only after validating every item: a 1 MB body of 17,000 order
    lines kept a worker busy for 1.3 s before being refused.
    """

    def to_internal_value(self, data: object) -> list[object]:
        if isinstance(data, list) and self.max_length is not None and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        return super().to_internal_value(data)


class CartLineInputSerializer(serializers.Serializer):
    product_id = serializers.RegexField(r"^[0-9a-fA-F]{24}$", error_messages={"invalid": ERROR_PRODUCT_ID})
    quantity = serializers.IntegerField(
        min_value=1, max_value=services.MAX_QUANTITY,
        error_messages={"invalid": ERROR_QUANTITY, "min_value": ERROR_QUANTITY, "max_value": ERROR_QUANTITY},
    )  # fmt: skip

    class Meta:
        ref_name = "CartLineInput"


class ShippingAddressInputSerializer(serializers.Serializer):
    full_name = serializers.CharField(max_length=150)
    line1 = serializers.CharField(max_length=200)
    line2 = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    city = serializers.CharField(max_length=100)
    postal_code = serializers.CharField(max_length=20)
    country = serializers.RegexField(r"^[A-Za-z]{2}$", error_messages={"invalid": ERROR_COUNTRY})

    class Meta:
        ref_name = "ShippingAddressInput"

    def validate_country(self, value: str) -> str:
        return value.upper()


class OrderOutputSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="ObjectId (24 hex digits).")
    number = serializers.CharField(help_text="What the customer quotes, like T260115-ABC234.")
    status = serializers.ChoiceField(choices=OrderStatus.choices)
    status_label = serializers.CharField(source="get_status_display")
    seq = serializers.IntegerField(help_text="Number of the last timeline entry.")
    email = serializers.EmailField()
    currency = serializers.CharField()
    total = serializers.DecimalField(max_digits=12, decimal_places=2, help_text="A decimal string, like 12.50.")
    lines = OrderLineOutputSerializer(many=True)
    address = ShippingAddressOutputSerializer()
    events = OrderEventOutputSerializer(many=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    pay_by = serializers.DateTimeField(
        source="payment_due", allow_null=True,
        help_text="While pending: when the order is cancelled (its units back on sale) unless paid; "
        "ORDER_PAYMENT_WINDOW_MINUTES after it was placed. Null once it is not pending.",
    )  # fmt: skip

    class Meta:
        ref_name = "Order"


# --- Helpers -----------------------------------------------------------------------------------


class OrderProblem(APIException):
    """A service refusal as JSON ``{"detail", "code"}`` with the status the refusal calls for."""

    def __init__(self, *, detail: str, code: str, status_code: int) -> None:
        self.status_code = status_code
        super().__init__({"detail": detail, "code": code})


def _not_found() -> OrderProblem:
    # One answer for unknown, malformed and other people's ids: no way to probe which exist.
    return OrderProblem(detail=str(ERROR_ORDER_NOT_FOUND), code="not_found", status_code=status.HTTP_404_NOT_FOUND)


@contextmanager
def _order_errors() -> Iterator[None]:
    """Turn the services' refusals into 400/409 answers carrying their message and code."""
    try:
        yield
    except services.OrderError as error:
        answer = next((code for kind, code in ORDER_ERROR_STATUS.items() if isinstance(error, kind)), 409)
        raise OrderProblem(detail=error.message, code=error.code, status_code=answer) from error
    except DjangoValidationError as error:  # the address failed the model's own checks
        raise serializers.ValidationError({"address": serializers.as_serializer_error(error)}) from error


def _order_or_404(request: Request, order_id: str) -> Order:
    order = order_by_id_for_user(user=request.user, order_id=order_id)
    if order is None:
        raise _not_found()
    return order


ID_PARAMETER = OpenApiParameter("id", str, OpenApiParameter.PATH, description="The order's ObjectId (24 hex digits).")
UNAUTHENTICATED = OpenApiResponse(OrderErrorOutputSerializer, description="Not logged in.")
NOT_FOUND = OpenApiResponse(OrderErrorOutputSerializer, description="No such order, or not yours (same answer).")
CONFLICT = OpenApiResponse(OrderErrorOutputSerializer, description="The order cannot make that change now.")
INVALID_STATUS = OpenApiResponse(
    {**VALIDATION_ERROR_SCHEMA, "example": {"status": ['"lost" is not a valid choice.']}},
    description="The body failed validation.",
)
INVALID_CART = OpenApiResponse(
    {"anyOf": [
        {"type": "object", "description": "Rejected fields, nested like the body (lines by index), mapped to messages.",
         "additionalProperties": {}, "example": {"lines": {"0": {"quantity": [str(ERROR_QUANTITY)]}}}},
        {"type": "object", "description": "The cart is empty (empty_cart) or names a product not for sale "
         "(invalid_line).", "properties": {"detail": {"type": "string"}, "code": {"type": "string"}},
         "required": ["detail", "code"]},
    ]},
    description="The body failed validation, or the cart cannot become an order.",
)  # fmt: skip


# --- Actions -----------------------------------------------------------------------------------


class OrderListApi(APIView):
    permission_classes = [IsAuthenticated]

    class OutputSerializer(serializers.Serializer):
        count = serializers.IntegerField(help_text="Orders matching the filters, on every page.")
        page = serializers.IntegerField()
        pages = serializers.IntegerField(help_text="At least 1, even when nothing matches.")
        page_size = serializers.IntegerField()
        next = serializers.URLField(allow_null=True, help_text="Absolute URL of the next page, same filters.")
        previous = serializers.URLField(allow_null=True, help_text="Absolute URL of the previous page.")
        results = OrderOutputSerializer(many=True)

        class Meta:
            ref_name = "OrderPage"

    @extend_schema(
        operation_id="orders_list", tags=TAGS, summary="List orders",
        description="The caller's own orders, newest first; staff see every customer's. "
        'A malformed parameter answers 400 with `{"errors": {"<parameter>": "<message>"}}`.',
        parameters=[
            OpenApiParameter("status", str, enum=OrderStatus.values, description="Only orders in this status."),
            OpenApiParameter("email", str, description="Staff only: the customer's e-mail, exactly."),
            OpenApiParameter("page", int, default=1, description=f"Page number, 1 to {MAX_PAGE}."),
            OpenApiParameter("page_size", int, default=PAGE_SIZE, description=f"1 to {MAX_PAGE_SIZE}."),
        ],
        responses={
            200: OutputSerializer,
            400: OpenApiResponse(QueryErrorOutputSerializer, description="Malformed query parameters."),
            401: UNAUTHENTICATED,
        },
    )  # fmt: skip
    def get(self, request: Request) -> Response:
        params = request.query_params
        errors: dict[str, str] = {}
        page = whole_number(params.get("page"), default=1, high=MAX_PAGE)
        if page is None:
            errors["page"] = str(ERROR_PAGE)
        page_size = whole_number(params.get("page_size"), default=PAGE_SIZE, high=MAX_PAGE_SIZE)
        if page_size is None:
            errors["page_size"] = str(ERROR_PAGE_SIZE)
        status_filter = params.get("status", "").strip() or None
        if status_filter is not None and status_filter not in OrderStatus.values:
            errors["status"] = str(ERROR_STATUS_FILTER)
        email = params.get("email", "").strip().lower() or None
        if email is not None and len(email) > MAX_EMAIL_LENGTH:
            errors["email"] = str(ERROR_EMAIL_FILTER)
        if errors or page is None or page_size is None:
            return Response({"errors": errors}, status=status.HTTP_400_BAD_REQUEST)

        orders = selectors.orders_list(user=request.user, status=status_filter, email=email)
        count = orders.count()
        pages = max(1, math.ceil(count / page_size))
        start = (page - 1) * page_size
        rows = list(orders[start : start + page_size]) if start < count else []
        answer = {
            "count": count, "page": page, "pages": pages, "page_size": page_size,
            **page_links(request, page=page, pages=pages),
            "results": rows,
        }  # fmt: skip
        return Response(self.OutputSerializer(answer).data)


class OrderCreateApi(APIView):
    permission_classes = [IsAuthenticated]
    OutputSerializer = OrderOutputSerializer

    class InputSerializer(serializers.Serializer):
        lines = BoundedListField(
            child=CartLineInputSerializer(), max_length=services.MAX_LINES,
            error_messages={"max_length": ERROR_TOO_MANY_LINES},
            help_text="The cart; an empty cart answers 400 with code empty_cart.",
        )  # fmt: skip
        address = ShippingAddressInputSerializer()

        class Meta:
            ref_name = "OrderCreateInput"

    @extend_schema(
        operation_id="orders_create", tags=TAGS, summary="Place an order",
        description="Takes the stock of every line or none. Service refusals answer "
        '`{"detail", "code"}`: 400 `empty_cart` / `invalid_line` (e.g. a product no longer on sale), '
        "409 `out_of_stock`, 409 `too_many_pending_orders` (MAX_PENDING_ORDERS_PER_USER unpaid orders already).",
        request=InputSerializer,
        responses={201: OutputSerializer, 400: INVALID_CART, 401: UNAUTHENTICATED, 409: CONFLICT},
    )  # fmt: skip
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        cart = [services.CartLine(product_id=line["product_id"], quantity=line["quantity"]) for line in values["lines"]]
        address = ShippingAddress(**values["address"])
        with _order_errors():
            order = services.order_place(user=request.user, lines=cart, address=address)
        headers = {"Location": reverse("orders-api:order-detail", kwargs={"id": str(order.pk)})}
        return Response(self.OutputSerializer(order).data, status=status.HTTP_201_CREATED, headers=headers)


class OrderDetailApi(APIView):
    permission_classes = [IsAuthenticated]
    OutputSerializer = OrderOutputSerializer

    @extend_schema(
        operation_id="orders_retrieve", tags=TAGS, summary="Get an order",
        description="The caller's order (staff: any order), with its lines, address and timeline.",
        parameters=[ID_PARAMETER],
        responses={200: OutputSerializer, 401: UNAUTHENTICATED, 404: NOT_FOUND},
    )  # fmt: skip
    def get(self, request: Request, id: str) -> Response:
        return Response(self.OutputSerializer(_order_or_404(request, id)).data)


class OrderCancelApi(APIView):
    permission_classes = [IsAuthenticated]
    OutputSerializer = OrderOutputSerializer

    @extend_schema(
        operation_id="orders_cancel", tags=TAGS, summary="Cancel an order",
        description="The customer or staff cancel a pending or paid order; its units go back on sale.",
        parameters=[ID_PARAMETER], request=None,
        responses={200: OutputSerializer, 401: UNAUTHENTICATED, 404: NOT_FOUND, 409: CONFLICT},
    )  # fmt: skip
    def post(self, request: Request, id: str) -> Response:
        order = _order_or_404(request, id)
        with _order_errors():
            order = services.order_cancel(order=order, actor=request.user)
        return Response(self.OutputSerializer(order).data)


class OrderPayApi(APIView):
    permission_classes = [IsAuthenticated]
    OutputSerializer = OrderOutputSerializer

    @extend_schema(
        operation_id="orders_pay", tags=TAGS, summary="Pay for an order",
        description="Pending -> paid. The step a payment gateway's confirmation would replace; "
        "only the customer who placed the order may call it. After the order's `pay_by` it answers 409 "
        "`payment_expired` and the order is cancelled (its units go back on sale).",
        parameters=[ID_PARAMETER], request=None,
        responses={
            200: OutputSerializer, 401: UNAUTHENTICATED,
            403: OpenApiResponse(OrderErrorOutputSerializer, description="Staff looking at someone else's order."),
            404: NOT_FOUND, 409: CONFLICT,
        },
    )  # fmt: skip
    def post(self, request: Request, id: str) -> Response:
        order = _order_or_404(request, id)
        if order.user_id != request.user.pk:
            raise OrderProblem(detail=str(ERROR_PAY_NOT_OWNER), code="not_owner", status_code=status.HTTP_403_FORBIDDEN)
        with _order_errors():
            order = services.order_pay(order=order, actor=request.user)
        return Response(self.OutputSerializer(order).data)


class OrderStatusChangeApi(APIView):
    permission_classes = [IsAdminUser]
    OutputSerializer = OrderOutputSerializer

    class InputSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=OrderStatus.choices)

        class Meta:
            ref_name = "OrderStatusChangeInput"

    @extend_schema(
        operation_id="orders_status_change", tags=TAGS, summary="Change an order's status (staff)",
        description="pending -> paid -> shipped -> delivered, and pending | paid -> cancelled. "
        "Any other move answers 409 with code illegal_transition.",
        parameters=[ID_PARAMETER], request=InputSerializer,
        responses={
            200: OutputSerializer, 400: INVALID_STATUS, 401: UNAUTHENTICATED,
            403: OpenApiResponse(OrderErrorOutputSerializer, description="Logged in, but not staff."),
            404: NOT_FOUND, 409: CONFLICT,
        },
    )  # fmt: skip
    def post(self, request: Request, id: str) -> Response:
        order = _order_or_404(request, id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with _order_errors():
            order = services.order_status_change(order=order, to=data.validated_data["status"], actor=request.user)
        return Response(self.OutputSerializer(order).data)


# --- One URL, several actions -----------------------------------------------------------------


class OrderCollectionApi(MethodRouterApi):
    """/api/orders/"""

    permission_classes = [IsAuthenticated]
    routes = {"get": OrderListApi, "post": OrderCreateApi}
