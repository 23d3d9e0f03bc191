from __future__ import annotations

import pytest

from ..bookings.conftest import local, make_booking, make_client, make_service  # noqa: F401


@pytest.fixture
def ada(in_scope):
    return make_client(in_scope, email="ada@example.com")


@pytest.fixture
def booking(in_scope, ada):
    return make_booking(in_scope, client=ada, service=make_service(in_scope, price=100_00))
