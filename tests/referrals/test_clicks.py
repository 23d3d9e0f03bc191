"""The referral link /r/<code>: redirect, no session, no database work on a warm cache, counters and their flush.

With REDIS_URL set the counters and the cache use Redis for real, in database 15 under a key prefix of their own,
so these tests neither see nor clear anyone else's keys; without it they use the in-process fallback.
"""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlparse, urlunparse

import pytest
from django.db import OperationalError, connection
from django_scopes import scope

from businesses.models import Business
from clients.privacy import client_erase
from referrals import clicks
from referrals.codes import code_for_client, code_regenerate, code_retire, link_for
from referrals.models import ClickCount, ReferralCode, ReferralProgram
from referrals.tasks import clicks_flush as clicks_flush_task

from ..factories import BusinessFactory
from .conftest import landing, make_client

REDIS_TEST_DB = 15


@pytest.fixture
def click_counters(settings):
    """Counters of this test only: a Redis key prefix of its own (database 15), or a clean in-process counter."""
    settings.CLICKS_LOCAL_FLUSH_SECONDS = 0
    clicks.local_counter.take()
    clicks._process_cache.clear()
    clicks._days_announced.clear()
    prefix = f"test-clicks-{uuid.uuid4().hex[:12]}"
    url = ""
    if settings.REDIS_URL:
        url = urlunparse(urlparse(settings.REDIS_URL)._replace(path=f"/{REDIS_TEST_DB}"))
        settings.CLICKS_REDIS_URL = url
        settings.CLICKS_KEY_PREFIX = prefix
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": url,
                "KEY_PREFIX": prefix,
            }
        }
    yield prefix
    clicks.local_counter.take()
    if url:  # decided at set-up: a test may have switched Redis off meanwhile
        client = clicks._client_for(url)
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)


pytestmark = pytest.mark.usefixtures("click_counters")


@pytest.fixture
def anna_code(in_scope, anna):
    return code_for_client(business=in_scope, client=anna)


def retire(business, code):
    """Give the client a new code and retire `code`, as the owner does."""
    code_regenerate(business=business, client=code.client)
    code.refresh_from_db()
    return code_retire(business=business, code=code)


def stored_clicks(business) -> dict:
    with scope(business=business):
        return {
            (row.code_id, row.day): row.clicks for row in ClickCount.objects.filter(business=business).order_by("id")
        }


def today_in(business) -> date:
    return clicks.local_day(business.time_zone)


# --------------------------------------------------------------------------------------------- the redirect


@pytest.mark.parametrize(
    "url,expected",
    [
        ("https://book.example/", "https://book.example/?ref=CODE"),
        ("https://book.example/book?", "https://book.example/book?ref=CODE"),
        ("https://book.example/book?studio=2&x=a%20b", "https://book.example/book?studio=2&x=a%20b&ref=CODE"),
        ("https://book.example/book?ref=OLD&studio=2#top", "https://book.example/book?studio=2&ref=CODE#top"),
        ("https://book.example/#/booking", "https://book.example/?ref=CODE#/booking"),
        ("/w/studio/", "/w/studio/?ref=CODE"),
    ],
)
def test_ref_is_added_to_the_booking_page_keeping_its_query(url, expected):
    assert clicks.with_ref(url, "CODE") == expected


def test_a_click_redirects_to_the_hosted_booking_page_with_the_code(client, business, anna_code):
    response = client.get(f"/r/{anna_code.code}")
    assert response.status_code == 302
    assert landing(response) == f"/w/{business.slug}/?ref={anna_code.code}"
    assert response["Cache-Control"] == "no-store"
    assert link_for(anna_code).endswith(f"/r/{anna_code.code}")


def test_the_code_in_the_link_is_case_insensitive_and_forgives_dashes(client, business, anna_code):
    typed = f"{anna_code.code[:4].lower()}-{anna_code.code[4:].lower()}"
    for url in (f"/r/{typed}", f"/r/{typed}/"):
        response = client.get(url)
        assert response.status_code == 302
        assert landing(response) == f"/w/{business.slug}/?ref={anna_code.code}"


def test_a_custom_booking_page_keeps_its_own_query_string(client, business, anna_code):
    ReferralProgram.objects.update_or_create(
        business=business, defaults={"booking_url": "https://serenity.example/book?lang=en&utm_source=friends"}
    )
    response = client.get(f"/r/{anna_code.code}")
    assert landing(response) == f"https://serenity.example/book?lang=en&utm_source=friends&ref={anna_code.code}"


def test_a_click_sets_no_cookie_and_never_opens_the_session(client, owner, anna_code):
    client.force_login(owner)  # a visitor who has a session cookie already
    response = client.get(f"/r/{anna_code.code}")
    assert response.status_code == 302
    assert "Set-Cookie" not in str(response.serialize_headers())
    assert not response.cookies
    assert response.wsgi_request.session.accessed is False
    assert "Cookie" not in response.get("Vary", "")


def test_a_warm_click_makes_no_database_query(client, anna_code, django_assert_num_queries):
    client.get(f"/r/{anna_code.code}")  # fills the cache
    with django_assert_num_queries(0):
        response = client.get(f"/r/{anna_code.code}")
        client.get(f"/r/{anna_code.code.lower()}")
    assert response.status_code == 302


def test_an_unknown_code_goes_to_the_home_page_and_is_cached_briefly(client, db, django_assert_num_queries):
    assert landing(client.get("/r/NOSUCHCODE")) == "/"
    with django_assert_num_queries(0):
        assert landing(client.get("/r/nosuchcode")) == "/"
        assert landing(client.get("/r/---")) == "/"


def test_a_retired_code_goes_to_the_booking_page_without_a_referral(client, business, anna, anna_code):
    retire(business, anna_code)
    response = client.get(f"/r/{anna_code.code}")
    assert response.status_code == 302
    assert landing(response) == f"/w/{business.slug}/"


def test_an_erased_clients_code_no_longer_refers(client, business, owner, anna, anna_code):
    client_erase(business=business, client=anna, actor=owner)
    assert landing(client.get(f"/r/{anna_code.code}")) == f"/w/{business.slug}/"


def test_only_get_and_head_are_answered_and_only_get_counts(client, business, anna_code):
    assert client.post(f"/r/{anna_code.code}").status_code == 405
    assert client.head(f"/r/{anna_code.code}").status_code == 302
    clicks.clicks_flush()
    assert stored_clicks(business) == {}


# --------------------------------------------------------------------------------------------- the cache


def test_forgetting_a_retired_code_stops_it_at_once(
    client, business, anna, anna_code, django_capture_on_commit_callbacks
):
    assert "ref=" in landing(client.get(f"/r/{anna_code.code}"))
    retire(business, anna_code)
    assert "ref=" in landing(client.get(f"/r/{anna_code.code}")), "still cached until forgotten"
    with django_capture_on_commit_callbacks(execute=True):
        clicks.forget_code(anna_code)
    assert landing(client.get(f"/r/{anna_code.code}")) == f"/w/{business.slug}/"


def test_forgetting_a_business_applies_a_new_booking_page(
    client, business, anna, anna_code, django_capture_on_commit_callbacks
):
    client.get(f"/r/{anna_code.code}")
    ReferralProgram.objects.update_or_create(business=business, defaults={"booking_url": "https://new.example/"})
    with django_capture_on_commit_callbacks(execute=True):
        clicks.forget_business(business)
    assert landing(client.get(f"/r/{anna_code.code}")) == f"https://new.example/?ref={anna_code.code}"


def test_forgetting_waits_for_the_commit(client, business, anna_code, django_capture_on_commit_callbacks):
    client.get(f"/r/{anna_code.code}")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        clicks.forget_client(business=business, client=anna_code.client)
    assert len(callbacks) == 1
    assert clicks.lookup(anna_code.code).code_id == anna_code.pk


def test_a_new_code_is_found_once_forgotten(client, business, in_scope, django_capture_on_commit_callbacks):
    assert landing(client.get("/r/ABCDEFGH")) == "/"
    ben = make_client(business, first_name="Ben")
    ReferralCode.objects.create(business=business, client=ben, code="ABCDEFGH")
    with django_capture_on_commit_callbacks(execute=True):
        clicks.forget_code("abcd-efgh")
    assert landing(client.get("/r/ABCDEFGH")) == f"/w/{business.slug}/?ref=ABCDEFGH"


def test_the_process_cache_answers_without_the_shared_cache_and_is_dropped_when_forgotten(
    settings, client, business, anna, anna_code, django_capture_on_commit_callbacks, django_assert_num_queries
):
    settings.CLICKS_PROCESS_CACHE_SECONDS = 60
    client.get(f"/r/{anna_code.code}")
    clicks.cache.delete(clicks.CACHE_KEY.format(code=anna_code.code))
    with django_assert_num_queries(0):
        assert landing(client.get(f"/r/{anna_code.code}")).endswith(f"?ref={anna_code.code}")
    retire(business, anna_code)
    with django_capture_on_commit_callbacks(execute=True):
        clicks.forget_code(anna_code)
    assert landing(client.get(f"/r/{anna_code.code}")) == f"/w/{business.slug}/"


def test_another_processs_copy_is_stale_for_a_few_seconds_at_most(settings, client, business, anna_code):
    settings.CLICKS_PROCESS_CACHE_SECONDS = 0.2
    client.get(f"/r/{anna_code.code}")
    ReferralProgram.objects.update_or_create(business=business, defaults={"booking_url": "https://new.example/"})
    # What forget_business does as seen from another process: only the shared entry goes.
    clicks.cache.delete(clicks.CACHE_KEY.format(code=anna_code.code))
    assert landing(client.get(f"/r/{anna_code.code}")).startswith(f"/w/{business.slug}/")
    threading.Event().wait(0.25)
    assert landing(client.get(f"/r/{anna_code.code}")) == f"https://new.example/?ref={anna_code.code}"


def test_the_process_cache_stays_bounded(settings, db, monkeypatch):
    settings.CLICKS_PROCESS_CACHE_SECONDS = 60
    monkeypatch.setattr(clicks, "PROCESS_CACHE_SIZE", 3)
    for n in range(7):
        clicks.lookup(f"NOSUCH{n}")
        assert len(clicks._process_cache) <= 3


def test_a_broken_cache_falls_back_to_the_database(client, business, anna_code, monkeypatch):
    class BrokenCache:
        def get(self, *args, **kwargs):
            raise ConnectionError("cache down")

        set = get

    monkeypatch.setattr(clicks, "cache", BrokenCache())
    assert landing(client.get(f"/r/{anna_code.code}")) == f"/w/{business.slug}/?ref={anna_code.code}"


# --------------------------------------------------------------------------------------------- counting and flushing


def test_clicks_are_counted_per_code_per_day_and_flushed(client, business, anna, anna_code):
    ben_code = code_for_client(business=business, client=make_client(business, first_name="Ben"))
    for _ in range(3):
        client.get(f"/r/{anna_code.code}")
    client.get(f"/r/{ben_code.code.lower()}")
    client.get("/r/NOSUCHCODE")
    assert stored_clicks(business) == {}, "the click path writes nothing"

    assert clicks_flush_task.delay() is not None
    day = today_in(business)
    assert stored_clicks(business) == {(anna_code.pk, day): 3, (ben_code.pk, day): 1}


def test_flushing_again_neither_doubles_nor_loses_clicks(client, business, anna_code):
    client.get(f"/r/{anna_code.code}")
    client.get(f"/r/{anna_code.code}")
    clicks.clicks_flush()
    clicks.clicks_flush()
    day = today_in(business)
    assert stored_clicks(business) == {(anna_code.pk, day): 2}
    client.get(f"/r/{anna_code.code}")
    clicks.clicks_flush()
    clicks.clicks_flush()
    assert stored_clicks(business) == {(anna_code.pk, day): 3}


def test_retired_codes_count_without_a_code(client, business, anna, anna_code):
    retire(business, anna_code)
    client.get(f"/r/{anna_code.code}")
    client.get(f"/r/{anna_code.code}")
    clicks.clicks_flush()
    assert stored_clicks(business) == {(None, today_in(business)): 2}


def test_the_day_is_the_businesss_own(business, anna_code):
    Business.objects.filter(pk=business.pk).update(time_zone="Pacific/Auckland")
    target = clicks.Target("/", business.pk, anna_code.pk, "Pacific/Auckland")
    late_evening_utc = datetime(2026, 1, 1, 12, 30, tzinfo=UTC)  # already 2 January in Auckland
    clicks.count(target, now=late_evening_utc)
    clicks.clicks_flush(now=late_evening_utc)
    assert stored_clicks(business) == {(anna_code.pk, date(2026, 1, 2)): 1}


def test_a_code_deleted_before_the_flush_does_not_block_it(client, business, anna_code):
    other = code_for_client(business=business, client=make_client(business, first_name="Ben"))
    client.get(f"/r/{anna_code.code}")
    client.get(f"/r/{other.code}")
    with scope(business=business):
        other.client.delete()
    clicks.clicks_flush()
    assert stored_clicks(business) == {(anna_code.pk, today_in(business)): 1}


def test_a_deleted_business_does_not_block_the_flush(client, business, anna_code):
    doomed = BusinessFactory()
    target = clicks.Target("/", doomed.pk, clicks.NO_ID, "UTC")
    clicks.count(target)
    doomed.delete()
    client.get(f"/r/{anna_code.code}")
    clicks.clicks_flush()
    assert stored_clicks(business) == {(anna_code.pk, today_in(business)): 1}


def test_a_failed_write_keeps_the_clicks_for_the_next_flush(client, business, anna_code, monkeypatch):
    client.get(f"/r/{anna_code.code}")

    def crash(rows, *, additive):
        raise RuntimeError("database went away")

    with monkeypatch.context() as patched:
        patched.setattr(clicks, "_upsert", crash)
        with pytest.raises(RuntimeError):
            clicks.clicks_flush()
    assert stored_clicks(business) == {}
    clicks.clicks_flush()
    assert stored_clicks(business) == {(anna_code.pk, today_in(business)): 1}


def test_selectors_count_flushed_and_unflushed_clicks_once(client, business, anna, anna_code):
    with scope(business=business):
        assert clicks.clicks_for_code(business=business, code=anna_code) == 0
        client.get(f"/r/{anna_code.code}")
        client.get(f"/r/{anna_code.code}")
        assert clicks.clicks_for_code(business=business, code=anna_code) == 2
        clicks.clicks_flush()
        assert clicks.clicks_for_code(business=business, code=anna_code) == 2
        client.get(f"/r/{anna_code.code}")
        assert clicks.clicks_for_code(business=business, code=anna_code) == 3
        new_code = code_regenerate(business=business, client=anna)
        client.get(f"/r/{new_code.code}")
        assert clicks.clicks_total(business=business, client=anna) == 4
        tomorrow = today_in(business) + timedelta(days=1)
        assert clicks.clicks_for_code(business=business, code=anna_code, since=tomorrow) == 0
        ClickCount.objects.create(business=business, code=anna_code, day=date(2020, 5, 1), clicks=10)
        assert clicks.clicks_total(business=business, client=anna) == 14


def test_in_process_counter_is_thread_safe():
    counter = clicks.LocalCounter()
    counter._flusher = threading.current_thread()  # no background flusher for this one
    day = date(2026, 3, 1)
    taken = []
    done = threading.Event()

    def click():
        for _ in range(2000):
            counter.add(day, 1, 2)

    def drain():
        while not done.is_set():
            taken.append(counter.take())

    drainer = threading.Thread(target=drain)
    drainer.start()
    workers = [threading.Thread(target=click) for _ in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    done.set()
    drainer.join()
    taken.append(counter.take())
    assert sum(batch.get((day, 1, 2), 0) for batch in taken) == 16_000


def test_without_redis_clicks_are_counted_in_process(settings, client, business, anna_code):
    settings.CLICKS_REDIS_URL = ""
    settings.REDIS_URL = None
    client.get(f"/r/{anna_code.code}")
    assert clicks.local_counter.pending(business.pk, {anna_code.pk}) == 1
    clicks.clicks_flush()
    assert clicks.local_counter.pending(business.pk, {anna_code.pk}) == 0
    assert stored_clicks(business) == {(anna_code.pk, today_in(business)): 1}
    client.get(f"/r/{anna_code.code}")
    clicks.flush_local()
    assert stored_clicks(business) == {(anna_code.pk, today_in(business)): 2}


def test_a_redis_outage_counts_in_process_and_still_redirects(settings, client, business, anna_code):
    settings.CLICKS_REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    response = client.get(f"/r/{anna_code.code}")
    assert response.status_code == 302
    assert clicks.local_counter.pending(business.pk, {anna_code.pk}) == 1
    clicks.flush_local()
    assert stored_clicks(business) == {(anna_code.pk, today_in(business)): 1}


@pytest.mark.django_db(transaction=True)
def test_the_in_process_flusher_writes_in_the_background(settings, business, anna_code):
    settings.CLICKS_LOCAL_FLUSH_SECONDS = 0.05
    counter = clicks.LocalCounter()
    counter.add(today_in(business), business.pk, anna_code.pk)
    try:
        for _ in range(100):
            try:
                if stored_clicks(business):
                    break
            except OperationalError:
                pass  # SQLite's shared in-memory test database locks the table while the flusher writes
            threading.Event().wait(0.05)
    finally:
        counter.stop_flusher()
        counter._flusher.join(timeout=5)
    assert stored_clicks(business) == {(anna_code.pk, today_in(business)): 1}


# --------------------------------------------------------------------------------------------- Redis only


@pytest.fixture
def redis_counters(settings):
    if not settings.REDIS_URL:
        pytest.skip("Needs REDIS_URL; CI runs this with Redis.")
    return clicks.redis_client()


def test_a_crash_after_the_commit_does_not_count_twice(client, business, anna_code, redis_counters, monkeypatch):
    client.get(f"/r/{anna_code.code}")
    client.get(f"/r/{anna_code.code}")

    def crash(*args, **kwargs):
        raise ConnectionError("flusher died after the commit")

    with monkeypatch.context() as patched:
        patched.setattr(type(redis_counters), "hset", crash)
        with pytest.raises(ConnectionError):
            clicks.clicks_flush()
    day = today_in(business)
    assert stored_clicks(business) == {(anna_code.pk, day): 2}
    clicks.clicks_flush()
    assert stored_clicks(business) == {(anna_code.pk, day): 2}


def test_a_finished_day_is_flushed_a_last_time_and_dropped(business, anna_code, redis_counters, click_counters, caplog):
    day = date(2026, 2, 10)
    clicks.count(clicks.Target("/", business.pk, anna_code.pk, "UTC"), now=datetime(2026, 2, 10, 9, tzinfo=UTC))
    clicks.count(clicks.Target("/", clicks.NO_ID, clicks.NO_ID), now=datetime(2026, 2, 10, 9, tzinfo=UTC))
    clicks.clicks_flush(now=datetime(2026, 2, 11, 9, tzinfo=UTC))  # still 10 February somewhere
    assert redis_counters.sismember(f"{click_counters}:days", day.isoformat())
    with caplog.at_level("INFO", logger="referrals.clicks"):
        clicks.clicks_flush(now=datetime(2026, 2, 12, 9, tzinfo=UTC))
    assert not redis_counters.sismember(f"{click_counters}:days", day.isoformat())
    assert 0 < redis_counters.ttl(f"{click_counters}:day:{day.isoformat()}") <= clicks.FINISHED_DAY_KEPT
    assert stored_clicks(business) == {(anna_code.pk, day): 1}
    assert "1 clicks on 2026-02-10 on codes that no business has" in caplog.text


def test_clicks_of_today_are_flushed_even_if_redis_lost_the_set_of_days(
    client, business, anna_code, redis_counters, click_counters
):
    client.get(f"/r/{anna_code.code}")
    redis_counters.delete(f"{click_counters}:days")
    client.get(f"/r/{anna_code.code}")  # announced a moment ago: the set is not written again
    clicks.clicks_flush()
    assert stored_clicks(business) == {(anna_code.pk, today_in(business)): 2}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_clicks_and_flushes_count_every_click_once(business, redis_counters):
    if connection.vendor != "postgresql":
        pytest.skip("Concurrent writers need PostgreSQL; CI runs this on PostgreSQL.")
    with scope(business=business):
        codes = [code_for_client(business=business, client=make_client(business, first_name=f"C{i}")) for i in range(5)]
    targets = [clicks.Target("/", business.pk, code.pk, business.time_zone) for code in codes]
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def clicker(target):
        try:
            barrier.wait()
            for _ in range(200):
                clicks.count(target)
        except BaseException as exc:  # collected and asserted on below
            errors.append(exc)

    def flusher():
        try:
            barrier.wait()
            for _ in range(5):
                clicks.clicks_flush()
        except BaseException as exc:  # collected and asserted on below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=clicker, args=(t,)) for t in targets] + [
        threading.Thread(target=flusher) for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    clicks.clicks_flush()
    day = today_in(business)
    assert stored_clicks(business) == {(code.pk, day): 200 for code in codes}
