from __future__ import annotations

from django import forms

from .models import WebhookEndpoint, WebhookEvent
from .webhooks import EndpointData


class WebhookEndpointForm(forms.Form):
    url = forms.CharField(
        label="Endpoint URL",
        max_length=500,
        help_text="An https:// address of your own system that accepts POST requests, e.g. https://example.com/hooks.",
        widget=forms.URLInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    description = forms.CharField(max_length=200, required=False, help_text="For you, e.g. “CRM sync”.")
    events = forms.MultipleChoiceField(
        label="Events to send",
        choices=[(value, f"{value} — {label}") for value, label in WebhookEvent.choices],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one event.", "invalid_choice": "Choose among the listed events."},
    )

    def __init__(self, *args, endpoint: WebhookEndpoint | None = None, **kwargs):
        if endpoint is not None and "initial" not in kwargs:
            kwargs["initial"] = {"url": endpoint.url, "description": endpoint.description, "events": endpoint.events}
        super().__init__(*args, **kwargs)

    def endpoint_data(self) -> EndpointData:
        data = self.cleaned_data
        return EndpointData(url=data["url"], events=list(data["events"]), description=data["description"])
