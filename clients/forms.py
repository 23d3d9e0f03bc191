from __future__ import annotations

from django import forms

from .imports import MAX_UPLOAD_BYTES
from .models import Client, ClientTag, Source, Tag
from .params import parse_id
from .services import ClientData


def _client_in(business, value, *, exclude_pk: int | None = None, message: str) -> Client | None:
    if value in (None, ""):
        return None
    pk = parse_id(value)
    if pk is None:
        raise forms.ValidationError(message)
    client = Client.objects.filter(business=business, pk=pk, erased_at__isnull=True).first()
    if client is None or client.pk == exclude_pk:
        raise forms.ValidationError(message)
    return client


class ClientForm(forms.Form):
    """The client record as staff type it; the service decides what is valid beyond the field formats."""

    first_name = forms.CharField(max_length=100)
    last_name = forms.CharField(max_length=100, required=False)
    email = forms.EmailField(
        label="E-mail",
        max_length=254,
        required=False,
        error_messages={"invalid": "Enter a valid e-mail address, e.g. name@example.com."},
    )
    phone = forms.CharField(
        max_length=30,
        required=False,
        help_text="A national number is read as one from your business's country; add +country code otherwise.",
    )
    source = forms.ChoiceField(choices=Source.choices, initial=Source.OTHER, help_text="How they found you.")
    source_detail = forms.CharField(
        label="How they heard about you", max_length=200, required=False, help_text="In their words, if they said."
    )
    referred_by = forms.CharField(required=False, widget=forms.HiddenInput)
    tags = forms.CharField(
        max_length=500, required=False, help_text="Separate tags with commas, e.g. “VIP, morning slots”."
    )
    notes = forms.CharField(
        label="Private notes",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Only your team sees these.",
    )
    email_consent = forms.BooleanField(label="Agrees to marketing e-mail", required=False)
    sms_consent = forms.BooleanField(label="Agrees to marketing SMS", required=False)

    def __init__(self, *args, business, client: Client | None = None, **kwargs):
        self.business = business
        self.client = client
        if client is not None and "initial" not in kwargs:
            kwargs["initial"] = self.initial_for(client)
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.fields["tags"].widget.attrs["list"] = "tag-suggestions"
        self.fields["tags"].widget.attrs["autocomplete"] = "off"
        self.fields["phone"].widget.attrs.update(type="tel", autocomplete="off")

    def initial_for(self, client: Client) -> dict:
        tags = ClientTag.objects.filter(business=self.business, client=client).values_list("tag__name", flat=True)
        return {
            "first_name": client.first_name,
            "last_name": client.last_name,
            "email": client.email,
            "phone": client.phone,
            "source": client.source,
            "source_detail": client.source_detail,
            "referred_by": client.referred_by_id or "",
            "tags": ", ".join(sorted(tags, key=str.lower)),
            "notes": client.notes,
            "email_consent": client.email_consent,
            "sms_consent": client.sms_consent,
        }

    def clean_referred_by(self) -> Client | None:
        return _client_in(
            self.business,
            self.cleaned_data.get("referred_by"),
            exclude_pk=self.client.pk if self.client else None,
            message="Choose the referrer from the search results (a client cannot refer themselves).",
        )

    def referrer_choice(self) -> Client | None:
        """The referrer to show in the picker: the cleaned one, or the one the form started with."""
        if self.is_bound:
            value = self.cleaned_data.get("referred_by") if hasattr(self, "cleaned_data") else None
            if isinstance(value, Client):
                return value
            raw = self.data.get("referred_by")
        else:
            raw = self.initial.get("referred_by")
        pk = parse_id(raw)
        return Client.objects.filter(business=self.business, pk=pk).first() if pk else None

    def tag_suggestions(self) -> list[str]:
        return list(Tag.objects.filter(business=self.business).order_by("name").values_list("name", flat=True)[:200])

    def client_data(self) -> ClientData:
        data = self.cleaned_data
        return ClientData(
            first_name=data["first_name"],
            last_name=data["last_name"],
            email=data["email"],
            phone=data["phone"],
            source=data["source"],
            source_detail=data["source_detail"],
            notes=data["notes"],
            email_consent=data["email_consent"],
            sms_consent=data["sms_consent"],
            tags=[tag.strip() for tag in data["tags"].split(",") if tag.strip()],
        )


class ImportForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="UTF-8 CSV, up to 10 MB, with a header row. Excel: File → Save As → “CSV UTF-8”.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError("The file is larger than 10 MB. Split it into smaller files.")
        return upload
