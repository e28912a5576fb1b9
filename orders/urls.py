"""Server-rendered cart, checkout and order pages under /orders/ (the staff dashboard: orders/staff_urls.py)."""

from __future__ import annotations

from django.urls import path

from orders import views

app_name = "orders"

urlpatterns = [
    path("", views.order_list, name="list"),
    path("cart/", views.cart_detail, name="cart"),
    path("cart/add/", views.cart_add, name="cart-add"),
    path("cart/update/", views.cart_update, name="cart-update"),
    path("cart/remove/", views.cart_remove, name="cart-remove"),
    path("checkout/", views.checkout, name="checkout"),
    # After the fixed paths: an order number never looks like "cart" or "checkout".
    path("<str:number>/", views.order_detail, name="detail"),
    path("<str:number>/pay/", views.order_pay, name="pay"),
    path("<str:number>/cancel/", views.order_cancel, name="cancel"),
]
