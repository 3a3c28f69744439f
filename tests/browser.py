"""A small headless-Chromium driver over the DevTools protocol (websockets), for the site's browser tests.

One browser per test session; each page opens in a fresh tab that records console messages, uncaught
exceptions, log entries (CSP violations land there) and every request the page makes. Waiting is done by the
page itself (a promise that resolves when every chart div holds plotly's SVG), bounded by a timeout — no
sleeps.
"""

from __future__ import annotations

import base64
import itertools
import json
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--mute-audio",
    "--hide-scrollbars",
    # Any request that tries to leave the machine goes to a closed port and fails.
    "--proxy-server=127.0.0.1:9",
    "--remote-debugging-port=0",
]

# Resolves when every chart has its SVG (or after `limit` ms); reports what the page looks like.
WAIT_FOR_CHARTS = """
new Promise(function (resolve) {
  var limit = %d, started = Date.now();
  function report() {
    var charts = Array.prototype.slice.call(document.querySelectorAll("div.chart"));
    var drawn = charts.filter(function (d) { return d.querySelector("svg.main-svg") !== null; });
    return {charts: charts.map(function (d) { return d.id; }),
            drawn: drawn.map(function (d) { return d.id; }),
            title: document.title,
            text: document.body ? document.body.innerText : "",
            scripts: Array.prototype.map.call(document.scripts, function (s) { return s.src || ""; }),
            links: Array.prototype.map.call(document.querySelectorAll("a[href]"), function (a) {
              return a.getAttribute("href"); }),
            svgText: Array.prototype.map.call(document.querySelectorAll("svg text"), function (t) {
              return t.textContent; }).join("\\n"),
            readyState: document.readyState};
  }
  function poll() {
    var r = report();
    if ((r.readyState === "complete" && r.drawn.length === r.charts.length) || Date.now() - started > limit) {
      resolve(r);
    } else { requestAnimationFrame(poll); }
  }
  poll();
})
"""


def _drain(stream: Any) -> None:
    for _ in iter(stream.readline, b""):
        pass


class BrowserMissing(RuntimeError):
    pass


@dataclass
class PageResult:
    url: str
    charts: list[str]
    drawn: list[str]
    title: str
    text: str
    svg_text: str
    links: list[str]
    console_errors: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    log_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        return self.console_errors + self.exceptions + self.log_errors + self.failed_requests + self.dialogs


class Chromium:
    """Start with `Chromium.start()`, open pages with `.load(url)`, end with `.close()`."""

    def __init__(self, process: subprocess.Popen[bytes], profile: Path, ws: ClientConnection) -> None:
        self._process = process
        self._profile = profile
        self._ws = ws
        self._ids = itertools.count(1)
        self._events: list[dict[str, Any]] = []

    @classmethod
    def start(cls, timeout: float = 60.0) -> Chromium:
        if not Path(CHROMIUM).exists():
            raise BrowserMissing(
                f"{CHROMIUM} not found: the browser tests need Debian's chromium "
                "(`apt-get install chromium`; `make test` installs it on CI)"
            )
        profile = Path(tempfile.mkdtemp(prefix="calibra-chromium-"))
        process = subprocess.Popen(
            [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        # Chromium prints its DevTools address on stderr once it listens; read it, then keep draining.
        assert process.stderr is not None
        address = ""
        for line in iter(process.stderr.readline, b""):
            text = line.decode("utf-8", "replace")
            if "DevTools listening on" in text:
                address = text.split("DevTools listening on", 1)[1].strip()
                break
        if not address:
            process.kill()
            raise BrowserMissing("chromium exited before its DevTools endpoint came up")
        threading.Thread(target=_drain, args=(process.stderr,), daemon=True).start()
        ws = connect(address, max_size=None, open_timeout=timeout)
        return cls(process, profile, ws)

    # ---------------------------------------------------------------------------------------------- protocol
    def _send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> dict:
        ident = next(self._ids)
        message: dict[str, Any] = {"id": ident, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self._ws.send(json.dumps(message))
        while True:
            reply = json.loads(self._ws.recv(timeout=120))
            if reply.get("id") == ident:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self._events.append(reply)

    def _wait_for(self, method: str, session: str) -> None:
        """Read messages until the event `method` of this tab arrives (keeping the others)."""
        for event in self._events:
            if event.get("method") == method and event.get("sessionId") == session:
                return
        while True:
            message = json.loads(self._ws.recv(timeout=120))
            self._events.append(message)
            if message.get("method") == method and message.get("sessionId") == session:
                return

    def _drain_events(self) -> list[dict[str, Any]]:
        events, self._events = self._events, []
        return events

    def load(self, url: str, wait_ms: int = 20000, width: int = 1280, height: int = 900) -> PageResult:
        target = self._send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self._send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        try:
            for domain in ("Runtime", "Log", "Network", "Page"):
                self._send(f"{domain}.enable", session=session)
            self._send(
                "Emulation.setDeviceMetricsOverride",
                {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
                session=session,
            )
            self._drain_events()
            self._send("Page.navigate", {"url": url}, session=session)
            self._wait_for("Page.loadEventFired", session)
            result = self._send(
                "Runtime.evaluate",
                {"expression": WAIT_FOR_CHARTS % wait_ms, "awaitPromise": True, "returnByValue": True},
                session=session,
            )
            value = result.get("result", {}).get("value") or {}
            # One more round trip so late events of this page are in the buffer.
            self._send("Runtime.evaluate", {"expression": "1"}, session=session)
            page = PageResult(
                url=url,
                charts=value.get("charts", []),
                drawn=value.get("drawn", []),
                title=value.get("title", ""),
                text=value.get("text", ""),
                svg_text=value.get("svgText", ""),
                links=value.get("links", []),
            )
            for event in self._drain_events():
                if event.get("sessionId") != session:
                    continue
                method, params = event.get("method"), event.get("params", {})
                if method == "Runtime.consoleAPICalled" and params.get("type") in (
                    "error",
                    "assert",
                    "warning",
                ):
                    page.console_errors.append(
                        " ".join(
                            str(a.get("value", a.get("description", ""))) for a in params.get("args", [])
                        )
                    )
                elif method == "Runtime.exceptionThrown":
                    details = params.get("exceptionDetails", {})
                    page.exceptions.append(
                        str(details.get("exception", {}).get("description") or details.get("text"))
                    )
                elif method == "Log.entryAdded" and params.get("entry", {}).get("level") in (
                    "error",
                    "warning",
                ):
                    page.log_errors.append(params["entry"].get("text", ""))
                elif method == "Network.requestWillBeSent":
                    page.requests.append(params.get("request", {}).get("url", ""))
                elif method == "Network.loadingFailed":
                    page.failed_requests.append(f"failed: {params.get('errorText')}")
                elif method == "Page.javascriptDialogOpening":
                    page.dialogs.append(f"dialog: {params.get('message')}")
            return page
        finally:
            self._send("Target.closeTarget", {"targetId": target})

    def screenshot(
        self, url: str, out: Path, width: int = 1280, height: int = 900, full_page: bool = True
    ) -> None:
        target = self._send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self._send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        try:
            self._send("Page.enable", session=session)
            self._send(
                "Emulation.setDeviceMetricsOverride",
                {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
                session=session,
            )
            self._send("Page.navigate", {"url": url}, session=session)
            self._wait_for("Page.loadEventFired", session)
            self._send(
                "Runtime.evaluate",
                {"expression": WAIT_FOR_CHARTS % 20000, "awaitPromise": True, "returnByValue": True},
                session=session,
            )
            shot = self._send(
                "Page.captureScreenshot",
                {"format": "png", "captureBeyondViewport": full_page},
                session=session,
            )
            out.write_bytes(base64.b64decode(shot["data"]))
        finally:
            self._send("Target.closeTarget", {"targetId": target})
            self._drain_events()

    def pdf(self, url: str) -> bytes:
        """The page printed to PDF on A4 (prints with the print stylesheet)."""
        target = self._send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self._send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        try:
            self._send("Page.enable", session=session)
            self._send("Page.navigate", {"url": url}, session=session)
            self._wait_for("Page.loadEventFired", session)
            self._send(
                "Runtime.evaluate",
                {"expression": WAIT_FOR_CHARTS % 20000, "awaitPromise": True, "returnByValue": True},
                session=session,
            )
            printed = self._send(
                "Page.printToPDF",
                {
                    "paperWidth": 8.27,
                    "paperHeight": 11.69,
                    "printBackground": True,
                    "preferCSSPageSize": True,
                },
                session=session,
            )
            return base64.b64decode(printed["data"])
        finally:
            self._send("Target.closeTarget", {"targetId": target})
            self._drain_events()

    def evaluate(self, url: str, expression: str) -> Any:
        """Load `url`, wait for its charts, then return the value of `expression` in the page."""
        target = self._send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self._send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        try:
            self._send("Page.enable", session=session)
            self._send("Page.navigate", {"url": url}, session=session)
            self._wait_for("Page.loadEventFired", session)
            self._send(
                "Runtime.evaluate",
                {"expression": WAIT_FOR_CHARTS % 20000, "awaitPromise": True, "returnByValue": True},
                session=session,
            )
            result = self._send(
                "Runtime.evaluate",
                {"expression": expression, "returnByValue": True, "awaitPromise": True},
                session=session,
            )
            return result.get("result", {}).get("value")
        finally:
            self._send("Target.closeTarget", {"targetId": target})
            self._drain_events()

    def print_layout(self, url: str) -> dict[str, Any]:
        """Load `url`, switch to print media and fire `beforeprint` (what printing does), then report whether
        the menus are hidden and how wide the widest chart is, in CSS pixels."""
        target = self._send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self._send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        try:
            self._send("Page.enable", session=session)
            self._send("Page.navigate", {"url": url}, session=session)
            self._wait_for("Page.loadEventFired", session)
            self._send(
                "Runtime.evaluate",
                {"expression": WAIT_FOR_CHARTS % 20000, "awaitPromise": True, "returnByValue": True},
                session=session,
            )
            self._send("Emulation.setEmulatedMedia", {"media": "print"}, session=session)
            expression = """
            (function () {
              window.dispatchEvent(new Event("beforeprint"));
              var widths = Array.prototype.map.call(document.querySelectorAll("div.chart svg.main-svg"),
                function (svg) { return svg.getBoundingClientRect().width; });
              return {nav: getComputedStyle(document.querySelector("nav.pages")).display,
                      header: getComputedStyle(document.querySelector("header.top")).display,
                      widest_chart: widths.length ? Math.max.apply(null, widths) : 0};
            })()"""
            result = self._send(
                "Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=session
            )
            return result.get("result", {}).get("value") or {}
        finally:
            self._send("Target.closeTarget", {"targetId": target})
            self._drain_events()

    def close(self) -> None:
        try:
            self._ws.close()
        finally:
            self._process.terminate()
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            shutil.rmtree(self._profile, ignore_errors=True)
