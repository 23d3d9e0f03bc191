import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("bookings", "0004_payment_void"),
    ]

    operations = [
        migrations.CreateModel(
            name="StripeEvent",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("event_id", models.CharField(max_length=255, unique=True)),
                ("kind", models.CharField(max_length=100)),
                ("object_id", models.CharField(blank=True, max_length=255)),
                (
                    "outcome",
                    models.CharField(blank=True, help_text="What handling it did, for whoever debugs.", max_length=200),
                ),
                ("received_at", models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                "ordering": ["-received_at", "-id"],
            },
        ),
    ]
