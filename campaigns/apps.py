from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "campaigns"

    def ready(self) -> None:
        from businesses.events import subscribe
        from clients.privacy import register_erasure_delete

        from .autopilots import subscribe_autopilots
        from .models import OutboxMessage, Suppression
        from .promotions import on_booking_cancelled
        from .webhooks import subscribe_webhooks

        subscribe_autopilots()
        subscribe("booking.cancelled", on_booking_cancelled)
        subscribe_webhooks()
        # Messages are a copy of what was said to the person: they go with an erased client.
        register_erasure_delete(OutboxMessage)
        register_erasure_delete(Suppression)
