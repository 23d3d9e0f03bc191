"""Payment schedules from a service's payment plan. Pure: plain values in, dataclasses out.

What `price` means follows the plan: the whole price for one-off and instalments, the price of one billing
period for a membership, of one session for pay-per-session. `discount` follows the same unit: a one-off or
instalment booking has one discount for the whole (spread over the instalments in proportion, to the cent);
a membership has it on every renewal and pay-per-session on every session.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

from businesses.models import PaymentPlan, PlanInterval
from businesses.money import allocate, split_evenly


@dataclass(frozen=True)
class ScheduledPayment:
    sequence: int
    due_on: date
    list_amount: int
    discount: int

    @property
    def amount(self) -> int:
        return self.list_amount - self.discount


def add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def due_date(start: date, index: int, interval: str) -> date:
    return start + timedelta(weeks=index) if interval == PlanInterval.WEEK else add_months(start, index)


def payment_schedule(
    *, plan: str, count: int, interval: str, price: int, discount: int, start: date, once_discount: int = 0
) -> list[ScheduledPayment]:
    """`discount` follows the plan's unit (see the module); `once_discount` (a coupon) is taken once for the whole
    booking: spread like the discount on one-off and instalments, off the first payments on the other plans."""
    if price < 0 or discount < 0 or once_discount < 0:
        raise ValueError("price and discounts must not be negative")
    if plan in (PaymentPlan.ONE_OFF, PaymentPlan.INSTALMENTS):
        return _schedule(
            plan=plan, count=count, interval=interval, price=price, discount=discount + once_discount, start=start
        )
    payments = _schedule(plan=plan, count=count, interval=interval, price=price, discount=discount, start=start)
    remaining, taken = once_discount, []
    for payment in payments:
        extra = min(remaining, payment.amount)
        remaining -= extra
        taken.append(ScheduledPayment(payment.sequence, payment.due_on, payment.list_amount, payment.discount + extra))
    return taken


def _schedule(
    *, plan: str, count: int, interval: str, price: int, discount: int, start: date
) -> list[ScheduledPayment]:
    discount = min(discount, price)
    if plan == PaymentPlan.ONE_OFF:
        return [ScheduledPayment(1, start, price, discount)]
    if count < 1:
        raise ValueError("a plan needs at least one payment")
    if plan == PaymentPlan.INSTALMENTS:
        list_parts = split_evenly(price, count)
        discount_parts = allocate(discount, list_parts)
        return [
            ScheduledPayment(i + 1, due_date(start, i, interval), list_part, discount_part)
            for i, (list_part, discount_part) in enumerate(zip(list_parts, discount_parts, strict=True))
        ]
    if plan in (PaymentPlan.MEMBERSHIP, PaymentPlan.PER_SESSION):
        return [ScheduledPayment(i + 1, due_date(start, i, interval), price, discount) for i in range(count)]
    raise ValueError(f"unknown payment plan {plan!r}")
