"""E-mail backends for delivery tests: one whose provider is down."""

from __future__ import annotations

from django.core.mail.backends.base import BaseEmailBackend


class ProviderDown(ConnectionRefusedError):
    pass


class FailingBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise ProviderDown("Connection refused by smtp.example.com:587")


class RefusingBackend(BaseEmailBackend):
    """A provider that raises what `refusal` is set to (a class attribute the test sets)."""

    refusal: Exception = ConnectionRefusedError("not set")

    def send_messages(self, email_messages):
        raise type(self).refusal
