"""The orders app's jobs on the queue (common/jobs.py): thin calls to services, ids in, reports out."""

from __future__ import annotations

import logging

from common.jobs import job_stop_retrying
from common.mail import MailRejected
from orders import notifications, services, stock

logger = logging.getLogger(__name__)


def order_event_mail(order_id: str, seq: int) -> str:
    """E-mail the customer about event ``seq`` of the order, at most once (orders/notifications.py)."""
    try:
        outcome = notifications.order_event_mail_send(order_id=order_id, seq=seq)
    except MailRejected:
        job_stop_retrying()  # the address is refused for good: to the failed registry, no retries
        raise
    logger.info("order e-mail %s: %s", notifications.mail_job_id(order_id, seq), outcome)
    return outcome


def orders_expire() -> str:
    """Cancel pending orders not paid in time (orders.services.orders_expire_overdue)."""
    return str(services.orders_expire_overdue())


def stock_settle() -> str:
    """Finish stock movements a failure left half done (orders.stock.stock_settle)."""
    return str(stock.stock_settle())


def order_mails_reconcile() -> str:
    """Queue order e-mails that were never queued or whose worker died, and push those orders again
    (orders/notifications.py)."""
    return str(notifications.order_mails_reconcile())
