"""Orders over HTTP (/api/orders/): one class per action, reading through orders.selectors
and writing through orders.services (the same functions the admin and the pages call)."""

from __future__ import annotations

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

from common.api.errors import MALFORMED_QUERY, MalformedQuery, invalid_body
from common.api.pagination import PagePagination, page_output_serializer, page_parameters
from common.api.queries import MAX_PAGE, MAX_PAGE_SIZE
from orders import selectors, services
from orders.models import Order, OrderStatus, ShippingAddress
from orders.selectors import order_by_id_for_user
from orders.serializers import (
    ERROR_QUANTITY,
    BoundedListField,
    CartLineInputSerializer,
    OrderErrorOutputSerializer,
    OrderOutputSerializer,
    ShippingAddressInputSerializer,
)

ERROR_ORDER_NOT_FOUND = _("You have no order with that id.")
ERROR_PAY_NOT_OWNER = _("Only the customer who placed an order can pay for it.")
ERROR_TOO_MANY_LINES = _("An order can have at most 50 lines.")
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
INVALID_STATUS = invalid_body(example={"status": ['"lost" is not a valid choice.']})
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
    pagination_class = PagePagination
    OutputSerializer = page_output_serializer(ref_name="OrderPage", rows="Orders", row_serializer=OrderOutputSerializer)

    @extend_schema(
        operation_id="orders_list", tags=TAGS, summary="List orders",
        description="The caller's own orders, newest first; staff see every customer's. "
        'A malformed parameter answers 400 with `{"errors": {"<parameter>": "<message>"}}`.',
        parameters=[
            OpenApiParameter("status", str, enum=OrderStatus.values, description="Only orders in this status."),
            OpenApiParameter("email", str, description="Staff only: the customer's e-mail, exactly."),
            *page_parameters(page=f"Page number, 1 to {MAX_PAGE}.", page_size=f"1 to {MAX_PAGE_SIZE}."),
        ],
        responses={200: OutputSerializer, 400: MALFORMED_QUERY, 401: UNAUTHENTICATED},
    )  # fmt: skip
    def get(self, request: Request) -> Response:
        params = request.query_params
        paginator = self.pagination_class()
        errors = paginator.query_errors(request)  # one 400 names the page's and the filters' errors
        status_filter = params.get("status", "").strip() or None
        if status_filter is not None and status_filter not in OrderStatus.values:
            errors["status"] = str(ERROR_STATUS_FILTER)
        email = params.get("email", "").strip().lower() or None
        if email is not None and len(email) > MAX_EMAIL_LENGTH:
            errors["email"] = str(ERROR_EMAIL_FILTER)
        if errors:
            raise MalformedQuery(errors)

        orders = selectors.orders_list(user=request.user, status=status_filter, email=email)
        rows = paginator.paginate_queryset(orders, request, view=self)
        return paginator.get_paginated_response(OrderOutputSerializer(rows, many=True).data)


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
