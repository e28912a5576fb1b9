"""Headless Chromium driven over the DevTools protocol (CDP), with the `websockets` client the
project already has: enough to load pages, set a session cookie, run JavaScript and see every
Content-Security-Policy violation and uncaught error a page causes.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

from websockets.sync.client import ClientConnection, connect

# Debian's package; GitHub's Ubuntu runners have Google Chrome.
CHROMIUM = next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), "chromium")

# Runs before any script of every page (CDP-injected code is not subject to the page's CSP).
# Records CSP violations, and counts WebSocket messages so tests can wait for live.js.
WATCH_PAGE = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", function (event) {
  window.__violations.push(event.violatedDirective + " blocked " + (event.blockedURI || "inline") +
    " at " + event.sourceFile + ":" + event.lineNumber);
});
window.__socketMessages = 0;
(function () {
  var Native = window.WebSocket;
  function Watched(url, protocols) {
    var socket = protocols === undefined ? new Native(url) : new Native(url, protocols);
    socket.addEventListener("message", function () { window.__socketMessages += 1; });
    return socket;
  }
  Watched.prototype = Native.prototype;
  ["CONNECTING", "OPEN", "CLOSING", "CLOSED"].forEach(function (name) { Watched[name] = Native[name]; });
  window.WebSocket = Watched;
})();
"""


class Browser:
    """One CDP connection to the browser; pages are sessions on it (flat mode)."""

    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket
        self.last_id = 0
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, params: dict[str, Any] | None = None, *, session: str | None = None) -> Any:
        """Send a command and wait for its answer, keeping the events that arrive meanwhile."""
        self.last_id += 1
        message: dict[str, Any] = {"id": self.last_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self.socket.send(json.dumps(message))
        while True:
            reply = json.loads(self.socket.recv(timeout=30))
            if reply.get("id") != self.last_id:
                self.events.append(reply)
            elif "error" in reply:
                raise RuntimeError(f"{method}: {reply['error']}")
            else:
                return reply.get("result", {})

    def wait_event(self, method: str, *, session: str, timeout: float = 30) -> dict[str, Any]:
        """The first unconsumed event ``method`` of ``session`` (waiting for it if needed)."""
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events:
                if event.get("method") == method and event.get("sessionId") == session:
                    self.events.remove(event)
                    return event
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no {method} within {timeout} s")
            self.events.append(json.loads(self.socket.recv(timeout=remaining)))

    def new_page(self) -> Page:
        """A tab in a browser context of its own: its own cookies, like a separate browser."""
        context = self.call("Target.createBrowserContext")["browserContextId"]
        target = self.call("Target.createTarget", {"url": "about:blank", "browserContextId": context})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, session, context)
        page.call("Page.enable")
        page.call("Runtime.enable")
        page.call("Page.addScriptToEvaluateOnNewDocument", {"source": WATCH_PAGE})
        return page


class Page:
    def __init__(self, browser: Browser, session: str, context: str) -> None:
        self.browser = browser
        self.session = session
        self.context = context

    def close(self) -> None:
        """Close the tab and its context (and so its sockets)."""
        self.browser.call("Target.disposeBrowserContext", {"browserContextId": self.context})

    def call(self, method: str, params: dict[str, Any] | None = None) -> Any:
        return self.browser.call(method, params, session=self.session)

    def set_cookie(self, url: str, name: str, value: str) -> None:
        self.call("Network.setCookie", {"url": url, "name": name, "value": value})

    def goto(self, url: str) -> None:
        """Navigate and wait for the load event."""
        self.errors()  # forget the previous page's
        self.browser.events = [event for event in self.browser.events if event.get("sessionId") != self.session]
        answer = self.call("Page.navigate", {"url": url})
        assert "errorText" not in answer, answer
        self.browser.wait_event("Page.loadEventFired", session=self.session)

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in result:
            raise RuntimeError(result["exceptionDetails"])
        return result["result"].get("value")

    def wait_until(self, expression: str, *, timeout: float = 15, what: str = "") -> None:
        """Poll until the JavaScript ``expression`` is truthy."""
        deadline = time.monotonic() + timeout
        while not self.evaluate(f"!!({expression})"):
            if time.monotonic() > deadline:
                raise TimeoutError(what or expression)
            time.sleep(0.1)

    def violations(self) -> list[str]:
        return self.evaluate("window.__violations || []")

    def errors(self) -> list[str]:
        """Uncaught exceptions since the last call."""
        found = [
            event["params"]["exceptionDetails"].get("exception", {}).get("description", str(event["params"]))
            for event in self.browser.events
            if event.get("method") == "Runtime.exceptionThrown" and event.get("sessionId") == self.session
        ]
        self.browser.events = [
            event
            for event in self.browser.events
            if not (event.get("method") == "Runtime.exceptionThrown" and event.get("sessionId") == self.session)
        ]
        return found


def _drain(stream: IO[str]) -> None:
    for _ in stream:
        pass


@contextmanager
def chromium() -> Iterator[Browser]:
    """Start headless Chromium on a free DevTools port; stop it (and only it) afterwards."""
    profile = tempfile.mkdtemp(prefix="tienda-chromium-")
    process = subprocess.Popen(
        [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--no-first-run", "--remote-debugging-port=0", f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stderr is not None
        deadline = time.monotonic() + 60
        endpoint = ""
        while not endpoint:
            line = process.stderr.readline()
            if not line and process.poll() is not None:
                raise RuntimeError(f"chromium exited with {process.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError("chromium did not open its DevTools port within 60 s")
            if "DevTools listening on " in line:
                endpoint = line.split("DevTools listening on ", 1)[1].strip()
        # Chromium keeps logging to stderr: drain it so it never blocks on a full pipe.
        threading.Thread(target=_drain, args=(process.stderr,), daemon=True).start()
        with connect(endpoint, max_size=None, open_timeout=30) as socket:
            yield Browser(socket)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        shutil.rmtree(profile, ignore_errors=True)
