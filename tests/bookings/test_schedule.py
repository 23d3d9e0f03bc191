"""Payment schedules and money splits: properties with hypothesis, and a table per plan. No database."""

from __future__ import annotations

from datetime import date
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bookings.schedule import ScheduledPayment, add_months, payment_schedule
from businesses.models import PaymentPlan, PlanInterval
from businesses.money import allocate, split_evenly

amounts = st.integers(min_value=0, max_value=10**9)
intervals = st.sampled_from([PlanInterval.WEEK, PlanInterval.MONTH])
starts = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31))


@given(total=amounts, parts=st.integers(min_value=1, max_value=200))
def test_an_even_split_sums_to_the_total_and_differs_by_at_most_one_cent(total, parts):
    split = split_evenly(total, parts)
    assert len(split) == parts
    assert sum(split) == total
    assert max(split) - min(split) <= 1
    assert min(split) >= 0
    # The extra cents go first.
    assert split == sorted(split, reverse=True)


@given(total=st.integers(min_value=-(10**9), max_value=10**9), weights=st.lists(amounts, min_size=1, max_size=50))
def test_allocate_sums_to_the_total_and_stays_within_a_cent_of_the_exact_share(total, weights):
    parts = allocate(total, weights)
    assert len(parts) == len(weights)
    assert sum(parts) == total
    weight_sum = sum(weights) or len(weights)
    for part, weight in zip(parts, weights if sum(weights) else [1] * len(weights), strict=True):
        assert abs(part - Fraction(total * weight, weight_sum)) < 1
        assert (part >= 0) if total >= 0 else (part <= 0)


@given(
    price=amounts,
    discount=amounts,
    count=st.integers(min_value=1, max_value=36),
    interval=intervals,
    start=starts,
)
def test_instalments_sum_to_the_price_and_carry_the_whole_discount(price, discount, count, interval, start):
    schedule = payment_schedule(
        plan=PaymentPlan.INSTALMENTS, count=count, interval=interval, price=price, discount=discount, start=start
    )
    assert [p.sequence for p in schedule] == list(range(1, count + 1))
    list_parts = [p.list_amount for p in schedule]
    assert sum(list_parts) == price
    assert max(list_parts) - min(list_parts) <= 1
    assert sum(p.discount for p in schedule) == min(discount, price)
    assert sum(p.amount for p in schedule) == price - min(discount, price)
    assert all(p.amount >= 0 and p.discount >= 0 for p in schedule)
    assert [p.due_on for p in schedule] == sorted(p.due_on for p in schedule)
    assert schedule[0].due_on == start


@given(
    plan=st.sampled_from([PaymentPlan.MEMBERSHIP, PaymentPlan.PER_SESSION]),
    price=amounts,
    discount=amounts,
    count=st.integers(min_value=1, max_value=100),
    interval=intervals,
    start=starts,
)
def test_memberships_and_sessions_take_the_discount_on_every_payment(plan, price, discount, count, interval, start):
    schedule = payment_schedule(plan=plan, count=count, interval=interval, price=price, discount=discount, start=start)
    assert len(schedule) == count
    assert all(p.list_amount == price and p.discount == min(discount, price) for p in schedule)
    assert all(p.amount >= 0 for p in schedule)
    assert len({p.due_on for p in schedule}) == count


@given(price=amounts, discount=amounts, start=starts)
def test_a_one_off_payment_is_one_payment_of_the_total(price, discount, start):
    schedule = payment_schedule(
        plan=PaymentPlan.ONE_OFF, count=1, interval=PlanInterval.MONTH, price=price, discount=discount, start=start
    )
    assert schedule == [ScheduledPayment(1, start, price, min(discount, price))]


D = date(2030, 1, 31)


@pytest.mark.parametrize(
    "plan,count,interval,price,discount,expected",
    [
        pytest.param(PaymentPlan.ONE_OFF, 1, PlanInterval.MONTH, 60_00, 10_00, [(1, D, 60_00, 10_00)], id="one-off"),
        pytest.param(
            PaymentPlan.ONE_OFF, 1, PlanInterval.MONTH, 60_00, 80_00, [(1, D, 60_00, 60_00)], id="one-off-capped"
        ),
        pytest.param(
            PaymentPlan.INSTALMENTS,
            3,
            PlanInterval.MONTH,
            100_00,
            10_00,
            # 10000 splits 3334/3333/3333; the discount follows in proportion, the odd cent to the largest part.
            [
                (1, D, 33_34, 3_34),
                (2, date(2030, 2, 28), 33_33, 3_33),
                (3, date(2030, 3, 31), 33_33, 3_33),
            ],
            id="instalments-with-discount-spread",
        ),
        pytest.param(
            PaymentPlan.INSTALMENTS,
            4,
            PlanInterval.WEEK,
            1_01,
            0,
            [
                (1, D, 26, 0),
                (2, date(2030, 2, 7), 25, 0),
                (3, date(2030, 2, 14), 25, 0),
                (4, date(2030, 2, 21), 25, 0),
            ],
            id="instalments-weekly-odd-cent",
        ),
        pytest.param(
            PaymentPlan.MEMBERSHIP,
            3,
            PlanInterval.MONTH,
            50_00,
            5_00,
            [
                (1, D, 50_00, 5_00),
                (2, date(2030, 2, 28), 50_00, 5_00),
                (3, date(2030, 3, 31), 50_00, 5_00),
            ],
            id="membership-discount-on-every-renewal",
        ),
        pytest.param(
            PaymentPlan.PER_SESSION,
            3,
            PlanInterval.WEEK,
            25_00,
            2_50,
            [(1, D, 25_00, 2_50), (2, date(2030, 2, 7), 25_00, 2_50), (3, date(2030, 2, 14), 25_00, 2_50)],
            id="per-session-discount-on-each-session",
        ),
    ],
)
def test_schedules_per_plan(plan, count, interval, price, discount, expected):
    schedule = payment_schedule(plan=plan, count=count, interval=interval, price=price, discount=discount, start=D)
    assert [(p.sequence, p.due_on, p.list_amount, p.discount) for p in schedule] == expected


def test_the_amount_due_is_the_list_amount_less_its_discount():
    assert ScheduledPayment(1, D, 33_34, 3_34).amount == 30_00


@pytest.mark.parametrize(
    "kwargs",
    [
        {"plan": PaymentPlan.ONE_OFF, "count": 1, "price": -1, "discount": 0},
        {"plan": PaymentPlan.ONE_OFF, "count": 1, "price": 100, "discount": -1},
        {"plan": PaymentPlan.INSTALMENTS, "count": 0, "price": 100, "discount": 0},
        {"plan": "barter", "count": 1, "price": 100, "discount": 0},
    ],
)
def test_impossible_schedules_are_refused(kwargs):
    with pytest.raises(ValueError):
        payment_schedule(interval=PlanInterval.MONTH, start=D, **kwargs)


@pytest.mark.parametrize(
    "day,months,expected",
    [
        (date(2030, 1, 31), 1, date(2030, 2, 28)),
        (date(2032, 1, 31), 1, date(2032, 2, 29)),
        (date(2030, 11, 15), 3, date(2031, 2, 15)),
        (date(2030, 5, 6), 0, date(2030, 5, 6)),
    ],
)
def test_add_months_keeps_the_day_or_the_end_of_a_shorter_month(day, months, expected):
    assert add_months(day, months) == expected
