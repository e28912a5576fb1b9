"""Real Chromium for the browser journeys: Debian's /usr/bin/chromium driven by Playwright.

Never `playwright install` (downloads are blocked here): scripts/setup.sh installs Debian's
chromium and these helpers launch it by path. Each actor (shopper, admin, staff) gets its own
browser context, so cookies, storage and sockets are as separate as three people's browsers.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Frame, Page, WebSocket, expect, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Each window (a Playwright context) otherwise preloads the address bar's two WebUI popups, each in
    # a renderer process of its own that no headless test ever shows: about a quarter of Chromium's CPU
    # in the suite (docs/decisions/0010-test-suite-speed.md). The pages themselves are unaffected.
    "--disable-features=WebUIOmniboxPopup,WebUIOmniboxAimPopup",
]
VIEWPORT = {"width": 1280, "height": 800}
SCREENSHOTS = ROOT / "docs" / "screenshots"
FAILURES = SCREENSHOTS / "failures"  # git-ignored
# What went wrong inside the pages during the current journey: uncaught JavaScript errors and
# server errors (5xx) on any request of any context made by new_context.
PAGE_PROBLEMS: list[str] = []
# Set on window: it survives only while a page updates itself (live.js) without a navigation.
NO_RELOAD_MARKER = "__e2eNoReload"


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, driven by Playwright (never `playwright install`), closed on exit."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def new_context(browser: Browser, base_url: str, storage_state: dict | None = None) -> BrowserContext:
    """A fresh browser profile that speaks English, at the README's size: no cookies or storage but
    ``storage_state``'s (a logged-in user's cookies)."""
    context = browser.new_context(
        base_url=base_url,
        viewport=VIEWPORT,
        locale="en-US",
        timezone_id="Europe/Madrid",
        storage_state=storage_state,
    )
    context.on("weberror", lambda error: PAGE_PROBLEMS.append(f"JavaScript error: {error.error}"))
    context.on(
        "response",
        lambda response: response.status >= 500 and PAGE_PROBLEMS.append(f"{response.status} from {response.url}"),
    )
    context.set_default_timeout(10_000)
    return context


@dataclass
class Journey:
    """What one journey measured, printed when it ends."""

    name: str
    started: float = field(default_factory=time.monotonic)
    marks: dict[str, float] = field(default_factory=dict)

    def mark(self, label: str, seconds: float) -> None:
        self.marks[label] = seconds

    def summary(self) -> str:
        extra = "".join(f", {label} {seconds:.2f} s" for label, seconds in self.marks.items())
        return f"[e2e] {self.name}: {time.monotonic() - self.started:.1f} s{extra}"


@contextmanager
def journey(name: str, browser: Browser, capsys: pytest.CaptureFixture[str]) -> Iterator[Journey]:
    """Time a journey and print it; on failure, screenshot every open page and name the files.

    A journey also fails when a page threw a JavaScript error or got a 5xx, even if it looked fine.
    """
    measured = Journey(name)
    PAGE_PROBLEMS.clear()
    try:
        yield measured
        assert not PAGE_PROBLEMS, "\n".join(PAGE_PROBLEMS)
    except BaseException as error:
        shots = failure_screenshots(browser, name)
        error.add_note("screenshots of every open page: " + (", ".join(map(str, shots)) or "none could be taken"))
        raise
    finally:
        with capsys.disabled():
            print("\n" + measured.summary(), flush=True)


def failure_screenshots(browser: Browser, name: str) -> list[Path]:
    """Full-page PNGs of every page of every context, under docs/screenshots/failures/."""
    FAILURES.mkdir(parents=True, exist_ok=True)
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    paths: list[Path] = []
    for context_index, context in enumerate(browser.contexts):
        for page_index, page in enumerate(context.pages):
            path = FAILURES / f"{slug}-{context_index}-{page_index}.png"
            try:
                page.screenshot(path=path, full_page=True, timeout=5_000)
            except Exception:  # noqa: BLE001, S112 - a crashed page must not hide the real failure
                continue
            paths.append(path)
    return paths


# --- what people do ------------------------------------------------------------------------


def site_login(page: Page, email: str, password: str) -> None:
    """Log in on the shop's own login page."""
    page.goto("/account/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.locator("main").get_by_role("button", name="Log in").click()
    expect(page.locator(".site-nav").get_by_role("button", name="Log out")).to_be_visible()


def admin_login(page: Page, email: str, password: str) -> None:
    """Log in through Django admin's login form."""
    page.goto("/admin/login/?next=/admin/")
    page.locator("#id_username").fill(email)
    page.locator("#id_password").fill(password)
    page.locator("#login-form [type=submit]").click()
    expect(page.locator("#site-name")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/admin/$"))


@dataclass
class WatchedSocket:
    url: str
    frames: list[dict] = field(default_factory=list)
    closed_at: float | None = None  # when the server or the page closed it, the page still open
    page_left: bool = False  # the page that opened it was left (Playwright reports no close then)


class SocketWatch:
    """Every WebSocket one page opens, the JSON frames it receives, and when it closes.

    Listeners are attached as each socket opens, so no frame is missed between opening and
    waiting (Playwright delivers events only while the test calls into it).
    """

    def __init__(self, page: Page) -> None:
        self.page = page
        self.sockets: list[WatchedSocket] = []
        page.on("websocket", self._opened)
        page.on("framenavigated", self._navigated)

    def _opened(self, socket: WebSocket) -> None:
        watched = WatchedSocket(socket.url)
        self.sockets.append(watched)
        socket.on("framereceived", lambda payload: watched.frames.append(json.loads(payload)))
        socket.on("close", lambda _socket: setattr(watched, "closed_at", time.monotonic()))

    def _navigated(self, frame: Frame) -> None:
        if frame == self.page.main_frame:
            for watched in self.sockets:
                watched.page_left = True

    def wait_until(self, condition: Callable[[], object], what: str, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"waited {timeout:.0f} s for {what}; sockets: {self.sockets}")
            self.page.wait_for_timeout(20)  # lets Playwright deliver the events

    def answered(self, socket_path: str) -> WatchedSocket:
        """The open socket on ``socket_path`` once the server has answered on it (the page is live)."""

        def found() -> WatchedSocket | None:
            live = (
                s
                for s in self.sockets
                if s.url.endswith(socket_path) and s.frames and s.closed_at is None and not s.page_left
            )
            return next(live, None)

        self.wait_until(found, f"the server's first answer on {socket_path}")
        return found()  # type: ignore[return-value]

    def open(self, url: str, socket_path: str) -> WatchedSocket:
        """Go to a live page and return its socket once the server has answered the page's resync."""
        self.page.goto(url)
        return self.answered(socket_path)


def note_when_text(page: Page, selector: str, text: str) -> None:
    """From now on, the page notes the wall-clock time (ms) at which ``selector`` first reads ``text``.

    Measured in the page (a MutationObserver), not by polling from here, so the figure is when
    the shopper could see it; all contexts share one machine's clock with ``time.time()``.
    """
    page.evaluate(
        """([selector, text]) => {
          const seen = (window.__e2eSeen = window.__e2eSeen || {});
          const key = selector + "\\n" + text;
          const check = () => {
            const node = document.querySelector(selector);
            if (!seen[key] && node && node.textContent.trim() === text) seen[key] = Date.now();
          };
          new MutationObserver(check).observe(document.body, {subtree: true, childList: true, characterData: true});
          check();
        }""",
        [selector, text],
    )


def seconds_until_text(page: Page, selector: str, text: str, since: float) -> float:
    """Seconds from ``since`` (``time.time()``) until the page first showed ``text`` (see note_when_text)."""
    seen = page.evaluate("key => (window.__e2eSeen || {})[key] || null", f"{selector}\n{text}")
    assert seen is not None, f"{selector} never read {text!r}"
    return seen / 1000 - since


def mark_no_reload(page: Page) -> None:
    """Set a marker on ``window``; it only survives while the page is never reloaded or left."""
    page.evaluate(f"window.{NO_RELOAD_MARKER} = true")


def assert_not_reloaded(page: Page) -> None:
    assert page.evaluate(f"window.{NO_RELOAD_MARKER} === true"), "the page was reloaded or left"
