from __future__ import annotations

from django_scopes import scope

from referrals_saas.celery import app

from .ledger import businesses_with_due_expiry, points_expire_due, store_credit_expire_due


@app.task(name="rewards.expire_due", acks_late=True)
def expire_due() -> int:
    """Periodic (beat): write "expire" entries for store credit and points past their expiry, business by business.

    Only businesses with a due lot are visited; each client is its own transaction that skips wallets another run
    or a checkout holds, so overlapping runs expire each lot once and a lost run is made up by the next."""
    expired = 0
    for business in businesses_with_due_expiry():
        with scope(business=business):
            expired += store_credit_expire_due(business=business)
            expired += points_expire_due(business=business)
    return expired
