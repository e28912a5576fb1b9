"""Cart, checkout and order pages: thin views over orders.cart and orders.forms (input),
orders.services (writes) and orders.selectors (reads). Every page works without JavaScript;
static/js/live.js adds live status updates over the sockets in orders/consumers.py."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from orders import cart, selectors, services
from orders.forms import (
    SHIPPING_COUNTRIES,
    CartAddForm,
    CartRemoveForm,
    CartUpdateForm,
    OrderFilterForm,
    ShippingAddressForm,
)
from orders.models import EventReason, Order, OrderStatus
from orders.services import MAX_LINES, MAX_QUANTITY, OrderError, OutOfStock, TooManyPendingOrders
from shop.selectors import product_detail_by_id

# User-facing messages, asserted by the tests.
ADDED_TO_CART = _("“%(name)s” is in your cart.")
QUANTITY_CAPPED = _("At most %(max)d of one product fit in an order: your cart now has %(max)d of “%(name)s”.")
CART_FULL = _("Your cart already holds %(max)d different products: place this order first or remove one.")
CART_UPDATED = _("Your cart is updated.")
REMOVED_FROM_CART = _("The product is out of your cart.")
NOT_ON_SALE = _("That product is no longer for sale.")
SOLD_OUT = _("“%(name)s” is sold out.")
CART_EMPTY = _("Your cart is empty: add a product before checking out.")
ORDER_PLACED = _("Thank you! Order %(number)s is placed. Pay for it to have it shipped.")
ORDER_PAID = _("Order %(number)s is paid. Thank you!")
ORDER_CANCELLED = _("Order %(number)s is cancelled.")
# Http404/PermissionDenied messages reach logs and DEBUG pages, not shoppers (they see 404.html/403).
NOT_FOUND_ORDER = "No order with this number that you may see."
NOT_THE_OWNER = "Only the customer who placed an order can pay for it or cancel it."
STAFF_ONLY = "The orders dashboard is for staff."

# WebSocket paths of orders/routing.py, for the pages' data-live-url.
LIVE_ORDER_PATH = "/ws/orders/{order_id}/"
LIVE_ORDERS_PATH = "/ws/orders/"
LIVE_STAFF_ORDERS_PATH = "/ws/staff/orders/"
# Statuses in which the owner sees each button (the services decide; these only hide useless buttons).
PAYABLE = (OrderStatus.PENDING,)
CANCELLABLE = (OrderStatus.PENDING, OrderStatus.PAID)


def _status_labels() -> dict[str, str]:
    """Every status's label in the request's language: live.js names timeline entries with them."""
    return {str(value): str(label) for value, label in OrderStatus.choices}


def _reason_labels() -> dict[str, str]:
    """Why the system made a change, in the request's language (live.js adds it to timeline entries)."""
    return {str(value): str(label) for value, label in EventReason.choices}


def _form_error(form: Any) -> str:
    """The first error of a form whose fields are hidden or tiny (cart forms)."""
    for errors in form.errors.values():
        return str(errors[0])
    return ""


# --- Cart -------------------------------------------------------------------------


def _render_cart(request: HttpRequest, *, error: str = "", status: int = 200) -> HttpResponse:
    context = {"cart": cart.cart_summary(request.session), "error": error, "max_quantity": MAX_QUANTITY}
    return render(request, "orders/cart.html", context, status=status)


@never_cache
@require_safe
def cart_detail(request: HttpRequest) -> HttpResponse:
    """The cart: each product's current name and price, quantity and remove forms, subtotal."""
    return _render_cart(request)


@never_cache
@require_POST
def cart_add(request: HttpRequest) -> HttpResponse:
    """Add a product from its page, then show the cart."""
    form = CartAddForm(request.POST)
    if not form.is_valid():
        return _render_cart(request, error=_form_error(form), status=400)
    product_id, quantity = form.cleaned_data["product_id"], form.cleaned_data["quantity"]
    product = product_detail_by_id(product_id)
    if product is None:
        return _render_cart(request, error=str(NOT_ON_SALE), status=404)
    if product["stock"] <= 0:
        return _render_cart(request, error=SOLD_OUT % {"name": product["name"]}, status=409)
    try:
        in_cart = cart.cart_add(request.session, product_id=product_id, quantity=quantity)
    except cart.CartFull:
        return _render_cart(request, error=CART_FULL % {"max": MAX_LINES}, status=400)
    if in_cart == MAX_QUANTITY:
        messages.warning(request, QUANTITY_CAPPED % {"max": MAX_QUANTITY, "name": product["name"]})
    else:
        messages.success(request, ADDED_TO_CART % {"name": product["name"]})
    return redirect("orders:cart")


@never_cache
@require_POST
def cart_update(request: HttpRequest) -> HttpResponse:
    """Change a line's quantity (0 removes it)."""
    form = CartUpdateForm(request.POST)
    if not form.is_valid():
        return _render_cart(request, error=_form_error(form), status=400)
    cart.cart_set(request.session, product_id=form.cleaned_data["product_id"], quantity=form.cleaned_data["quantity"])
    messages.success(request, CART_UPDATED)
    return redirect("orders:cart")


@never_cache
@require_POST
def cart_remove(request: HttpRequest) -> HttpResponse:
    """Take a line out of the cart."""
    form = CartRemoveForm(request.POST)
    if not form.is_valid():
        return _render_cart(request, error=_form_error(form), status=400)
    if cart.cart_remove(request.session, product_id=form.cleaned_data["product_id"]):
        messages.success(request, REMOVED_FROM_CART)
    return redirect("orders:cart")


# --- Checkout ---------------------------------------------------------------------


@never_cache
@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def checkout(request: HttpRequest) -> HttpResponse:
    """The shipping address; placing the order takes the stock, empties the cart and shows the order."""
    summary = cart.cart_summary(request.session)
    if request.method != "POST":
        if not summary.checkout_lines:
            messages.info(request, CART_EMPTY)
            return redirect("orders:cart")
        form = ShippingAddressForm(initial={"full_name": getattr(request.user, "full_name", "")})
        return render(request, "orders/checkout.html", {"cart": summary, "form": form})

    form = ShippingAddressForm(request.POST)
    error, status = "", 400
    if form.is_valid():
        try:
            order = services.order_place(user=request.user, lines=summary.checkout_lines, address=form.address())
        except OrderError as failure:
            error, status = failure.message, 409 if isinstance(failure, OutOfStock | TooManyPendingOrders) else 400
        except ValidationError as invalid:  # the model's own checks, should the form ever let one through
            form.add_error(None, invalid)
        else:
            cart.cart_clear(request.session)
            messages.success(request, ORDER_PLACED % {"number": order.number})
            return redirect(order.get_absolute_url())
    # The cart as it is now: the stock or a price may have moved since the page was shown.
    context = {"cart": cart.cart_summary(request.session), "form": form, "error": error}
    return render(request, "orders/checkout.html", context, status=status)


# --- Orders -----------------------------------------------------------------------


def _timeline(order: Order) -> list[dict[str, Any]]:
    labels = _status_labels()
    return [
        {
            "seq": event.seq,
            "from": event.from_status,
            "to": event.to_status,
            "from_label": labels.get(event.from_status, event.from_status),
            "to_label": labels.get(event.to_status, event.to_status),
            "actor": event.actor_email,
            "at": event.at,
            "reason_label": event.reason_label,
        }
        for event in sorted(order.events, key=lambda e: e.seq)
    ]


def _render_order(request: HttpRequest, order: Order, *, error: str = "", status: int = 200) -> HttpResponse:
    is_owner = order.user_id == request.user.pk
    context = {
        "order": order,
        "timeline": _timeline(order),
        "country_name": dict(SHIPPING_COUNTRIES).get(order.address.country, order.address.country),
        "is_owner": is_owner,
        "payable_statuses": " ".join(PAYABLE),
        "cancellable_statuses": " ".join(CANCELLABLE),
        "can_pay": is_owner and order.status in PAYABLE,
        "can_cancel": is_owner and order.status in CANCELLABLE,
        "status_labels": _status_labels(),
        "reason_labels": _reason_labels(),
        "live_url": LIVE_ORDER_PATH.format(order_id=order.pk),
        "error": error,
    }
    return render(request, "orders/detail.html", context, status=status)


def _visible_order(request: HttpRequest, number: str) -> Order:
    order = selectors.order_for_user(user=request.user, number=number)
    if order is None:  # unknown and other people's orders look the same
        raise Http404(NOT_FOUND_ORDER)
    return order


@never_cache
@login_required
@require_safe
def order_list(request: HttpRequest) -> HttpResponse:
    """The shopper's own orders, newest first."""
    context = {
        "orders": selectors.orders_of_user(user=request.user),
        "status_labels": _status_labels(),
        "live_url": LIVE_ORDERS_PATH,
    }
    return render(request, "orders/list.html", context)


@never_cache
@login_required
@require_safe
def order_detail(request: HttpRequest, number: str) -> HttpResponse:
    """One order: lines, total, address, timeline, and the owner's pay and cancel buttons."""
    return _render_order(request, _visible_order(request, number))


def _order_action(request: HttpRequest, number: str, action: Callable[..., Order], done_message: Any) -> HttpResponse:
    order = _visible_order(request, number)
    if order.user_id != request.user.pk:
        raise PermissionDenied(NOT_THE_OWNER)
    try:
        order = action(order=order, actor=request.user)
    except OrderError as refused:  # e.g. a second click on "Pay now": 409 with the reason, never a 500
        current = selectors.order_for_user(user=request.user, number=number) or order  # show what won
        return _render_order(request, current, error=refused.message, status=409)
    messages.success(request, done_message % {"number": order.number})
    return redirect(order.get_absolute_url())


@never_cache
@login_required
@require_POST
def order_pay(request: HttpRequest, number: str) -> HttpResponse:
    """The owner pays a pending order (the step a payment gateway would replace)."""
    return _order_action(request, number, services.order_pay, ORDER_PAID)


@never_cache
@login_required
@require_POST
def order_cancel(request: HttpRequest, number: str) -> HttpResponse:
    """The owner cancels a pending or paid order; its units go back on sale."""
    return _order_action(request, number, services.order_cancel, ORDER_CANCELLED)


# --- Staff ------------------------------------------------------------------------


@never_cache
@login_required
@require_safe
def staff_orders(request: HttpRequest) -> HttpResponse:
    """The most recent orders of every customer, optionally of one status (staff only)."""
    if not request.user.is_staff:
        raise PermissionDenied(STAFF_ONLY)
    form = OrderFilterForm(request.GET)
    valid = form.is_valid()
    status = form.cleaned_data["status"] if valid else ""
    context = {
        "form": form,
        "status": status,
        "orders": selectors.orders_recent(status=status or None),
        "limit": selectors.RECENT_ORDERS,
        "status_labels": _status_labels(),
        "live_url": LIVE_STAFF_ORDERS_PATH,
    }
    return render(request, "orders/staff_dashboard.html", context, status=200 if valid else 400)
