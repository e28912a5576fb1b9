# Payment deadlines: pending orders are cancelled, and their units put back on sale, once unpaid
# past Order.pay_by (orders/services.py, orders_expire_overdue).

from datetime import timedelta

from django.conf import settings
from django.db import migrations, models


def set_deadlines_of_pending_orders(apps, schema_editor):
    """Orders already pending get the deadline they would have had: the next expiry round cancels the overdue."""
    Order = apps.get_model("orders", "Order")
    window = timedelta(minutes=settings.ORDER_PAYMENT_WINDOW_MINUTES)
    for pk, created_at in Order.objects.filter(status="pending", pay_by=None).values_list("pk", "created_at"):
        Order.objects.filter(pk=pk, pay_by=None).update(pay_by=created_at + window)


class Migration(migrations.Migration):

    dependencies = [
        ("orders", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="orderevent",
            name="reason",
            field=models.CharField(
                blank=True,
                choices=[("payment_expired", "payment not received in time")],
                default="",
                max_length=40,
                verbose_name="reason",
            ),
        ),
        migrations.AddField(
            model_name="order",
            name="pay_by",
            field=models.DateTimeField(blank=True, null=True, verbose_name="pay by"),
        ),
        migrations.AddIndex(
            model_name="order",
            index=models.Index(fields=["status", "pay_by"], name="order_status_pay_by"),
        ),
        migrations.RunPython(set_deadlines_of_pending_orders, migrations.RunPython.noop),
    ]
