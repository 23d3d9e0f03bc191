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
                page.screenshot(path=path)
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
        page.screenshot(path=path)
        if docs:
            DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, DOCS_SCREENSHOTS / docs)
        return path

    return take


def screenshot_dir(node) -> Path:
    return ARTIFACTS / re.sub(r"[^A-Za-z0-9_.-]+", "-", node.name)


@pytest.fixture
def site_url(settings, live_server):
    """E-mailed links are built from SITE_URL; point them at the live server."""
    settings.SITE_URL = live_server.url
    return live_server.url
