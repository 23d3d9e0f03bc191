"""What every API view shares: the key's business on `request.business`, its scope and time zone around the whole
handling, idempotent POSTs, and small readers of ids and query parameters that answer 400 or 404, never 500."""

from __future__ import annotations

from contextlib import ExitStack
from datetime import date
from zoneinfo import ZoneInfo

from django.utils import timezone
from django.utils.dateparse import parse_date
from django_scopes import scope
from rest_framework import exceptions, serializers, viewsets
from rest_framework.views import APIView

from clients.params import DAY_RANGE_ERROR, MAX_ID, day_in_range, parse_id

from .idempotency import run_idempotent


class BusinessAPIMixin:
    """Authenticates the key (DRF), then runs the handler inside `scope(business=...)` and the business's time
    zone; the scope is left only after the response is finished. POST handlers run under the Idempotency-Key."""

    lookup_value_regex = "[^/]+"  # any id reaches the view, which answers a JSON 404 for one that is not an id

    def dispatch(self, request, *args, **kwargs):
        with ExitStack() as stack:
            self._business_stack = stack
            return super().dispatch(request, *args, **kwargs)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        business = request.auth.business
        request.business = business
        request._request.business = business
        self._business_stack.enter_context(scope(business=business))
        self._business_stack.enter_context(timezone.override(ZoneInfo(business.time_zone)))
        handler = getattr(self, "post", None)
        if request.method == "POST" and handler is not None:
            self.post = lambda req, *a, **kw: run_idempotent(req, handler, *a, **kw)


class BusinessAPIView(BusinessAPIMixin, APIView):
    pass


class BusinessViewSet(BusinessAPIMixin, viewsets.GenericViewSet):
    """A resource of the key's business. `get_queryset` filters by `request.business` explicitly (the scope is the
    second wall); `get_object` reads the id with parse_id, so "abc", "-1" or a 30-digit id is a 404."""

    def get_object(self):
        pk = parse_id(self.kwargs.get(self.lookup_url_kwarg or self.lookup_field))
        if pk is None:
            raise exceptions.NotFound()
        obj = self.get_queryset().filter(pk=pk).first()
        if obj is None:
            raise exceptions.NotFound()
        return obj


def owned(model, business, pk: int, name: str):
    """The row of `model` with id `pk` in `business`; 404 otherwise (another business's ids included)."""
    obj = model.objects.filter(business=business, pk=pk).first()
    if obj is None:
        raise exceptions.NotFound(f"No {name} with id {pk} in this business.")
    return obj


def query_id(request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return None
    value = parse_id(raw)
    if value is None:
        raise exceptions.ValidationError({name: ["Enter an id (a positive whole number)."]})
    return value


def query_day(request, name: str) -> date | None:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return None
    try:
        day = parse_date(raw)
    except ValueError:
        day = None
    if day is None:
        raise exceptions.ValidationError({name: ["Enter a date as YYYY-MM-DD."]})
    if not day_in_range(day):
        raise exceptions.ValidationError({name: [DAY_RANGE_ERROR]})
    return day


def query_choice(request, name: str, choices) -> str:
    raw = request.query_params.get(name, "")
    if raw and raw not in choices:
        raise exceptions.ValidationError({name: [f"Choose one of: {', '.join(choices)}."]})
    return raw


def query_bool(request, name: str) -> bool | None:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return None
    if raw.lower() in ("true", "1"):
        return True
    if raw.lower() in ("false", "0"):
        return False
    raise exceptions.ValidationError({name: ["Use true or false."]})


def query_text(request, name: str, max_length: int = 100) -> str:
    raw = request.query_params.get(name, "").strip()
    if "\x00" in raw or len(raw) > max_length:
        raise exceptions.ValidationError({name: [f"Use at most {max_length} characters, without NUL."]})
    return raw


def id_field(**kwargs):
    """An id in a request body: a positive bigint (a larger number is a 400, not a database error)."""
    return serializers.IntegerField(min_value=1, max_value=MAX_ID, **kwargs)
