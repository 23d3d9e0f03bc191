from django.apps import AppConfig


class BookingsConfig(AppConfig):
    name = "bookings"

    def ready(self) -> None:
        from clients.services import register_merged_handler

        from .services import client_history_recompute

        register_merged_handler(client_history_recompute)
