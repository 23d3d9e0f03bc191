"""The reconcile command finds and repairs drift; the client page's wallet reads in a fixed number of queries."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.template.loader import render_to_string

from rewards.ledger import client_wallet, points_adjust, store_credit_apply, store_credit_grant
from rewards.models import PointsProgram, WalletBalance

from .conftest import make_client

pytestmark = pytest.mark.django_db


def reconcile(*args) -> str:
    out = StringIO()
    call_command("reconcile_balances", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_reconcile_reports_and_fixes_drift(in_scope, ada, booking):
    store_credit_grant(business=in_scope, client=ada, amount=20_00, reason="Thanks")
    points_adjust(business=in_scope, client=ada, points=15, reason="Welcome")
    assert "No drift." in reconcile()
    WalletBalance.objects.filter(business=in_scope, client=ada).update(store_credit=99_00, points=0)
    report = reconcile()
    assert f"client {ada.pk} ({in_scope.slug}): store_credit cached 9900, ledger 2000" in report
    assert "points cached 0, ledger 15" in report
    assert WalletBalance.objects.get(client=ada).store_credit == 99_00  # reporting changes nothing
    assert "Fixed 1 wallet(s)." in reconcile("--fix")
    wallet = WalletBalance.objects.get(client=ada)
    assert (wallet.store_credit, wallet.points) == (20_00, 15)
    assert "No drift." in reconcile()


def test_reconcile_finds_a_lost_wallet_row(in_scope, ada):
    store_credit_grant(business=in_scope, client=ada, amount=5_00, reason="Thanks")
    WalletBalance.objects.filter(business=in_scope, client=ada).delete()
    assert "store_credit cached 0, ledger 500" in reconcile("--business", in_scope.slug)
    reconcile("--fix")
    assert WalletBalance.objects.get(client=ada).store_credit == 5_00


def test_client_wallet_reads_in_four_queries_and_renders(in_scope, ada, booking, owner, django_assert_num_queries):
    PointsProgram.objects.create(business=in_scope, enabled=True, points_per_unit=Decimal(1), point_value=10)
    for _ in range(12):
        store_credit_grant(business=in_scope, client=ada, amount=1_00, reason="Thanks", actor=owner)
    store_credit_apply(business=in_scope, client=ada, amount=2_50, booking=booking)
    points_adjust(business=in_scope, client=ada, points=30, reason="Welcome", actor=owner)
    with django_assert_num_queries(4):
        wallet = client_wallet(in_scope, ada)
    assert (wallet.store_credit, wallet.points, wallet.points_value) == (9_50, 30, 300)
    assert len(wallet.store_credit_entries) == 10 and wallet.store_credit_entries[0].amount == -2_50
    with django_assert_num_queries(0):
        html = render_to_string("rewards/_client_wallet.html", {"wallet": wallet})
    assert "£9.50" in html and "-£2.50" in html and "(worth £3.00)" in html and "Welcome" in html


def test_an_empty_wallet_renders(in_scope):
    client = make_client(in_scope, first_name="Nobody")
    html = render_to_string("rewards/_client_wallet.html", {"wallet": client_wallet(in_scope, client)})
    assert "No store credit yet." in html and "No points yet." in html
