"""Close the gaps in django-scopes' fail-closed guard.

Its DisabledQuerySet raises on most ways to read rows, but `exists()`, `in_bulk()`, `contains()` and
`exclude()` slip through and would answer across tenants. They raise too, from app start-up on.
"""

from __future__ import annotations

from django_scopes.manager import DisabledQuerySet

UNGUARDED_READS = ("exists", "in_bulk", "contains", "exclude", "explain", "bulk_update", "alias", "extra")


def guard_every_read() -> None:
    for name in UNGUARDED_READS:
        setattr(DisabledQuerySet, name, DisabledQuerySet.error)
