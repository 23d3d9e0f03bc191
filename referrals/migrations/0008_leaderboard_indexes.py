# The leaderboard's two reads of confirmed, non-test referrals, each from an index alone: a period's successes per
# referrer (by created_at), and the referees of the top referrers (by referrer) for their revenue.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("referrals", "0007_daily_stats"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="referral",
            index=models.Index(
                condition=models.Q(("is_test", False), ("status", "confirmed")),
                fields=["business", "created_at", "referrer"],
                name="referral_confirmed_created",
            ),
        ),
        migrations.AddIndex(
            model_name="referral",
            index=models.Index(
                condition=models.Q(("is_test", False), ("status", "confirmed")),
                fields=["business", "referrer", "created_at"],
                include=("referee",),
                name="referral_confirmed_referrer",
            ),
        ),
    ]
