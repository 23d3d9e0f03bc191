"""The referrals board, the review queue and a referral's page, through the views."""

from __future__ import annotations

import itertools
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_scopes import scope

from bookings.services import booking_confirm, booking_create
from businesses.models import DomainEvent
from referrals.codes import code_for_client
from referrals.models import FlagSignal, Referral, ReferralFlag, ReferralSource, ReferralStatus
from referrals.selectors import CARDS_PER_COLUMN, Cursor
from referrals.services import ReferralClaim, booking_create_with_referral
from rewards.models import Coupon, Reward

from .conftest import make_client, make_service, soon

pytestmark = pytest.mark.django_db

_numbers = itertools.count(1)


def new_client(business, first_name=None, **fields):
    n = next(_numbers)
    return make_client(business, first_name or f"Client{n}", f"Number{n}", email=f"client{n}@example.org", **fields)


def make_referral(
    business,
    referrer=None,
    referee=None,
    status=ReferralStatus.PENDING,
    *,
    created_at=None,
    service=None,
    booked=True,
    flags=(),
    reward=False,
    **fields,
) -> Referral:
    """A referral row as the engine leaves it, built by hand so a test controls every field."""
    referrer = referrer or new_client(business)
    referee = referee or new_client(business)
    booking = None
    if booked:
        service = service or make_service(business, f"Service {next(_numbers)}", price=100_00)
        booking = booking_create(business=business, client=referee, service=service, starts_at=soon())
    referral = Referral.objects.create(
        business=business,
        referrer=referrer,
        referee=referee,
        booking=booking,
        source=fields.pop("source", ReferralSource.LINK),
        status=status,
        created_at=created_at or timezone.now(),
        **fields,
    )
    for signal in flags:
        ReferralFlag.objects.create(business=business, referral=referral, signal=signal, detail=f"{signal} detail")
    if reward:
        coupon = Coupon.objects.create(
            business=business,
            client=referrer,
            code=f"THX-TEST-{next(_numbers)}",
            kind="fixed",
            amount=20_00,
            currency=business.currency,
            is_test=referral.is_test,
        )
        Reward.objects.create(
            business=business,
            client=referrer,
            referral=referral,
            kind="coupon",
            coupon=coupon,
            description="£20.00 off",
            created_at=referral.created_at,
            is_test=referral.is_test,
        )
    return referral


def board_url(business, **query):
    url = reverse("referrals:index", kwargs={"business_slug": business.slug})
    if query:
        from urllib.parse import urlencode

        url += "?" + urlencode(query)
    return url


def card_ids(response, prefix="referral-card") -> list[int]:
    """The referrals a partial answer shows, in order (htmx partials carry no template context in tests)."""
    return [int(pk) for pk in re.findall(rf'id="{prefix}-(\d+)"', response.content.decode())]


def columns_of(response) -> dict[str, list[int]]:
    return {page.column.key: [card.pk for card in page.cards] for page in response.context["columns"]}


def counts_of(response) -> dict[str, str]:
    return {page.column.key: str(page.count) for page in response.context["columns"]}


# ---------------------------------------------------------------------------------------------------- board


def test_the_board_groups_referrals_by_status_with_counts(owner_client, in_scope):
    made = {status: make_referral(in_scope, status=status) for status in ReferralStatus.values}
    made[ReferralStatus.INELIGIBLE].reason = "The client has booked before."
    made[ReferralStatus.INELIGIBLE].save()
    Referral.objects.filter(pk=made[ReferralStatus.CANCELLED].pk).update(reason="The referred booking was cancelled.")
    second_pending = make_referral(in_scope)

    response = owner_client.get(board_url(in_scope))

    assert response.status_code == 200
    assert columns_of(response) == {
        "pending": [second_pending.pk, made["pending"].pk],
        "flagged": [made["flagged"].pk],
        "confirmed": [made["confirmed"].pk],
        "rejected": [made["ineligible"].pk, made["rejected"].pk],
        "cancelled": [made["cancelled"].pk],
    }
    assert counts_of(response) == {"pending": "2", "flagged": "1", "confirmed": "1", "rejected": "2", "cancelled": "1"}
    content = response.content.decode()
    assert "The client has booked before." in content and "The referred booking was cancelled." in content
    assert "Not eligible" in content


def test_a_card_shows_both_clients_the_booking_the_source_the_discount_the_reward_and_the_flags(owner_client, in_scope):
    anna = new_client(in_scope, "Annabel")
    bob = new_client(in_scope, "Bobby")
    referral = make_referral(
        in_scope,
        anna,
        bob,
        ReferralStatus.CONFIRMED,
        referee_discount=15_00,
        reward=True,
        flags=[FlagSignal.DISPOSABLE_EMAIL],
        source=ReferralSource.NAMED,
    )
    content = owner_client.get(board_url(in_scope)).content.decode()
    slug = in_scope.slug
    assert f'href="/b/{slug}/clients/{anna.pk}/"' in content and f'href="/b/{slug}/clients/{bob.pk}/"' in content
    assert f'href="/b/{slug}/bookings/{referral.booking_id}/"' in content
    assert referral.booking.service.name in content and "£100.00" in content
    assert "Named by the new client" in content
    assert "£15.00" in content
    coupon = Reward.objects.get(referral=referral).coupon
    assert coupon.code in content and "Active" in content
    assert FlagSignal.DISPOSABLE_EMAIL.label in content
    assert f'href="/b/{slug}/referrals/{referral.pk}/"' in content


def test_test_records_are_hidden_unless_asked_for(owner_client, in_scope):
    real = make_referral(in_scope)
    test = make_referral(in_scope, is_test=True)
    default = owner_client.get(board_url(in_scope))
    assert columns_of(default)["pending"] == [real.pk] and counts_of(default)["pending"] == "1"
    assert "badge-test" not in default.content.decode()
    with_tests = owner_client.get(board_url(in_scope, test="1"))
    assert columns_of(with_tests)["pending"] == [test.pk, real.pk]
    assert counts_of(with_tests)["pending"] == "2"
    assert "badge-test" in with_tests.content.decode()


def test_the_board_filters_by_period_and_by_client_name(owner_client, in_scope):
    now = timezone.now()
    old = make_referral(in_scope, referrer=new_client(in_scope, "Zelda"), created_at=now - timedelta(days=40))
    recent = make_referral(in_scope, referee=new_client(in_scope, "Yolanda"), created_at=now - timedelta(days=2))
    today = timezone.localdate()
    since = owner_client.get(board_url(in_scope, date_from=(today - timedelta(days=10)).isoformat()))
    assert columns_of(since)["pending"] == [recent.pk]
    until = owner_client.get(board_url(in_scope, date_to=(today - timedelta(days=10)).isoformat()))
    assert columns_of(until)["pending"] == [old.pk]
    assert columns_of(owner_client.get(board_url(in_scope, q="zelda")))["pending"] == [old.pk]
    assert columns_of(owner_client.get(board_url(in_scope, q="Yolanda")))["pending"] == [recent.pk]
    assert columns_of(owner_client.get(board_url(in_scope, q="nobody-like-this")))["pending"] == []


def test_bad_filters_are_explained_and_left_out(owner_client, in_scope):
    referral = make_referral(in_scope)
    response = owner_client.get(board_url(in_scope, date_from="31/12/2025", date_to="0001-01-01"))
    assert response.status_code == 200
    assert columns_of(response)["pending"] == [referral.pk]
    content = response.content.decode()
    assert "This filter was not applied" in content
    backwards = owner_client.get(board_url(in_scope, date_from="2026-02-01", date_to="2026-01-01"))
    assert "The end date is before the start date." in backwards.content.decode()


def test_show_more_pages_a_column_by_created_at_and_id(owner_client, in_scope):
    moment = timezone.now() - timedelta(hours=1)
    # Several share one created_at: the id breaks the tie, so nothing is skipped or shown twice.
    made = [
        make_referral(in_scope, created_at=moment - timedelta(minutes=i // 3), booked=False)
        for i in range(CARDS_PER_COLUMN + 4)
    ]
    expected = [r.pk for r in sorted(made, key=lambda r: (r.created_at, r.pk), reverse=True)]

    first = owner_client.get(board_url(in_scope))
    [pending] = [page for page in first.context["columns"] if page.column.key == "pending"]
    assert [c.pk for c in pending.cards] == expected[:CARDS_PER_COLUMN]
    assert pending.has_more and "Show more" in first.content.decode()

    more = owner_client.get(
        board_url(in_scope, column="pending", after=pending.next_cursor.encode()), headers={"HX-Request": "true"}
    )
    assert more.status_code == 200
    assert card_ids(more) == expected[CARDS_PER_COLUMN:]
    assert "<html" not in more.content.decode() and "Show more" not in more.content.decode()

    # Without htmx the same link opens the whole board with that column moved on.
    plain = owner_client.get(board_url(in_scope, column="pending", after=pending.next_cursor.encode()))
    assert columns_of(plain)["pending"] == expected[CARDS_PER_COLUMN:]
    assert counts_of(plain)["pending"] == str(len(made))


def test_a_column_of_two_statuses_pages_through_both(owner_client, in_scope):
    start = timezone.now() - timedelta(days=1)
    made = [
        make_referral(
            in_scope,
            status=ReferralStatus.REJECTED if i % 2 else ReferralStatus.INELIGIBLE,
            created_at=start + timedelta(minutes=i),
            booked=False,
        )
        for i in range(CARDS_PER_COLUMN + 5)
    ]
    expected = [r.pk for r in reversed(made)]
    seen, after = [], None
    for _ in range(5):
        query = {"column": "rejected", **({"after": after} if after else {})}
        content = owner_client.get(board_url(in_scope, **query), headers={"HX-Request": "true"}).content.decode()
        seen += [int(pk) for pk in re.findall(r'id="referral-card-(\d+)"', content)]
        next_link = re.search(r'hx-get="[^"]*after=([0-9.]+)"', content)
        if next_link is None:
            break
        after = next_link.group(1)
    assert seen == expected


@pytest.mark.parametrize("query", [{"column": "nope"}, {"column": "pending", "after": "yesterday"}])
def test_a_bad_page_of_the_board_is_a_clear_400(owner_client, in_scope, query):
    response = owner_client.get(board_url(in_scope, **query), headers={"HX-Request": "true"})
    assert response.status_code == 400
    assert "does not exist" in response.content.decode()


def test_cursors_round_trip_and_refuse_garbage():
    moment = timezone.now()
    cursor = Cursor(moment, 42)
    assert Cursor.decode(cursor.encode()) == cursor
    for raw in ("", "1.0", "abc.1", "1.-3", "99999999999999999999.1", "1.2.3", None):
        assert Cursor.decode(raw) is None, raw


def _spread_referrals(business, count: int) -> None:
    """`count` referrals over every column, each with a booking, the fuller ones with flags and a reward."""
    statuses = list(ReferralStatus.values)
    service = make_service(business, f"Board massage {next(_numbers)}", price=80_00)
    for i in range(count):
        status = statuses[i % len(statuses)]
        make_referral(
            business,
            status=status,
            service=service,
            flags=[FlagSignal.BURST, FlagSignal.NAMED] if i % 2 else [],
            reward=status == ReferralStatus.CONFIRMED,
        )


def test_the_board_reads_the_same_number_of_queries_for_1_or_30_cards(
    owner_client, in_scope, django_assert_num_queries
):
    _spread_referrals(in_scope, 1)
    url = board_url(in_scope)
    owner_client.get(url)  # the first request of a session writes the session; measure the second
    with CaptureQueriesContext(connection) as one_card:
        response = owner_client.get(url)
    assert sum(len(cards) for cards in columns_of(response).values()) == 1

    _spread_referrals(in_scope, 29)
    with django_assert_num_queries(len(one_card)):
        response = owner_client.get(url)
    assert sum(len(cards) for cards in columns_of(response).values()) == 30


def test_the_review_queue_reads_the_same_number_of_queries_for_1_or_20_cards(
    owner_client, in_scope, django_assert_num_queries
):
    def flagged():
        make_referral(in_scope, status=ReferralStatus.FLAGGED, flags=[FlagSignal.SAME_DEVICE, FlagSignal.BURST])

    flagged()
    url = reverse("referrals:review", kwargs={"business_slug": in_scope.slug})
    owner_client.get(url)
    with CaptureQueriesContext(connection) as one_card:
        owner_client.get(url)
    for _ in range(19):
        flagged()
    with django_assert_num_queries(len(one_card)):
        response = owner_client.get(url)
    assert len(response.context["page"].referrals) == 20


def test_staff_see_the_board(staff_client, in_scope):
    make_referral(in_scope)
    assert staff_client.get(board_url(in_scope)).status_code == 200


# ---------------------------------------------------------------------------------------------------- review queue


@pytest.fixture
def flagged(in_scope, program, massage, anna):
    """A real flagged referral: a disposable e-mail address, with a booking already confirmed."""
    sly = make_client(in_scope, "Sly", "Fox", email="sly@mailinator.com", phone="+442079460999")
    claim = ReferralClaim(
        code=code_for_client(business=in_scope, client=anna).code,
        source=ReferralSource.LINK,
        clicked_at=timezone.now() - timedelta(days=1),
    )
    booking = booking_create_with_referral(
        business=in_scope, client=sly, service=massage, starts_at=soon(), claim=claim
    )
    booking_confirm(business=in_scope, booking=booking)
    referral = Referral.objects.get(booking=booking)
    assert referral.status == ReferralStatus.FLAGGED and referral.reward_due
    return referral


def review_url(business, **query):
    url = reverse("referrals:review", kwargs={"business_slug": business.slug})
    if query:
        from urllib.parse import urlencode

        url += "?" + urlencode(query)
    return url


def action_url(business, referral, action):
    return reverse(f"referrals:{action}", kwargs={"business_slug": business.slug, "referral_id": referral.pk})


def test_the_review_queue_shows_flags_and_both_clients_contacts(owner_client, in_scope, flagged, anna, program):
    program.flag_auto_approve_days = 7
    program.save()
    Referral.objects.filter(pk=flagged.pk).update(auto_approve_at=timezone.now() + timedelta(days=7))
    response = owner_client.get(review_url(in_scope))
    assert response.status_code == 200
    assert [r.pk for r in response.context["page"].referrals] == [flagged.pk]
    content = response.content.decode()
    assert FlagSignal.DISPOSABLE_EMAIL.label in content and "mailinator.com" in content
    assert "anna.berg@gmail.com" in content and "+44 20 7946 0001" in content
    assert "sly@mailinator.com" in content and "+44 20 7946 0999" in content
    assert "Approved automatically" in content and "Never: it waits" not in content
    assert 'hx-post="/b/' in content and "Approve" in content and "Reject" in content


def test_staff_see_the_queue_without_the_buttons(staff_client, in_scope, flagged):
    response = staff_client.get(review_url(in_scope))
    assert response.status_code == 200
    content = response.content.decode()
    assert "sly@mailinator.com" in content
    assert action_url(in_scope, flagged, "approve") not in content
    assert "Only the owner can approve or reject" in content


def test_the_review_queue_pages_oldest_first(owner_client, in_scope):
    start = timezone.now() - timedelta(days=3)
    made = [
        make_referral(in_scope, status=ReferralStatus.FLAGGED, created_at=start + timedelta(hours=i), booked=False)
        for i in range(23)
    ]
    make_referral(in_scope, status=ReferralStatus.FLAGGED, booked=False, is_test=True)
    first = owner_client.get(review_url(in_scope)).context["page"]
    assert [r.pk for r in first.referrals] == [r.pk for r in made[:20]]
    assert str(first.count) == "23"
    rest = owner_client.get(review_url(in_scope, after=first.next_cursor.encode()), headers={"HX-Request": "true"})
    assert card_ids(rest, "review-card") == [r.pk for r in made[20:]]
    assert owner_client.get(review_url(in_scope, after="garbage")).status_code == 400
    assert len(owner_client.get(review_url(in_scope, test="1")).context["page"].referrals) == 20
    assert str(owner_client.get(review_url(in_scope, test="1")).context["page"].count) == "24"


def test_the_owner_approves_through_htmx_and_the_card_says_so(owner_client, in_scope, flagged, anna, owner):
    response = owner_client.post(
        action_url(in_scope, flagged, "approve"), {"target": "review"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert f'id="review-card-{flagged.pk}"' in content and "<html" not in content
    assert "Approved. The referral is confirmed and the referrer’s reward was issued." in content
    flagged.refresh_from_db()
    assert flagged.status == ReferralStatus.CONFIRMED and flagged.reviewed_by == owner
    assert Reward.objects.filter(client=anna, referral=flagged).count() == 1
    assert action_url(in_scope, flagged, "approve") not in content

    again = owner_client.post(
        action_url(in_scope, flagged, "approve"), {"target": "review"}, headers={"HX-Request": "true"}
    )
    assert again.status_code == 409
    assert "not waiting for review: it is confirmed" in again.content.decode()
    assert Reward.objects.filter(referral=flagged).count() == 1


def test_the_owner_rejects_with_a_reason(owner_client, in_scope, flagged):
    response = owner_client.post(
        action_url(in_scope, flagged, "reject"),
        {"target": "review", "reason": "  Same   person as the referrer "},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert "Rejected. The referrer will not be rewarded" in response.content.decode()
    flagged.refresh_from_db()
    assert (flagged.status, flagged.reason) == (ReferralStatus.REJECTED, "Same person as the referrer")
    assert not Reward.objects.filter(referral=flagged).exists()
    assert DomainEvent.objects.filter(kind="referral.rejected", subject_id=flagged.pk).count() == 1


def test_a_confirmed_referral_cannot_be_rejected_and_the_owner_is_told_why(owner_client, in_scope):
    referral = make_referral(in_scope, status=ReferralStatus.CONFIRMED)
    response = owner_client.post(
        action_url(in_scope, referral, "reject"), {"target": "detail"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 409
    content = response.content.decode()
    assert "A confirmed referral cannot be rejected." in content and 'id="referral-detail"' in content
    referral.refresh_from_db()
    assert referral.status == ReferralStatus.CONFIRMED


def test_a_reason_that_is_too_long_is_refused(owner_client, in_scope, flagged):
    response = owner_client.post(
        action_url(in_scope, flagged, "reject"), {"reason": "x" * 301}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 400
    assert "under 300 characters" in response.content.decode()
    flagged.refresh_from_db()
    assert flagged.status == ReferralStatus.FLAGGED


def test_without_htmx_the_owner_is_sent_back_with_a_message(owner_client, in_scope, flagged):
    response = owner_client.post(action_url(in_scope, flagged, "approve"), follow=True)
    assert response.redirect_chain[-1][0] == reverse(
        "referrals:detail", kwargs={"business_slug": in_scope.slug, "referral_id": flagged.pk}
    )
    assert "Approved." in response.content.decode()
    back = owner_client.post(
        action_url(in_scope, flagged, "reject"), {"next": review_url(in_scope), "reason": "late"}, follow=True
    )
    assert back.redirect_chain[-1][0] == review_url(in_scope)
    assert "cannot be rejected" in back.content.decode()
    evil = owner_client.post(action_url(in_scope, flagged, "approve"), {"next": "https://evil.example/"})
    assert evil["Location"].startswith("/b/")


@pytest.mark.parametrize("action", ["approve", "reject"])
def test_staff_cannot_approve_or_reject(staff_client, in_scope, flagged, action):
    response = staff_client.post(action_url(in_scope, flagged, action), headers={"HX-Request": "true"})
    assert response.status_code == 403
    flagged.refresh_from_db()
    assert flagged.status == ReferralStatus.FLAGGED


def test_another_business_referral_is_404(owner_client, in_scope, other_business):
    with scope(business=other_business):
        foreign = make_referral(other_business, status=ReferralStatus.FLAGGED)
    for action in ("approve", "reject"):
        assert owner_client.post(action_url(in_scope, foreign, action)).status_code == 404
    detail = reverse("referrals:detail", kwargs={"business_slug": in_scope.slug, "referral_id": foreign.pk})
    assert owner_client.get(detail).status_code == 404
    missing = reverse("referrals:approve", kwargs={"business_slug": in_scope.slug, "referral_id": 987654321})
    assert owner_client.post(missing).status_code == 404
    with scope(business=other_business):
        foreign.refresh_from_db()
    assert foreign.status == ReferralStatus.FLAGGED


def test_approve_and_reject_answer_only_post(owner_client, in_scope, flagged):
    assert owner_client.get(action_url(in_scope, flagged, "approve")).status_code == 405
    assert owner_client.get(action_url(in_scope, flagged, "reject")).status_code == 405


# ---------------------------------------------------------------------------------------------------- detail


def test_the_referral_page_shows_everything_and_its_history(owner_client, in_scope, flagged, owner):
    owner_client.post(action_url(in_scope, flagged, "approve"), headers={"HX-Request": "true"})
    url = reverse("referrals:detail", kwargs={"business_slug": in_scope.slug, "referral_id": flagged.pk})
    response = owner_client.get(url)
    assert response.status_code == 200
    content = response.content.decode()
    assert "sly@mailinator.com" in content and "anna.berg@gmail.com" in content
    assert FlagSignal.DISPOSABLE_EMAIL.label in content
    coupon = Reward.objects.get(referral=flagged).coupon
    assert coupon.code in content
    labels = [entry.label for entry in response.context["history"]]
    assert labels[0] == "Referral recorded"
    assert {"Approved after review", "Reward issued to the referrer", "Referral confirmed"} <= set(labels)
    assert labels.index("Approved after review") < labels.index("Referral confirmed")


def test_the_referral_page_offers_reject_for_a_pending_referral(owner_client, in_scope):
    referral = make_referral(in_scope)
    url = reverse("referrals:detail", kwargs={"business_slug": in_scope.slug, "referral_id": referral.pk})
    reject = action_url(in_scope, referral, "reject")
    assert reject in owner_client.get(url).content.decode()


def test_staff_see_the_referral_page_without_actions(staff_client, in_scope, flagged):
    url = reverse("referrals:detail", kwargs={"business_slug": in_scope.slug, "referral_id": flagged.pk})
    response = staff_client.get(url)
    assert response.status_code == 200
    assert action_url(in_scope, flagged, "approve") not in response.content.decode()
