from django.apps import AppConfig


class ReferralsConfig(AppConfig):
    name = "referrals"

    def ready(self) -> None:
        from clients.services import register_merge_handler

        from . import merging
        from .daily_stats import subscribe_daily_stats
        from .models import Referral, ReferralCode, ReferrerTally
        from .services import subscribe_to_booking_events

        # Before the engine's: the daily figures read a cancelled booking's referral as it stood.
        subscribe_daily_stats()
        subscribe_to_booking_events()
        register_merge_handler(ReferralCode, merging.merge_codes)
        register_merge_handler(ReferrerTally, merging.merge_tallies)
        register_merge_handler(Referral, merging.merge_referrals)
