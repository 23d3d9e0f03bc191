from django.apps import AppConfig


class BusinessesConfig(AppConfig):
    name = "businesses"
    verbose_name = "Businesses and accounts"

    def ready(self) -> None:
        from referrals_saas.scoping import guard_every_read

        guard_every_read()
