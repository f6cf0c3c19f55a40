"""Real headless Chromium driven over the DevTools protocol, with the standard library only.

Chromium's ``--remote-debugging-pipe`` reads protocol messages on file descriptor 3 and writes
its answers on 4, each a JSON text ended by a NUL byte: no websocket client is needed. A test
opens a page, waits for it to load and evaluates an expression in it, from outside: the page
under test stays exactly as written (DevTools evaluation is not subject to the page's CSP, and
adds no script to it).
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.conftest import require_tool

_TIMEOUT_S = 60.0
#: How the suite runs Chromium: headless, and quiet (no network of its own, no first-run work).
HEADLESS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


class DevToolsError(RuntimeError):
    pass


class Browser:
    """One headless Chromium; :meth:`open` loads a page in a new tab and returns its session."""

    def __init__(self, *, width: int = 1400, height: int = 1000) -> None:
        binary = require_tool("chromium")
        self._profile = tempfile.TemporaryDirectory()
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        def give_pipes() -> None:  # in the child: fd 3 = its commands, fd 4 = its answers
            commands, answers = os.dup(to_browser_r), os.dup(from_browser_w)
            os.dup2(commands, 3)
            os.dup2(answers, 4)

        self._process = subprocess.Popen(
            [
                binary,
                *HEADLESS,
                "--remote-debugging-pipe",
                f"--window-size={width},{height}",
                f"--user-data-dir={self._profile.name}",
                "about:blank",
            ],
            preexec_fn=give_pipes,  # only dup2 calls, before exec
            close_fds=False,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._ids = 0
        self._events: list[dict[str, Any]] = []

    def send(self, method: str, params: dict[str, Any] | None = None, *, session: str | None = None) -> Any:
        """Send one command and return its result (raises :class:`DevToolsError` for a protocol error)."""
        self._ids += 1
        message: dict[str, Any] = {"id": self._ids, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        answer = self._receive(lambda m: m.get("id") == self._ids)
        if "error" in answer:
            raise DevToolsError(f"{method}: {answer['error']}")
        return answer.get("result", {})

    def wait_for_event(self, method: str, session: str) -> dict[str, Any]:
        for i, event in enumerate(self._events):
            if event.get("method") == method and event.get("sessionId") == session:
                return self._events.pop(i)
        return self._receive(lambda m: m.get("method") == method and m.get("sessionId") == session)

    def _receive(self, wanted: Any) -> dict[str, Any]:
        deadline = time.monotonic() + _TIMEOUT_S
        while True:
            while b"\0" in self._buffer:
                raw, self._buffer = self._buffer.split(b"\0", 1)
                message = json.loads(raw)
                if wanted(message):
                    return message  # type: ignore[no-any-return]
                if "method" in message:
                    self._events.append(message)
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([self._from_browser], [], [], remaining)[0]:
                raise DevToolsError("Chromium did not answer in time")
            chunk = os.read(self._from_browser, 1 << 16)
            if not chunk:
                raise DevToolsError("Chromium closed the DevTools pipe")
            self._buffer += chunk

    def open(self, url: str) -> Page:
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self.send("Page.enable", session=session)
        self.send("Page.navigate", {"url": url}, session=session)
        self.wait_for_event("Page.loadEventFired", session)
        return Page(self, session)

    def close(self) -> None:
        try:
            self.send("Browser.close")
        except (DevToolsError, OSError):
            pass
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        os.close(self._to_browser)
        os.close(self._from_browser)
        self._profile.cleanup()


class Page:
    def __init__(self, browser: Browser, session: str) -> None:
        self._browser = browser
        self._session = session

    def evaluate(self, expression: str) -> Any:
        """The JSON value of ``expression`` evaluated in the page."""
        result = self._browser.send(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=self._session
        )
        if "exceptionDetails" in result:
            raise DevToolsError(str(result["exceptionDetails"]))
        return result["result"].get("value")


@contextmanager
def chromium(*, width: int = 1400, height: int = 1000) -> Iterator[Browser]:
    browser = Browser(width=width, height=height)
    try:
        yield browser
    finally:
        browser.close()
