from __future__ import annotations

from datetime import datetime

from django import forms
from django.utils import timezone

from businesses.models import Business, Service
from clients.models import Client, Source
from clients.params import checked_day
from clients.selectors import client_search
from clients.services import ClientData

from .models import BookingStatus, PaymentMethod
from .selectors import CLIENT_SUGGESTIONS, BookingFilters, bookable_services


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%H:%M")


class BookingFilterForm(forms.Form):
    """The bookings list's filters; anything unreadable is ignored rather than refused."""

    status = forms.ChoiceField(choices=[("", "Any status"), *BookingStatus.choices], required=False)
    service = forms.ModelChoiceField(queryset=Service.objects.none(), required=False, empty_label="Any service")
    date_from = forms.DateField(label="From", required=False, widget=DateInput())
    date_to = forms.DateField(label="To", required=False, widget=DateInput())
    q = forms.CharField(
        label="Client",
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Name, e-mail or phone", "autocomplete": "off"}),
    )
    new_clients_only = forms.BooleanField(label="New clients only", required=False)

    def __init__(self, *args, business: Business, **kwargs):
        super().__init__(*args, **kwargs)
        # Archived services too: their bookings are still in the list.
        self.fields["service"].queryset = Service.objects.filter(business=business).order_by("-is_active", "name")

    def clean_date_from(self):
        return checked_day(self.cleaned_data.get("date_from"))

    def clean_date_to(self):
        return checked_day(self.cleaned_data.get("date_to"))

    def filters(self) -> BookingFilters:
        # cleaned_data keeps the fields that did parse, so one bad date does not drop the other filters.
        self.is_valid()
        data = self.cleaned_data
        service = data.get("service")
        return BookingFilters(
            status=data.get("status") or "",
            service_id=service.pk if service else None,
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            query=data.get("q") or "",
            new_clients_only=bool(data.get("new_clients_only")),
        )


class BookingForm(forms.Form):
    """The staff's booking form: an existing client or a new one, a service, a date and time."""

    EXISTING, NEW = "existing", "new"

    client_mode = forms.ChoiceField(
        label="Client",
        choices=[(EXISTING, "An existing client"), (NEW, "A new client")],
        initial=EXISTING,
        widget=forms.RadioSelect,
    )
    client_query = forms.CharField(
        label="Find the client",
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off", "placeholder": "Name, e-mail or phone"}),
    )
    client = forms.IntegerField(required=False, widget=forms.HiddenInput)
    first_name = forms.CharField(required=False, max_length=100)
    last_name = forms.CharField(required=False, max_length=100)
    email = forms.EmailField(label="E-mail", required=False)
    phone = forms.CharField(required=False, max_length=40, widget=forms.TextInput(attrs={"type": "tel"}))
    service = forms.ModelChoiceField(queryset=Service.objects.none(), empty_label="Choose a service")
    date = forms.DateField(widget=DateInput())
    time = forms.TimeField(widget=TimeInput())
    status = forms.ChoiceField(
        label="Status",
        choices=[
            (BookingStatus.CONFIRMED, "Confirmed"),
            (BookingStatus.REQUESTED, "Requested (confirm it later)"),
        ],
        initial=BookingStatus.CONFIRMED,
        widget=forms.RadioSelect,
    )
    notes = forms.CharField(
        label="Notes to the provider",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Only your team sees these.",
    )
    heard_about = forms.CharField(label="How did they hear about us?", required=False, max_length=200)
    referral_code = forms.CharField(
        label="Referral code",
        required=False,
        max_length=32,
        help_text="The code of the friend who sent them, if they have one: the new client's discount applies.",
    )
    coupon_code = forms.CharField(
        label="Coupon code",
        required=False,
        max_length=30,
        help_text="A coupon the client earned, e.g. THX-ABCD-EFGH. It can be used once.",
    )
    promotion_code = forms.CharField(
        label="Promotion code",
        required=False,
        max_length=30,
        help_text="A promotion the business runs, e.g. SPRING20: checked for its dates, services and audience.",
    )

    def __init__(self, *args, business: Business, **kwargs):
        super().__init__(*args, **kwargs)
        self.business = business
        self.fields["service"].queryset = bookable_services(business=business)
        self.chosen_client: Client | None = None
        self.suggestions: list[Client] = []

    def clean_date(self):
        return checked_day(self.cleaned_data.get("date"))

    def clean(self):
        data = super().clean()
        if data.get("client_mode") == self.NEW:
            if not (data.get("first_name") or "").strip():
                self.add_error("first_name", "A first name is required for a new client.")
        elif data.get("client_mode") == self.EXISTING:
            client_id = data.get("client")
            if client_id:
                self.chosen_client = Client.objects.filter(
                    business=self.business, pk=client_id, erased_at__isnull=True
                ).first()
            if self.chosen_client is None:
                query = data.get("client_query") or ""
                self.suggestions = client_search(business=self.business, q=query, limit=CLIENT_SUGGESTIONS)
                if self.suggestions:
                    message = "Choose the client from the list below."
                elif query.strip():
                    message = "No client matches. Check the spelling, or choose “A new client”."
                else:
                    message = "Find the client by name, e-mail or phone, or choose “A new client”."
                self.add_error("client_query", message)
        return data

    def starts_at(self) -> datetime:
        """The start in the current time zone: the business's, inside dashboard requests."""
        return timezone.make_aware(datetime.combine(self.cleaned_data["date"], self.cleaned_data["time"]))

    def client_data(self) -> ClientData:
        data = self.cleaned_data
        heard = data.get("heard_about", "").strip()
        return ClientData(
            first_name=data["first_name"],
            last_name=data.get("last_name", ""),
            email=data.get("email", ""),
            phone=data.get("phone", ""),
            source=Source.HEARD_ABOUT if heard else Source.OTHER,
            source_detail=heard,
        )


class PaymentRecordForm(forms.Form):
    method = forms.ChoiceField(
        label="Paid by",
        choices=[(m.value, m.label) for m in (PaymentMethod.CASH, PaymentMethod.CARD, PaymentMethod.OTHER)],
    )
