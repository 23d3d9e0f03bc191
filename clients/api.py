"""REST API for clients: list (search and filters), retrieve, create, update; with their referral code and link."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.response import Response

from referrals.codes import code_for_client, link_for
from referrals.models import ReferralCode
from referrals.services import client_save_with_referrer
from referrals_saas.api.base import BusinessViewSet, id_field, owned, query_choice, query_id, query_text

from .models import Client, Source
from .selectors import client_matches
from .services import ClientData


def referral_codes(business, clients: list[Client]) -> dict[int, str]:
    """Current codes of these clients in one query; a client without one yet gets it made (once, ever)."""
    codes = dict(
        ReferralCode.objects.filter(business=business, client__in=clients, is_current=True).values_list(
            "client_id", "code"
        )
    )
    for client in clients:
        if client.pk not in codes:
            codes[client.pk] = code_for_client(business=business, client=client).code
    return codes


class ClientSerializer(serializers.ModelSerializer):
    tags = serializers.SerializerMethodField()
    referral_code = serializers.SerializerMethodField()
    referral_url = serializers.SerializerMethodField()
    referred_by = serializers.IntegerField(source="referred_by_id", allow_null=True, read_only=True)
    email = serializers.CharField(read_only=True, help_text="As the client typed it; may be empty.")

    class Meta:
        model = Client
        fields = [
            "id",
            "first_name",
            "last_name",
            "email",
            "phone",
            "source",
            "source_detail",
            "notes",
            "email_consent",
            "sms_consent",
            "tags",
            "referred_by",
            "referral_code",
            "referral_url",
            "completed_visits",
            "lifetime_spend",
            "referred_clients_count",
            "created_at",
        ]
        read_only_fields = fields

    def get_tags(self, client) -> list[str]:
        return [tag.name for tag in client.tags.all()]

    def get_referral_code(self, client) -> str:
        return self.context["codes"][client.pk]

    def get_referral_url(self, client) -> str:
        return link_for(self.context["codes"][client.pk])


def _text(max_length: int, **kwargs):
    return serializers.CharField(max_length=max_length, allow_blank=True, trim_whitespace=True, **kwargs)


class ClientInputSerializer(serializers.Serializer):
    first_name = serializers.CharField(max_length=100)
    last_name = _text(100, required=False)
    email = _text(254, required=False)
    phone = _text(40, required=False)
    source = serializers.ChoiceField(choices=Source.choices, required=False)
    source_detail = _text(200, required=False)
    notes = _text(10_000, required=False)
    email_consent = serializers.BooleanField(required=False)
    sms_consent = serializers.BooleanField(required=False)
    tags = serializers.ListField(child=serializers.CharField(max_length=50), max_length=50, required=False)
    referred_by = id_field(
        required=False,
        allow_null=True,
        help_text="The referring client's id. On a new client this records the referral, so their first booking "
        "gets the referral discount.",
    )


def client_data(values: dict, current: Client | None = None) -> ClientData:
    """ClientData from the input, keeping a current client's values for what a PATCH leaves out."""
    fields = ("first_name", "last_name", "email", "phone", "source", "source_detail", "notes")
    base = {name: getattr(current, name) for name in fields} if current else {}
    if current is not None:
        base.update(
            email_consent=current.email_consent,
            sms_consent=current.sms_consent,
            tags=[tag.name for tag in current.tags.all()],
        )
    base.update({k: v for k, v in values.items() if k != "referred_by"})
    return ClientData(**base)


CLIENT_FILTERS = [
    OpenApiParameter("q", OpenApiTypes.STR, description="Search: every word in a name or the e-mail, or a phone."),
    OpenApiParameter("source", OpenApiTypes.STR, enum=Source.values),
    OpenApiParameter("referred_by", OpenApiTypes.INT, description="Clients referred by this client id."),
]


@extend_schema_view(
    list=extend_schema(summary="List clients", parameters=CLIENT_FILTERS),
    retrieve=extend_schema(summary="A client"),
    create=extend_schema(summary="Create a client", request=ClientInputSerializer, responses=ClientSerializer),
    update=extend_schema(summary="Replace a client", request=ClientInputSerializer, responses=ClientSerializer),
    partial_update=extend_schema(summary="Change a client", request=ClientInputSerializer, responses=ClientSerializer),
)
class ClientViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    BusinessViewSet,
):
    serializer_class = ClientSerializer

    def get_queryset(self):
        business = self.request.business
        q = query_text(self.request, "q")
        clients = client_matches(business=business, q=q) if q else Client.objects.filter(business=business)
        clients = clients.filter(erased_at__isnull=True, is_test=False)
        if self.action == "list":
            source = query_choice(self.request, "source", Source.values)
            if source:
                clients = clients.filter(source=source)
            referrer = query_id(self.request, "referred_by")
            if referrer:
                clients = clients.filter(referred_by_id=referrer)
        return clients.prefetch_related("tags")

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "codes": getattr(self, "_codes", {})}

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        self._codes = referral_codes(self.request.business, page)
        return page

    def _answer(self, client: Client, code=status.HTTP_200_OK) -> Response:
        client = Client.objects.prefetch_related("tags").get(business=self.request.business, pk=client.pk)
        self._codes = referral_codes(self.request.business, [client])
        return Response(self.get_serializer(client).data, status=code)

    def retrieve(self, request, *args, **kwargs):
        return self._answer(self.get_object())

    def create(self, request):
        data = ClientInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        referrer_id = values.get("referred_by")
        referrer = owned(Client, request.business, referrer_id, "client") if referrer_id else None
        client = client_save_with_referrer(business=request.business, data=client_data(values), referrer=referrer)
        return self._answer(client, status.HTTP_201_CREATED)

    def update(self, request, *args, partial: bool = False, **kwargs):
        client = self.get_object()
        data = ClientInputSerializer(data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        referrer = client.referred_by
        if "referred_by" in values:
            referrer_id = values["referred_by"]
            referrer = owned(Client, request.business, referrer_id, "client") if referrer_id else None
        client = client_save_with_referrer(
            business=request.business, data=client_data(values, client), referrer=referrer, client=client
        )
        return self._answer(client)

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)
