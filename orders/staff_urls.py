"""The staff orders dashboard; config/urls.py includes it under /staff/orders/."""

from __future__ import annotations

from django.urls import path

from orders import views

app_name = "orders_staff"

urlpatterns = [
    path("", views.staff_orders, name="dashboard"),
]
