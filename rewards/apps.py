from django.apps import AppConfig


class RewardsConfig(AppConfig):
    name = "rewards"

    def ready(self) -> None:
        from businesses.events import subscribe

        from .ledger import on_payment_recorded

        subscribe("payment.recorded", on_payment_recorded)
