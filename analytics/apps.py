from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalyticsConfig(AppConfig):
    name = "analytics"
    verbose_name = _("Shop analytics")

    def ready(self) -> None:
        # Orders announce their events; analytics listens, so orders never imports analytics.
        from analytics.services import order_event_stored_receiver
        from orders.events import order_event_stored

        order_event_stored.connect(order_event_stored_receiver, dispatch_uid="analytics.count-order-events")
