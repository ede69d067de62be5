"""A small Chrome DevTools Protocol client: headless Chromium driven like a person would use it.

Only what the page tests need: open a tab with a given viewport and language, navigate, read the
DOM as rendered (``Runtime.evaluate`` runs in the test's client, the pages themselves have no
script), tap an element at its on-screen position, type, press keys, take screenshots.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--remote-debugging-port=0",
]
KEYS = {
    "Tab": ("Tab", 9),
    "Enter": ("Enter", 13),
    "0": ("Digit0", 48),
    "1": ("Digit1", 49),
    "2": ("Digit2", 50),
    "3": ("Digit3", 51),
}
ALT = 1


def executable() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


class BrowserError(RuntimeError):
    pass


class Browser:
    """One headless Chromium process with a fresh profile."""

    def __init__(self, binary: str) -> None:
        self.profile = tempfile.TemporaryDirectory(
            prefix="regie-chromium-", ignore_cleanup_errors=True
        )
        self.process = subprocess.Popen(  # noqa: S603 - a fixed binary and flags
            [binary, *FLAGS, f"--user-data-dir={self.profile.name}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # its own process group, ended whole by close()
        )
        url = self._devtools_url()
        self._closing = contextlib.ExitStack()
        self.socket: ClientConnection = self._closing.enter_context(
            connect(url, max_size=None, open_timeout=20)
        )
        self._next_id = 0
        self.events: list[dict[str, Any]] = []

    def _devtools_url(self) -> str:
        assert self.process.stderr is not None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = self.process.stderr.readline()
            if not line and self.process.poll() is not None:
                break
            match = re.search(r"DevTools listening on (ws://\S+)", line)
            if match:
                return match.group(1)
        self.close()
        raise BrowserError("Chromium did not start its DevTools endpoint")

    def send(
        self, method: str, params: dict[str, Any] | None = None, session: str | None = None
    ) -> Any:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self.socket.send(json.dumps(message))
        while True:
            reply = json.loads(self.socket.recv(timeout=30))
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, session: str, timeout: float = 20) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            for index, event in enumerate(self.events):
                if event.get("method") == method and event.get("sessionId") == session:
                    del self.events[: index + 1]
                    return event
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BrowserError(f"timed out waiting for {method}")
            self.events.append(json.loads(self.socket.recv(timeout=remaining)))

    def tab(self, width: int, height: int, language: str = "fr-FR", touch: bool = False) -> Tab:
        # Each tab in a context of its own: its own cookies, like another phone.
        context = self.send("Target.createBrowserContext", {"disposeOnDetach": True})
        target = self.send(
            "Target.createTarget",
            {"url": "about:blank", "browserContextId": context["browserContextId"]},
        )["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        return Tab(self, session, width, height, language, touch)

    def close(self) -> None:
        try:
            if hasattr(self, "_closing"):
                self._closing.close()
        finally:
            # Chromium's helpers (renderer, zygote, crash handler) share the process group.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
            time.sleep(0.2)
            self.profile.cleanup()


class Tab:
    def __init__(
        self, browser: Browser, session: str, width: int, height: int, language: str, touch: bool
    ) -> None:
        self.browser = browser
        self.session = session
        self.width, self.height = width, height
        self.send("Page.enable")
        self.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": True},
        )
        self.send("Emulation.setTouchEmulationEnabled", {"enabled": touch})
        user_agent = "Mozilla/5.0 (Mobile; rv:84.0) Gecko/84.0 Firefox/84.0 KAIOS/3.0"
        self.send(
            "Emulation.setUserAgentOverride",
            {"userAgent": user_agent, "acceptLanguage": language},
        )

    def send(self, method: str, params: dict[str, Any] | None = None) -> Any:
        return self.browser.send(method, params, self.session)

    def _clear_events(self) -> None:
        self.browser.events = [e for e in self.browser.events if e.get("sessionId") != self.session]

    def open(self, url: str) -> None:
        self._clear_events()
        self.send("Page.navigate", {"url": url})
        self.browser.wait_for("Page.loadEventFired", self.session)

    def js(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    @property
    def url(self) -> str:
        return str(self.js("location.href"))

    @property
    def text(self) -> str:
        """What the page shows, as the browser lays it out (hidden elements excluded)."""
        return str(self.js("document.body.innerText"))

    def box(self, selector: str) -> dict[str, float]:
        box = self.js(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
            " if (!e) return null; const r = e.getBoundingClientRect();"
            " return {x: r.x, y: r.y, width: r.width, height: r.height,"
            " bottom: r.bottom, right: r.right}; })()"
        )
        if box is None:
            raise BrowserError(f"no element {selector}")
        return dict(box)

    def tap(self, selector: str, navigates: bool = True) -> None:
        """Scroll the element into view and press at its centre, like a finger or a D-pad click."""
        self.js(
            f"document.querySelector({json.dumps(selector)}).scrollIntoView({{block: 'center'}})"
        )
        box = self.box(selector)
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        self._clear_events()
        for kind in ("mousePressed", "mouseReleased"):
            self.send(
                "Input.dispatchMouseEvent",
                {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1},
            )
        if navigates:
            self.browser.wait_for("Page.loadEventFired", self.session)

    def type(self, selector: str, text: str) -> None:
        self.js(f"document.querySelector({json.dumps(selector)}).focus()")
        self.send("Input.insertText", {"text": text})

    def press(self, key: str, modifiers: int = 0, navigates: bool = False) -> None:
        code, key_code = KEYS[key]
        self._clear_events()
        for kind in ("keyDown", "keyUp"):
            params: dict[str, Any] = {
                "type": kind,
                "key": key,
                "code": code,
                "windowsVirtualKeyCode": key_code,
                "modifiers": modifiers,
            }
            if kind == "keyDown" and key == "Enter":
                params["text"] = "\r"
            elif kind == "keyDown" and len(key) == 1:
                # The character event is what activates an access key (Alt+key on Linux).
                params["text"] = params["unmodifiedText"] = key
            self.send("Input.dispatchKeyEvent", params)
        if navigates:
            self.browser.wait_for("Page.loadEventFired", self.session)

    def focused(self) -> str:
        """The focused element, as ``tag#id`` or ``tag[name]`` or its text."""
        return str(
            self.js(
                "(() => { const e = document.activeElement;"
                " return e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')"
                " + (e.name ? '[' + e.name + ']' : '') + ':' + (e.innerText || '').trim(); })()"
            )
        )

    def screenshot(self, path: Path, full_page: bool = False) -> None:
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            params["captureBeyondViewport"] = True
        data = self.send("Page.captureScreenshot", params)["data"]
        path.write_bytes(base64.b64decode(data))
