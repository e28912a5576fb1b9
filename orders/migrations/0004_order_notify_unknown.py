# Order e-mails whose delivery is unknown (orders/notifications.py): staff find them in the admin.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("orders", "0003_order_notify_pending"),
    ]

    operations = [
        migrations.AddField(
            model_name="order",
            name="notify_unknown",
            field=models.BooleanField(default=False, editable=False, verbose_name="e-mail delivery unknown"),
        ),
    ]
