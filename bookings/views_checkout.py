"""The staff's checkout of a booking: apply the client's rewards, record payments, print or e-mail the receipt, and
(owners only) void a recorded payment."""

from __future__ import annotations

from smtplib import SMTPException

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from businesses.money import format_money, from_minor, minor_unit_digits, to_minor
from referrals_saas.tenancy import business_view
from rewards.models import ServiceCredit

from . import checkout, services
from .forms import PaymentRecordForm
from .models import Booking, Payment, PaymentStatus


class CouponForm(forms.Form):
    code = forms.CharField(label="Coupon code", max_length=40)


class StoreCreditForm(forms.Form):
    amount = forms.CharField(label="Amount", max_length=24)

    def __init__(self, *args, currency: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.currency = currency

    def clean_amount(self) -> int:
        raw = self.cleaned_data["amount"].strip()
        try:
            minor = to_minor(raw, self.currency)
        except ValueError as exc:
            digits = minor_unit_digits(self.currency)
            places = "no decimal places" if digits == 0 else f"at most {digits} decimal places"
            raise forms.ValidationError(f"Enter an amount in {self.currency}, with {places}.") from exc
        if minor <= 0:
            raise forms.ValidationError("Enter an amount above zero.")
        return minor


class PointsForm(forms.Form):
    points = forms.IntegerField(label="Points", min_value=1, max_value=10**15)


class ServiceCreditForm(forms.Form):
    credit = forms.IntegerField(min_value=1, max_value=2**63 - 1)


class VoidForm(forms.Form):
    reason = forms.CharField(label="Why is it voided?", max_length=200, required=False)


def _booking(request, booking_id: int) -> Booking:
    return get_object_or_404(
        Booking.objects.select_related("client", "service"), business=request.business, pk=booking_id
    )


def _context(request, booking: Booking, **extra) -> dict:
    summary = checkout.checkout_summary(business=request.business, booking=booking)
    digits = minor_unit_digits(summary.currency)
    return {
        "booking": summary.booking,
        "summary": summary,
        "credit_default": f"{from_minor(summary.store_credit_usable, summary.currency):.{digits}f}",
        "payment_form": PaymentRecordForm(),
        "can_void": request.membership.is_owner,
        "active_section": "bookings",
        **extra,
    }


def _answer(request, booking: Booking, *, error: str | None, done: str | None):
    """htmx: the summary partial with the outcome; otherwise a message and back to the checkout page."""
    status = 400 if error else 200
    if request.htmx:
        context = _context(request, booking, error=error, done=done)
        return render(request, "bookings/checkout.html#summary", context, status=status)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, done)
    return redirect("bookings:checkout", business_slug=request.business.slug, booking_id=booking.pk)


def _words(error: ValidationError | forms.Form) -> str:
    if isinstance(error, forms.Form):
        return " ".join(message for messages_ in error.errors.values() for message in messages_)
    return " ".join(error.messages)


@business_view
def checkout_page(request, booking_id: int):
    """The booking's checkout: what is left to pay, the client's rewards, each with one action, and the payments."""
    booking = _booking(request, booking_id)
    return render(request, "bookings/checkout.html", _context(request, booking))


def _applied(row) -> str:
    return f"{row.label} applied: −{format_money(row.amount, row.booking.currency)}."


@require_POST
@business_view
def apply_coupon(request, booking_id: int):
    booking = _booking(request, booking_id)
    form = CouponForm(request.POST)
    if not form.is_valid():
        return _answer(request, booking, error="Enter a coupon code.", done=None)
    try:
        row = checkout.checkout_apply_coupon(
            business=request.business, booking=booking, code=form.cleaned_data["code"], actor=request.user
        )
    except ValidationError as exc:
        return _answer(request, booking, error=_words(exc), done=None)
    return _answer(request, booking, error=None, done=_applied(row))


@require_POST
@business_view
def apply_store_credit(request, booking_id: int):
    booking = _booking(request, booking_id)
    form = StoreCreditForm(request.POST, currency=booking.currency)
    if not form.is_valid():
        return _answer(request, booking, error=_words(form), done=None)
    try:
        row = checkout.checkout_apply_store_credit(
            business=request.business, booking=booking, amount=form.cleaned_data["amount"], actor=request.user
        )
    except ValidationError as exc:
        return _answer(request, booking, error=_words(exc), done=None)
    return _answer(request, booking, error=None, done=_applied(row))


@require_POST
@business_view
def apply_points(request, booking_id: int):
    booking = _booking(request, booking_id)
    form = PointsForm(request.POST)
    if not form.is_valid():
        return _answer(request, booking, error="Enter a whole number of points above zero.", done=None)
    try:
        row = checkout.checkout_apply_points(
            business=request.business, booking=booking, points=form.cleaned_data["points"], actor=request.user
        )
    except ValidationError as exc:
        return _answer(request, booking, error=_words(exc), done=None)
    return _answer(request, booking, error=None, done=_applied(row))


@require_POST
@business_view
def apply_service_credit(request, booking_id: int):
    """Use one session of a service credit of the client's on the booking; another business's credit is a 404."""
    booking = _booking(request, booking_id)
    form = ServiceCreditForm(request.POST)
    if not form.is_valid():
        return _answer(request, booking, error="Choose one of the client's service credits.", done=None)
    credit = get_object_or_404(
        ServiceCredit.objects.select_related("service"), business=request.business, pk=form.cleaned_data["credit"]
    )
    try:
        row = checkout.checkout_apply_service_credit(
            business=request.business, booking=booking, credit=credit, actor=request.user
        )
    except ValidationError as exc:
        return _answer(request, booking, error=_words(exc), done=None)
    return _answer(request, booking, error=None, done=_applied(row))


@require_POST
@business_view
def checkout_pay(request, booking_id: int, payment_id: int):
    """Record a payment from the checkout page (the booking services' payment_record)."""
    booking = _booking(request, booking_id)
    payment = get_object_or_404(Payment, business=request.business, booking=booking, pk=payment_id)
    form = PaymentRecordForm(request.POST)
    if not form.is_valid():
        return _answer(request, booking, error="Choose how it was paid: cash, card or other.", done=None)
    try:
        services.payment_record(
            business=request.business, payment=payment, method=form.cleaned_data["method"], actor=request.user
        )
    except ValidationError as exc:
        return _answer(request, booking, error=_words(exc), done=None)
    return _answer(request, booking, error=None, done=f"Payment {payment.sequence} recorded.")


def _receipt_context(request, booking: Booking) -> dict:
    summary = checkout.checkout_summary(business=request.business, booking=booking)
    return {
        "business": request.business,
        "booking": summary.booking,
        "summary": summary,
        "paid_payments": [p for p in summary.payments if p.status == PaymentStatus.PAID],
        "issued_at": timezone.now(),
        "email_problem": checkout.receipt_problem(booking=summary.booking),
    }


@business_view
def receipt(request, booking_id: int):
    """A printable receipt: list price, discounts, payments and what is left to pay."""
    booking = _booking(request, booking_id)
    return render(request, "bookings/receipt.html", _receipt_context(request, booking))


def receipt_text(context: dict) -> str:
    summary, booking = context["summary"], context["booking"]
    currency = summary.currency

    def m(amount: int) -> str:
        return format_money(amount, currency)

    start = timezone.localtime(booking.starts_at)
    lines = [
        f"Receipt from {context['business'].name}",
        "",
        f"{booking.service.name} for {booking.client.full_name}, {start:%d %b %Y %H:%M}",
        "",
        f"List price: {m(summary.list_price)}",
        *(f"{d.label}: −{m(d.amount)}" for d in summary.discounts),
        f"Total: {m(summary.total)}",
        "",
        *(f"Paid {p.paid_at:%d %b %Y} ({p.get_method_display()}): {m(p.amount)}" for p in context["paid_payments"]),
        f"Paid in all: {m(summary.paid)}",
        f"Left to pay: {m(summary.left_to_pay)}",
    ]
    return "\n".join(lines) + "\n"


@require_POST
@business_view
def receipt_email(request, booking_id: int):
    """E-mail the receipt to the client's address; refused, with the reason, for test bookings and clients
    without an e-mail address."""
    booking = _booking(request, booking_id)
    context = _receipt_context(request, booking)
    html = render_to_string("bookings/receipt.html#receipt_body", context, request=request)
    try:
        address = checkout.receipt_send(
            business=request.business,
            booking=booking,
            subject=f"Your receipt from {request.business.name}",
            text=receipt_text(context),
            html=html,
            actor=request.user,
        )
    except ValidationError as exc:
        messages.error(request, _words(exc))
    except (SMTPException, OSError):
        messages.error(request, "The receipt could not be sent just now; please try again in a moment.")
    else:
        messages.success(request, f"Receipt e-mailed to {address}.")
    return redirect("bookings:receipt", business_slug=request.business.slug, booking_id=booking.pk)


@require_http_methods(["GET", "POST"])
@business_view(owner_only=True)
def payment_void(request, booking_id: int, payment_id: int):
    """Owners only: confirm, then void a recorded payment and reverse what was applied at checkout."""
    booking = _booking(request, booking_id)
    payment = get_object_or_404(Payment, business=request.business, booking=booking, pk=payment_id)
    form = VoidForm(request.POST or None)
    if request.method == "POST":
        if not form.is_valid():
            messages.error(request, _words(form))
        else:
            try:
                result = checkout.payment_void(
                    business=request.business,
                    payment=payment,
                    actor=request.user,
                    reason=form.cleaned_data["reason"],
                )
            except ValidationError as exc:
                messages.error(request, _words(exc))
            else:
                _void_messages(request, result)
        return redirect("bookings:checkout", business_slug=request.business.slug, booking_id=booking.pk)
    context = {
        "booking": booking,
        "payment": payment,
        "form": form,
        "checkout_rows": [
            d
            for d in booking.discounts.filter(business=request.business).order_by("id")
            if d.source_type.startswith(checkout.CHECKOUT_PREFIX)
        ],
        "active_section": "bookings",
    }
    return render(request, "bookings/checkout_void.html", context)


def _void_messages(request, result: checkout.VoidResult) -> None:
    number = result.payment.sequence
    if not result.voided:
        messages.info(request, f"Payment {number} was not paid; nothing changed.")
        return
    words = f"Payment {number} voided; it is due again."
    if result.reversed:
        words += " What was applied at checkout was given back: " + ", ".join(r.label for r in result.reversed) + "."
    messages.success(request, words)
    if result.kept:
        messages.warning(
            request,
            "What was applied at checkout stays for now: part of it is on another payment that is still paid. "
            "Void that payment too to give it back.",
        )
