"""Fixtures for the browser tests: Debian's chromium driven by Playwright against pytest-django's live server.

Never a downloaded browser: without /usr/bin/chromium the tests skip (`apt-get install chromium` enables them),
except in CI (CI=true), where they fail so that a missing browser can never pass unnoticed.

Screenshots of every step go to test-artifacts/screenshots/<test name>/ (git-ignored); a few key pages are also
copied to docs/screenshots/ for the README. When a test fails, its open pages are saved there as well.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# Playwright's sync API keeps an asyncio event loop in the main thread, which makes Django refuse ORM calls
# from the test body (SynchronousOnlyOperation). The test body is ordinary synchronous code, so this is safe.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
# The browser's own time zone; the sign-up form guesses the business's time zone from it.
BROWSER_TIME_ZONE = "Europe/Berlin"

HERE = Path(__file__).resolve().parent
PROJECT_ROOT = HERE.parent.parent
ARTIFACTS = PROJECT_ROOT / "test-artifacts" / "screenshots"
DOCS_SCREENSHOTS = PROJECT_ROOT / "docs" / "screenshots"


def pytest_collection_modifyitems(config, items):
    """Every test in this folder is a browser test; without chromium (and outside CI) it is skipped."""
    skip = pytest.mark.skip(reason=f"{CHROMIUM} is missing: `apt-get install chromium` enables the browser tests")
    for item in items:
        if not item.path.is_relative_to(HERE):
            continue
        item.add_marker(pytest.mark.browser)
        if not CHROMIUM.exists() and not running_in_ci():
            item.add_marker(skip)


def running_in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so fixtures can tell whether the test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def browser() -> Iterator:
    if not CHROMIUM.exists():
        # Only reached in CI: elsewhere the tests were marked as skipped at collection.
        pytest.fail(
            f"CI=true but {CHROMIUM} is missing: the browser tests must run in CI. "
            "Install Debian's chromium (`apt-get install chromium`); never a downloaded browser.",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def new_context(browser, live_server, request) -> Iterator[Callable]:
    """Open a fresh browser context (its own cookies: another person, or another device) on the live server.

    On failure, a screenshot of every page still open is saved next to the step screenshots.
    """
    contexts = []
    page_errors: list[str] = []

    def open_context(viewport: dict | None = None, **options):
        context = browser.new_context(
            base_url=live_server.url,
            viewport=viewport or DESKTOP,
            timezone_id=BROWSER_TIME_ZONE,
            locale="en-US",
            **options,
        )
        context.set_default_timeout(10_000)
        context.on("weberror", lambda error: page_errors.append(str(error.error)))
        contexts.append(context)
        return context

    yield open_context

    failed = getattr(request.node, "report_call", None) is not None and request.node.report_call.failed
    for number, context in enumerate(contexts, start=1):
        if failed:
            for page_number, page in enumerate(context.pages, start=1):
                path = screenshot_dir(request.node) / f"failure-context{number}-page{page_number}.png"
                path.parent.mkdir(parents=True, exist_ok=True)
                screenshot(page, path)
        context.close()
    assert not page_errors, f"JavaScript errors in the pages: {page_errors}"


@pytest.fixture
def context(new_context):
    """The default context: a desktop browser, 1280×800."""
    return new_context()


@pytest.fixture
def page(context):
    return context.new_page()


@pytest.fixture
def shot(request) -> Callable:
    """`shot(page, name)` saves test-artifacts/screenshots/<test>/<NN>-<name>.png, numbered in step order.

    `shot(page, name, docs="team.png")` also copies it to docs/screenshots/team.png for the README.
    """
    directory = screenshot_dir(request.node)
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    counter = iter(range(1, 100))

    def take(page, name: str, *, docs: str | None = None) -> Path:
        path = directory / f"{next(counter):02d}-{name}.png"
        screenshot(page, path)
        if docs:
            DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, DOCS_SCREENSHOTS / docs)
        return path

    return take


def screenshot(page, path: Path, attempts: int = 3) -> None:
    """Save a screenshot. Chromium now and then answers "Unable to capture screenshot" while it is between frames
    on a loaded machine: the page is fine, so try again after a moment rather than fail the test."""
    from playwright.sync_api import Error

    for attempt in range(1, attempts + 1):
        try:
            page.screenshot(path=path)
            return
        except Error as error:
            if "Unable to capture screenshot" not in str(error) or attempt == attempts:
                raise
            page.wait_for_timeout(250 * attempt)


def screenshot_dir(node) -> Path:
    return ARTIFACTS / re.sub(r"[^A-Za-z0-9_.-]+", "-", node.name)


@pytest.fixture
def site_url(settings, live_server):
    """E-mailed links are built from SITE_URL; point them at the live server."""
    settings.SITE_URL = live_server.url
    return live_server.url


@pytest.fixture
def log_in_as(live_server) -> Callable:
    """`log_in_as(context, user)` signs `user` in by handing the browser a session cookie: no login page to drive.

    Tests about the login itself use the login page; the others start signed in, which keeps them fast.
    """
    from django.conf import settings
    from django.test import Client

    def sign_in(context, user) -> None:
        client = Client()
        client.force_login(user)
        session = client.cookies[settings.SESSION_COOKIE_NAME].value
        context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}])

    return sign_in


class ConsoleWatch:
    """The console errors of the watched browser contexts; `allow(pattern)` accepts one the test provokes on purpose
    (say, the browser's own "Failed to load resource" line for a 409 that htmx shows as an inline message)."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.allowed: list[re.Pattern] = []

    def watch(self, context) -> None:
        context.on("console", self._record)

    def _record(self, message) -> None:
        if message.type == "error":
            location = message.location.get("url", "") if message.location else ""
            self.errors.append(f"{message.text} ({location})" if location else message.text)

    def allow(self, pattern: str) -> None:
        self.allowed.append(re.compile(pattern))

    @property
    def unexpected(self) -> list[str]:
        return [error for error in self.errors if not any(p.search(error) for p in self.allowed)]

    def assert_clean(self) -> None:
        assert not self.unexpected, f"console errors in the pages: {self.unexpected}"


@pytest.fixture
def console(request) -> Iterator[ConsoleWatch]:
    """`console.watch(context)`; at the end of a test that passed, no console error may be left unexplained."""
    watch = ConsoleWatch()
    yield watch
    report = getattr(request.node, "report_call", None)
    if report is not None and report.passed:
        watch.assert_clean()


@pytest.fixture
def signed_in(new_context, log_in_as, console) -> Callable:
    """`signed_in(user)`: a page in a fresh browser context of its own, signed in as `user`, its console watched."""

    def open_page(user, **context_options):
        context = new_context(**context_options)
        console.watch(context)
        log_in_as(context, user)
        return context.new_page()

    return open_page


def mark_page(page) -> None:
    """Leave a marker in the page's JavaScript state: it survives htmx swaps and is gone after a page load."""
    page.evaluate("window.__notReloaded = true")


def assert_not_reloaded(page) -> None:
    assert page.evaluate("window.__notReloaded === true"), "the page was reloaded: the swap was not done by htmx"


def scroll_to(locator, block: str = "start") -> None:
    """Scroll so a screenshot frames `locator` (`block` as in Element.scrollIntoView: start, center, end, nearest)."""
    locator.evaluate("(element, block) => element.scrollIntoView({block})", block)


@pytest.fixture
def quiet_clicks(settings):
    """A referral link's click is counted in memory and dropped afterwards: no flusher thread outlives the test."""
    from referrals import clicks

    settings.CLICKS_LOCAL_FLUSH_SECONDS = 0
    clicks.local_counter.take()
    yield
    clicks.local_counter.take()


class Website:
    """A business's own website for embedding tests: pages published by path, served from a thread on the loopback
    name the live server does not use (another origin and another site: cookies go by host name, not port)."""

    def __init__(self, origin: str, pages: dict[str, bytes]) -> None:
        self.origin, self._pages = origin, pages

    def __call__(self, path: str, html: str) -> str:
        self._pages[path] = html.encode()
        return self.origin + path


@pytest.fixture
def website(live_server) -> Iterator[Website]:
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from urllib.parse import urlsplit

    pages: dict[str, bytes] = {}

    class Pages(BaseHTTPRequestHandler):
        def do_GET(self):
            body = pages.get(urlsplit(self.path).path)
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(body or b"not found")

        def log_message(self, format, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Pages)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host = "127.0.0.1" if urlsplit(live_server.url).hostname == "localhost" else "localhost"
    yield Website(f"http://{host}:{server.server_port}", pages)
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)
