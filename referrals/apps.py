from django.apps import AppConfig


class ReferralsConfig(AppConfig):
    name = "referrals"

    def ready(self) -> None:
        from clients.services import register_merge_handler

        from . import merging
        from .models import Referral, ReferralCode, ReferrerTally
        from .services import subscribe_to_booking_events

        subscribe_to_booking_events()
        register_merge_handler(ReferralCode, merging.merge_codes)
        register_merge_handler(ReferrerTally, merging.merge_tallies)
        register_merge_handler(Referral, merging.merge_referrals)
