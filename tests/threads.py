"""Real threads released together, for race tests on PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.db import connection


def needs_postgres():
    if connection.vendor != "postgresql":
        pytest.skip("Row locks need PostgreSQL; CI runs this on PostgreSQL.")


def run_at_once(work: Callable[[int], object], threads: int = 10) -> tuple[list, list[BaseException]]:
    """Run `work(i)` in `threads` threads released by one barrier; returns (results, what they raised)."""
    barrier = threading.Barrier(threads)
    results: list = []
    errors: list[BaseException] = []

    def target(index: int):
        try:
            barrier.wait()
            results.append(work(index))
        except BaseException as exc:  # collected and asserted on by the test
            errors.append(exc)
        finally:
            connection.close()

    workers = [threading.Thread(target=target, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return results, errors
