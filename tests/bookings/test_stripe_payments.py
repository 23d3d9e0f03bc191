"""Booking payments through Stripe Checkout, and the webhook that records them: against the local Stripe
stand-in (tests/stripe_standin.py) and with event payloads signed in the test. Nothing reaches the internet."""

from __future__ import annotations

import time

import pytest
from django.test import Client as HttpClient
from django_scopes import scope

from bookings.models import Booking, BookingStatus, Payment, PaymentMethod, PaymentStatus, StripeEvent
from bookings.stripe_payments import pay_token, payment_button_context
from businesses.models import DomainEvent, PaymentPlan, PlanInterval
from businesses.money import format_money
from referrals.codes import code_for_client
from referrals.models import Referral, ReferralStatus
from referrals.services import ReferralClaim, booking_create_with_referral
from rewards.models import Coupon, Reward

from ..factories import BusinessFactory
from ..referrals.conftest import make_client, make_program, make_service, soon
from ..stripe_standin import CHECKOUT_HOST, signed_event, stripe_api, stripe_standin, stripe_webhooks  # noqa: F401
from ..threads import needs_postgres, run_at_once

WEBHOOK = "/stripe/webhook/"


def referred_booking(business, *, service=None, referee_email="bob@outlook.com"):
    """Anna refers Bob; Bob books the massage with her code: 15% off 100.00, a 20.00 coupon for Anna on confirm."""
    service = service or make_service(business)
    make_program(business, [service])
    anna = make_client(business, email="anna.berg@gmail.com")
    bob = make_client(business, "Bob", "Stone", email=referee_email)
    claim = ReferralClaim(code=code_for_client(business=business, client=anna).code)
    booking = booking_create_with_referral(
        business=business, client=bob, service=service, starts_at=soon(), claim=claim
    )
    return booking, anna


def pay_url(booking) -> str:
    return f"/w/{booking.business.slug}/pay/{pay_token(booking)}/"


def completed_session(booking, *, amount=None, payment_status="paid", currency=None, mode="payment") -> dict:
    payment = Payment.objects.filter(business=booking.business, booking=booking).order_by("sequence").first()
    return {
        "id": "cs_test_abc",
        "object": "checkout.session",
        "mode": mode,
        "payment_status": payment_status,
        "status": "complete",
        "amount_total": payment.amount if amount is None else amount,
        "currency": (currency or booking.currency).lower(),
        "metadata": {
            "kind": "booking_payment",
            "business_id": str(booking.business_id),
            "booking_id": str(booking.pk),
            "payment_id": str(payment.pk),
        },
    }


def deliver(http, kind: str, obj: dict, **event):
    payload, signature = signed_event(kind, obj, **event)
    return http.post(WEBHOOK, payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature)


# --- Payments off -------------------------------------------------------------------------------------------------


def test_without_a_secret_key_there_is_no_pay_button_and_the_endpoints_say_so(client, business, settings):
    settings.STRIPE_SECRET_KEY = ""
    settings.STRIPE_WEBHOOK_SECRET = ""
    with scope(business=business):
        booking, _ = referred_booking(business)
        assert payment_button_context(booking) is None
    response = client.post(pay_url(booking))
    assert response.status_code == 503
    assert b"Payments are not set up" in response.content
    response = client.post(WEBHOOK, b"{}", content_type="application/json", HTTP_STRIPE_SIGNATURE="t=1,v1=x")
    assert response.status_code == 503
    assert StripeEvent.objects.count() == 0


# --- Starting Checkout --------------------------------------------------------------------------------------------


def test_pay_now_opens_checkout_for_the_amount_after_the_referral_discount(client, business, stripe_api):  # noqa: F811
    with scope(business=business):
        booking, _ = referred_booking(business)
        payment = Payment.objects.get(business=business, booking=booking)
        button = payment_button_context(booking)
    assert payment.amount == 85_00
    assert button["action"].startswith(f"/w/{business.slug}/pay/")
    assert (
        button["amount"] == format_money(85_00, business.currency)
        and button["target"] == "_top"
        and not button["subscription"]
    )

    response = client.post(button["action"])

    assert response.status_code == 303
    assert response["Location"].startswith(f"{CHECKOUT_HOST}/c/pay/cs_test_")
    [params] = stripe_api.calls("/v1/checkout/sessions")
    assert params["mode"] == "payment"
    assert params["line_items"] == [
        {
            "price_data": {
                "currency": business.currency.lower(),
                "unit_amount": "8500",
                "product_data": {"name": f"Deep tissue massage · {business.name}"},
            },
            "quantity": "1",
        }
    ]
    metadata = {
        "kind": "booking_payment",
        "business_id": str(business.pk),
        "booking_id": str(booking.pk),
        "payment_id": str(payment.pk),
    }
    assert params["metadata"] == metadata
    assert params["payment_intent_data"] == {"metadata": metadata}
    assert params["customer_email"] == "bob@outlook.com"
    assert params["success_url"].endswith("/status/?checkout=done")
    assert params["cancel_url"].endswith("/status/?checkout=cancelled")
    assert params["success_url"].startswith("http://") and f"/w/{business.slug}/pay/" in params["success_url"]
    # The page expires when it stops being handed out again, not after Stripe's default 24 hours.
    assert 3500 <= int(params["expires_at"]) - int(time.time()) <= 3600


def test_a_second_press_goes_to_the_same_checkout_page(client, business, stripe_api):  # noqa: F811
    with scope(business=business):
        booking, _ = referred_booking(business)
    first = client.post(pay_url(booking))
    second = client.post(pay_url(booking))
    assert first["Location"] == second["Location"]
    assert len(stripe_api.calls("/v1/checkout/sessions")) == 1


def test_instalments_pay_the_first_instalment_after_its_share_of_the_discount(client, business, stripe_api):  # noqa: F811
    with scope(business=business):
        programme = make_service(
            business, "Programme", price=300_00, payment_plan=PaymentPlan.INSTALMENTS, plan_count=3
        )
        booking, _ = referred_booking(business, service=programme)
        first = Payment.objects.get(business=business, booking=booking, sequence=1)
    assert first.amount == 85_00  # 100.00 less 15%
    assert client.post(pay_url(booking)).status_code == 303
    [params] = stripe_api.calls("/v1/checkout/sessions")
    assert params["line_items"][0]["price_data"]["unit_amount"] == str(first.amount)
    assert params["metadata"]["payment_id"] == str(first.pk)


def test_a_membership_is_a_subscription_with_the_plans_interval(client, business, stripe_api):  # noqa: F811
    with scope(business=business):
        membership = make_service(
            business,
            "Monthly membership",
            price=50_00,
            payment_plan=PaymentPlan.MEMBERSHIP,
            plan_count=12,
            plan_interval=PlanInterval.MONTH,
        )
        booking, _ = referred_booking(business, service=membership)
        button = payment_button_context(booking)
    assert (
        button["subscription"]
        and button["interval"] == "monthly"
        and button["amount"] == format_money(42_50, business.currency)
    )
    assert client.post(pay_url(booking)).status_code == 303
    [params] = stripe_api.calls("/v1/checkout/sessions")
    assert params["mode"] == "subscription"
    assert params["line_items"][0]["price_data"]["recurring"] == {"interval": "month"}
    assert params["line_items"][0]["price_data"]["unit_amount"] == "4250"
    assert params["subscription_data"]["metadata"]["booking_id"] == str(booking.pk)
    assert "payment_intent_data" not in params


def test_a_forged_expired_or_foreign_pay_link_is_404_and_calls_nobody(client, business, stripe_api):  # noqa: F811
    other = BusinessFactory()
    with scope(business=business):
        booking, _ = referred_booking(business)
    token = pay_token(booking)
    assert client.post(f"/w/{business.slug}/pay/{token}x/").status_code == 404
    assert client.post(f"/w/{other.slug}/pay/{token}/").status_code == 404
    assert client.post(f"/w/no-such-business/pay/{token}/").status_code == 404
    assert client.get(pay_url(booking)).status_code == 405
    assert stripe_api.calls("/v1/checkout/sessions") == []


def test_nothing_to_pay_sends_the_client_to_the_status_page(client, business, stripe_api):  # noqa: F811
    with scope(business=business):
        booking, _ = referred_booking(business)
        Payment.objects.filter(business=business, booking=booking).update(status=PaymentStatus.PAID, paid_at=soon())
        assert payment_button_context(booking) is None
    response = client.post(pay_url(booking))
    assert response.status_code == 303 and response["Location"].endswith("/status/")
    assert stripe_api.calls("/v1/checkout/sessions") == []


def test_stripe_unreachable_is_a_clear_502_not_a_500(client, business, stripe_webhooks):  # noqa: F811
    with scope(business=business):
        booking, _ = referred_booking(business)
    response = client.post(pay_url(booking))
    assert response.status_code == 502
    assert b"The payment could not be started" in response.content


# --- The webhook --------------------------------------------------------------------------------------------------


def test_a_bad_signature_is_400_and_writes_nothing(client, business, stripe_webhooks):  # noqa: F811
    with scope(business=business):
        booking, anna = referred_booking(business)
        session = completed_session(booking)
    payload, signature = signed_event("checkout.session.completed", session, secret="whsec_someone_else")
    response = client.post(WEBHOOK, payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature)
    assert response.status_code == 400
    payload, signature = signed_event("checkout.session.completed", session, timestamp=1_000_000_000)
    assert (
        client.post(WEBHOOK, payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature).status_code
        == 400
    )
    assert client.post(WEBHOOK, payload, content_type="application/json").status_code == 400
    assert (
        client.post(WEBHOOK, b"not json", content_type="application/json", HTTP_STRIPE_SIGNATURE=signature).status_code
        == 400
    )
    assert StripeEvent.objects.count() == 0
    with scope(business=business):
        assert Payment.objects.get(business=business, booking=booking).status == PaymentStatus.DUE
        assert Reward.objects.filter(business=business, client=anna).count() == 0


def test_the_webhook_takes_only_post(client, stripe_webhooks):  # noqa: F811
    assert client.get(WEBHOOK).status_code == 405


def test_an_unknown_event_is_acknowledged_stored_and_ignored(client, db, stripe_webhooks):  # noqa: F811
    response = deliver(client, "invoice.finalized", {"id": "in_1", "object": "invoice"}, event_id="evt_unknown")
    assert response.status_code == 200
    event = StripeEvent.objects.get(event_id="evt_unknown")
    assert event.kind == "invoice.finalized" and event.outcome.startswith("ignored")


def test_checkout_completed_records_the_payment_confirms_the_booking_and_rewards_the_referrer(
    client,
    business,
    stripe_webhooks,  # noqa: F811
):
    with scope(business=business):
        booking, anna = referred_booking(business)
        session = completed_session(booking)

    response = deliver(client, "checkout.session.completed", session, event_id="evt_paid")

    assert response.status_code == 200
    with scope(business=business):
        payment = Payment.objects.get(business=business, booking=booking)
        assert (payment.status, payment.method, payment.recorded_by) == (PaymentStatus.PAID, PaymentMethod.STRIPE, None)
        assert Booking.objects.get(business=business, pk=booking.pk).status == BookingStatus.CONFIRMED
        assert Referral.objects.get(business=business, booking=booking).status == ReferralStatus.CONFIRMED
        assert Coupon.objects.filter(business=business, client=anna).count() == 1
        assert Reward.objects.filter(business=business, client=anna).count() == 1
    assert StripeEvent.objects.get(event_id="evt_paid").outcome.startswith(f"payment {payment.pk}")


def test_five_deliveries_of_one_event_issue_one_reward(client, business, stripe_webhooks):  # noqa: F811
    with scope(business=business):
        booking, anna = referred_booking(business)
        session = completed_session(booking)
    payload, signature = signed_event("checkout.session.completed", session, event_id="evt_again")
    answers = [
        client.post(WEBHOOK, payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature)
        for _ in range(5)
    ]
    assert [answer.status_code for answer in answers] == [200] * 5
    assert [answer.json()["outcome"].split(":")[0] for answer in answers[1:]] == ["duplicate"] * 4
    assert StripeEvent.objects.filter(event_id="evt_again").count() == 1
    with scope(business=business):
        assert Reward.objects.filter(business=business, client=anna).count() == 1
        assert Coupon.objects.filter(business=business, client=anna).count() == 1


def test_a_second_checkout_paying_a_paid_payment_is_flagged_for_a_refund_not_recorded(
    client,
    business,
    stripe_webhooks,  # noqa: F811
):
    with scope(business=business):
        booking, anna = referred_booking(business)
        first = completed_session(booking)
        second = {**completed_session(booking), "id": "cs_test_second_tab"}
    assert deliver(client, "checkout.session.completed", first).json()["outcome"].startswith("payment")
    outcome = deliver(client, "checkout.session.completed", second).json()["outcome"]
    assert outcome.startswith("refused:") and "needs a refund" in outcome
    with scope(business=business):
        payment = Payment.objects.get(business=business, booking=booking)
        [flag] = DomainEvent.objects.filter(business=business, kind="payment.refund_needed")
        assert Reward.objects.filter(business=business, client=anna).count() == 1
    assert (payment.status, payment.external_ref) == (PaymentStatus.PAID, "cs_test_abc")
    assert (flag.subject_id, flag.payload["checkout_session"], flag.payload["amount"]) == (
        booking.pk,
        "cs_test_second_tab",
        85_00,
    )


def test_a_checkout_paying_what_was_paid_at_the_desk_is_flagged_for_a_refund(client, business, stripe_webhooks):  # noqa: F811
    from bookings.services import payment_record

    with scope(business=business):
        booking, _ = referred_booking(business)
        payment = Payment.objects.get(business=business, booking=booking)
        payment_record(business=business, payment=payment, method=PaymentMethod.CASH)
        session = completed_session(booking)
    assert "needs a refund" in deliver(client, "checkout.session.completed", session).json()["outcome"]
    with scope(business=business):
        payment.refresh_from_db()
        assert payment.method == PaymentMethod.CASH
        assert DomainEvent.objects.filter(business=business, kind="payment.refund_needed").count() == 1


def test_two_events_about_one_checkout_still_reward_once(client, business, stripe_webhooks):  # noqa: F811
    """An async payment: `completed` (unpaid) then `async_payment_succeeded`; and the same paid session twice."""
    with scope(business=business):
        booking, anna = referred_booking(business)
        unpaid = completed_session(booking, payment_status="unpaid")
        paid = completed_session(booking)
    assert deliver(client, "checkout.session.completed", unpaid).json()["outcome"].startswith("waiting")
    with scope(business=business):
        assert Payment.objects.get(business=business, booking=booking).status == PaymentStatus.DUE
    assert deliver(client, "checkout.session.async_payment_succeeded", paid).status_code == 200
    assert deliver(client, "checkout.session.completed", paid).status_code == 200
    with scope(business=business):
        assert Payment.objects.get(business=business, booking=booking).status == PaymentStatus.PAID
        assert Reward.objects.filter(business=business, client=anna).count() == 1


def test_a_paid_amount_below_the_payment_or_in_another_currency_is_refused(client, business, stripe_webhooks):  # noqa: F811
    with scope(business=business):
        booking, anna = referred_booking(business)
        short = completed_session(booking, amount=1_00)
        euros = completed_session(booking, currency="EUR")
    assert deliver(client, "checkout.session.completed", short).json()["outcome"].startswith("refused")
    assert deliver(client, "checkout.session.completed", euros).json()["outcome"].startswith("refused")
    with scope(business=business):
        assert Payment.objects.get(business=business, booking=booking).status == PaymentStatus.DUE
        assert Reward.objects.filter(business=business, client=anna).count() == 0


def test_a_payment_for_a_cancelled_booking_is_acknowledged_and_refused(client, business, stripe_webhooks):  # noqa: F811
    from bookings.services import booking_cancel

    with scope(business=business):
        booking, anna = referred_booking(business)
        session = completed_session(booking)
        booking_cancel(business=business, booking=booking)
    response = deliver(client, "checkout.session.completed", session, event_id="evt_late")
    assert response.status_code == 200 and response.json()["outcome"].startswith("refused")
    assert StripeEvent.objects.filter(event_id="evt_late").exists()
    with scope(business=business):
        assert Payment.objects.get(business=business, booking=booking).status == PaymentStatus.DUE
        assert Reward.objects.filter(business=business, client=anna).count() == 0


def test_metadata_naming_another_business_s_payment_records_nothing(client, business, stripe_webhooks):  # noqa: F811
    other = BusinessFactory()
    with scope(business=business):
        booking, _ = referred_booking(business)
        session = completed_session(booking)
    session["metadata"]["business_id"] = str(other.pk)
    assert deliver(client, "checkout.session.completed", session).json()["outcome"].startswith("ignored")
    with scope(business=business):
        assert Payment.objects.get(business=business, booking=booking).status == PaymentStatus.DUE


# --- Back from Checkout -------------------------------------------------------------------------------------------


def test_the_return_page_trusts_the_database_not_the_redirect(client, business, stripe_webhooks):  # noqa: F811
    with scope(business=business):
        booking, _ = referred_booking(business)
        session = completed_session(booking)
    status_url = pay_url(booking) + "status/"

    back = client.get(status_url + "?checkout=done")
    assert back.status_code == 200
    assert b"confirming your payment" in back.content and b'data-payment-state="pending"' in back.content
    with scope(business=business):
        assert Payment.objects.get(business=business, booking=booking).status == PaymentStatus.DUE

    deliver(client, "checkout.session.completed", session)
    after = client.get(status_url + "?checkout=done")
    assert (
        b'data-payment-state="paid"' in after.content
        and f"{format_money(85_00, business.currency)} paid".encode() in after.content
    )
    assert b"Your booking is confirmed" in after.content


def test_the_return_page_after_a_cancelled_checkout_offers_to_pay_again(client, business, stripe_webhooks):  # noqa: F811
    with scope(business=business):
        booking, _ = referred_booking(business)
    page = client.get(pay_url(booking) + "status/?checkout=cancelled")
    assert b"nothing was charged" in page.content
    assert f'action="{pay_url(booking)}"'.encode() in page.content


# --- Under concurrency (PostgreSQL) -------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_five_simultaneous_deliveries_issue_one_reward(business, stripe_webhooks):  # noqa: F811
    needs_postgres()
    with scope(business=business):
        booking, anna = referred_booking(business)
        session = completed_session(booking)
    payload, signature = signed_event("checkout.session.completed", session, event_id="evt_race")

    def deliver_once(_):
        response = HttpClient().post(WEBHOOK, payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature)
        return response.status_code, response.json()["outcome"]

    results, errors = run_at_once(deliver_once, threads=5)
    assert errors == []
    assert sorted(status for status, _ in results) == [200] * 5
    assert sum(1 for _, outcome in results if outcome.startswith("duplicate")) == 4
    assert StripeEvent.objects.filter(event_id="evt_race").count() == 1
    with scope(business=business):
        assert Payment.objects.get(business=business, booking=booking).status == PaymentStatus.PAID
        assert Reward.objects.filter(business=business, client=anna).count() == 1
        assert Coupon.objects.filter(business=business, client=anna).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_different_events_for_one_payment_at_once_issue_one_reward(business, stripe_webhooks):  # noqa: F811
    needs_postgres()
    with scope(business=business):
        booking, anna = referred_booking(business)
        session = completed_session(booking)
    kinds = ["checkout.session.completed", "checkout.session.async_payment_succeeded"] * 3

    def deliver_once(index):
        payload, signature = signed_event(kinds[index], session)
        return (
            HttpClient()
            .post(WEBHOOK, payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature)
            .status_code
        )

    results, errors = run_at_once(deliver_once, threads=len(kinds))
    assert errors == [] and results == [200] * len(kinds)
    with scope(business=business):
        assert Reward.objects.filter(business=business, client=anna).count() == 1
        assert Referral.objects.get(business=business, booking=booking).status == ReferralStatus.CONFIRMED
