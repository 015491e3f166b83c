"""A tiny Chrome DevTools Protocol client over ``--remote-debugging-pipe``.

A pipe instead of a debugging port: no TCP listener, no port races between
parallel test runs, and no websocket library. Chromium reads NUL-terminated
JSON commands on its fd 3 and writes replies and events on its fd 4. Every
read has a deadline, so a stuck browser fails the test with Chromium's own
stderr instead of hanging it.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import math
import os
import select
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
    # The browser itself still asks Google for the time and accounts despite the flags
    # above; resolve nothing, so a test run never reaches the network from the browser.
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--remote-debugging-pipe",
)
TIMEOUT_S = 30.0
A4_INCHES = (210 / 25.4, 297 / 25.4)
STDERR_TAIL = 4000


class CDPError(RuntimeError):
    """Chromium failed, went away, answered with an error or took too long."""


class Browser:
    """One headless Chromium and its pipe; use `launch` so it is always killed."""

    def __init__(
        self,
        proc: subprocess.Popen[bytes],
        to_chrome: int,
        from_chrome: int,
        stderr_path: Path,
        timeout: float,
    ) -> None:
        self.proc = proc
        self.timeout = timeout
        self._to = to_chrome
        self._from = from_chrome
        self._stderr_path = stderr_path
        self._buffer = b""
        self._next_id = 0
        self._replies: dict[int, dict[str, Any]] = {}
        self._events: list[dict[str, Any]] = []
        self._pages: dict[str, Page] = {}

    def send(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        session_id: str | None = None,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Send one command and return its ``result``; events that arrive meanwhile are kept."""
        self._next_id += 1
        msg_id = self._next_id
        message: dict[str, Any] = {"id": msg_id, "method": method, "params": params or {}}
        if session_id is not None:
            message["sessionId"] = session_id
        self._write(json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + (timeout or self.timeout)
        while msg_id not in self._replies:
            if not self._read_some(deadline):
                raise self._error(
                    f"timed out after {timeout or self.timeout:g} s "
                    f"waiting for the reply to {method}"
                )
        reply = self._replies.pop(msg_id)
        if "error" in reply:
            raise CDPError(f"{method} failed: {reply['error']}")
        return reply.get("result", {})

    def wait_for(
        self, method: str, session_id: str | None, timeout: float | None = None
    ) -> dict[str, Any]:
        """Return the params of the next queued or arriving event ``method`` for the session."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            for i, event in enumerate(self._events):
                if event["method"] == method and event.get("sessionId") == session_id:
                    del self._events[i]
                    return event.get("params", {})
            if not self._read_some(deadline):
                raise self._error(f"timed out waiting for event {method}")

    def pump(self, seconds: float) -> None:
        """Read events for ``seconds``, so late page activity is recorded too."""
        deadline = time.monotonic() + seconds
        while self._read_some(deadline):
            pass

    def forget_events(self, session_id: str) -> None:
        """Drop queued events of one tab, so a later wait cannot match an old event."""
        self._events = [e for e in self._events if e.get("sessionId") != session_id]

    def new_page(self, width: int = 1200, height: int = 900) -> Page:
        """Open a blank tab, attach to it (flat session) and enable Page and Network."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})
        page = Page(self, target, session["sessionId"], width, height)
        self._pages[page.session_id] = page
        page.send("Page.enable")
        page.send("Network.enable")
        page.send("Runtime.enable")
        page.resize(height)
        return page

    def close_page(self, page: Page) -> None:
        """Close a tab and stop recording its requests."""
        self.send("Target.closeTarget", {"targetId": page.target_id})
        self._pages.pop(page.session_id, None)
        self.forget_events(page.session_id)

    def stderr_tail(self) -> str:
        """The last lines Chromium wrote to stderr: the only clue when it dies or hangs."""
        try:
            return self._stderr_path.read_text(errors="replace")[-STDERR_TAIL:]
        except OSError:
            return "(no stderr)"

    def close(self) -> None:
        """Ask Chromium to quit, then kill whatever is left of its process group.

        Quitting first lets the browser reap its own renderer and GPU helpers; the
        kill makes sure nothing outlives the test even if Chromium is stuck.
        """
        if self.proc.poll() is None:
            with contextlib.suppress(CDPError, OSError):
                self.send("Browser.close", timeout=5)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=5)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)
        for fd in (self._to, self._from):
            with contextlib.suppress(OSError):
                os.close(fd)

    def _write(self, data: bytes) -> None:
        try:
            while data:
                data = data[os.write(self._to, data) :]
        except BrokenPipeError as exc:
            raise self._error(f"Chromium closed its pipe (exit code {self.proc.poll()})") from exc

    def _read_some(self, deadline: float) -> bool:
        """Read and dispatch what Chromium has written; False if nothing came by ``deadline``."""
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([self._from], [], [], remaining)[0]:
            return False
        chunk = os.read(self._from, 1 << 20)
        if not chunk:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=2)
            raise self._error(f"Chromium closed its pipe (exit code {self.proc.poll()})")
        self._buffer += chunk
        *messages, self._buffer = self._buffer.split(b"\0")
        for raw in messages:
            self._dispatch(json.loads(raw))
        return True

    def _dispatch(self, message: dict[str, Any]) -> None:
        if "id" in message:
            self._replies[message["id"]] = message
            return
        method = message.get("method")
        page = self._pages.get(message.get("sessionId", ""))
        if page is not None and method == "Network.requestWillBeSent":
            page.requests.append(message["params"]["request"]["url"])
        elif page is not None and method == "Runtime.exceptionThrown":
            details = message["params"]["exceptionDetails"]
            page.errors.append(
                details.get("exception", {}).get("description") or details.get("text", "?")
            )
        self._events.append(message)

    def _error(self, what: str) -> CDPError:
        return CDPError(f"{what}\n--- Chromium stderr (tail) ---\n{self.stderr_tail()}")


class Page:
    """One tab, addressed by its flat-session id.

    Since the last `navigate`, ``requests`` holds every URL the tab asked for and
    ``errors`` every uncaught JavaScript exception.
    """

    def __init__(
        self, browser: Browser, target_id: str, session_id: str, width: int, height: int
    ) -> None:
        self.browser = browser
        self.target_id = target_id
        self.session_id = session_id
        self.width = width
        self.height = height
        self.requests: list[str] = []
        self.errors: list[str] = []

    def send(
        self, method: str, params: dict[str, Any] | None = None, timeout: float | None = None
    ) -> dict[str, Any]:
        """Send a command to this tab."""
        return self.browser.send(method, params, self.session_id, timeout)

    def navigate(self, url: str, settle_s: float = 0.3) -> None:
        """Load ``url``, wait for its load event, then listen ``settle_s`` more for stragglers."""
        self.requests.clear()
        self.errors.clear()
        self.browser.forget_events(self.session_id)
        result = self.send("Page.navigate", {"url": url})
        if result.get("errorText"):
            raise CDPError(f"navigating to {url} failed: {result['errorText']}")
        self.browser.wait_for("Page.loadEventFired", self.session_id)
        self.browser.pump(settle_s)

    def evaluate(self, expression: str) -> Any:
        """Evaluate JavaScript in the page and return its JSON value."""
        result = self.send(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
        )
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            raise CDPError(f"JavaScript failed: {text}")
        return result["result"].get("value")

    def resize(self, height: int) -> None:
        """Set the viewport to the page width and ``height`` CSS pixels at scale 1."""
        self.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": self.width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )

    def screenshot(self, full_page: bool = True) -> bytes:
        """PNG bytes of the page; full page means the whole document, not just the viewport.

        For a full page the viewport is first made as tall as the document, so there is
        no scrollbar eating into the width and nothing below the fold is left out.
        """
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            height = self.height
            for _ in range(2):  # dropping the scrollbar widens the page, which can reflow it
                content = self.send("Page.getLayoutMetrics")["cssContentSize"]
                height = max(math.ceil(content["height"]), 1)
                self.resize(height)
            params |= {
                "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": self.width, "height": height, "scale": 1},
            }
        try:
            data = self.send("Page.captureScreenshot", params, timeout=60)["data"]
        finally:
            if full_page:
                self.resize(self.height)
        return base64.b64decode(data)

    def print_pdf(self) -> bytes:
        """The page printed to PDF as Chromium's print dialog would: A4 paper, the page's own
        ``@page`` size and margins when it sets them, backgrounds drawn."""
        params = {
            "paperWidth": A4_INCHES[0],
            "paperHeight": A4_INCHES[1],
            "preferCSSPageSize": True,
            "printBackground": True,
        }
        return base64.b64decode(self.send("Page.printToPDF", params, timeout=120)["data"])

    def close(self) -> None:
        """Close the tab."""
        self.browser.close_page(self)


def _high_fd(fd: int) -> int:
    """Move a pipe end to fd >= 10 so that dup2 onto 3 and 4 in the child cannot clobber it."""
    high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return high


@contextlib.contextmanager
def launch(
    executable: str, *, timeout: float = TIMEOUT_S, extra_flags: tuple[str, ...] = ()
) -> Iterator[Browser]:
    """Start headless Chromium with a fresh profile; always kill it and remove the profile."""
    with tempfile.TemporaryDirectory(prefix="klynge-chromium-", ignore_cleanup_errors=True) as tmp:
        profile = Path(tmp) / "profile"
        stderr_path = Path(tmp) / "stderr.log"
        child_in, to_chrome = (_high_fd(fd) for fd in os.pipe())
        from_chrome, child_out = (_high_fd(fd) for fd in os.pipe())

        def wire_pipe() -> None:  # runs in the child between fork and exec
            os.dup2(child_in, 3)
            os.dup2(child_out, 4)

        args = [executable, *FLAGS, f"--user-data-dir={profile}", *extra_flags, "about:blank"]
        try:
            with stderr_path.open("wb") as stderr:
                proc = subprocess.Popen(
                    args,
                    stdin=subprocess.DEVNULL,
                    stdout=stderr,
                    stderr=stderr,
                    pass_fds=(3, 4),
                    preexec_fn=wire_pipe,
                    start_new_session=True,
                )
        except OSError:
            for fd in (to_chrome, from_chrome):
                os.close(fd)
            raise
        finally:
            os.close(child_in)
            os.close(child_out)
        browser = Browser(proc, to_chrome, from_chrome, stderr_path, timeout)
        try:
            browser.send("Browser.getVersion")
            yield browser
        finally:
            browser.close()
