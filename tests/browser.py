"""Real-browser helpers for the report tests: a local static server, Debian's Chromium driven by
Playwright, a page log that collects everything a clean page must not produce, and axe-core.

    from browser import axe, open_page, serve

    def test_page(tmp_path, chromium):           # `chromium` is the session fixture below
        with serve(tmp_path) as base:
            page, log = open_page(chromium, f"{base}/index.html")
            ...
            assert log.problems() == []

The browser is the system's Chromium (``apt-get install chromium``), never one Playwright downloads:
``playwright install`` is not needed and must not run (CI has no route to Playwright's CDN). Without a
browser or the ``playwright`` package the tests skip, loudly; with ``LLVSCAN_REQUIRE_BROWSER=1`` (set by
``.ci/run``) they fail instead.

WebGL runs on SwiftShader (ANGLE's CPU renderer): slow but real, so a 3D viewer draws actual pixels.
Every request to a host other than 127.0.0.1/localhost is aborted and recorded: a report page that
reaches the internet is a defect.
"""

from __future__ import annotations

import contextlib
import http.server
import os
import shutil
import socketserver
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
AXE_JS = ROOT / "tools" / "node_modules" / "axe-core" / "axe.min.js"
REQUIRE_ENV = "LLVSCAN_REQUIRE_BROWSER"
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
# WebGL 2 without a GPU: ANGLE on SwiftShader (see ../shared/field-notes.md, "Real clients")
CHROMIUM_FLAGS = ("--use-gl=angle", "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
                  "--ignore-gpu-blocklist")
INSTALL_HINT = ("install Debian's Chromium (`sudo apt-get install -y chromium`) and Playwright for Python "
                "(`.venv/bin/pip install -e '.[test]'`); never `playwright install`: the tests drive the system "
                "browser")

__all__ = ["AXE_JS", "CHROMIUM_FLAGS", "PageLog", "axe", "browser", "chromium", "chromium_path", "open_page",
           "serve", "unavailable"]


def unavailable(reason: str) -> NoReturn:
    """Skip the test (loudly), or fail it when ``LLVSCAN_REQUIRE_BROWSER=1``, as CI sets."""
    message = f"browser tests cannot run: {reason}: {INSTALL_HINT}"
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{message} ({REQUIRE_ENV}=1)", pytrace=False)
    pytest.skip(message)


def chromium_path() -> str | None:
    """The system Chromium: ``$LLVSCAN_CHROMIUM``, else ``chromium`` on PATH, else /usr/bin/chromium."""
    for candidate in (os.environ.get("LLVSCAN_CHROMIUM"), shutil.which("chromium"), "/usr/bin/chromium"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


# ---------------------------------------------------------------------------------------------------
# a static server


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Static files with the MIME types browsers insist on (module scripts, WebAssembly streaming)."""

    extensions_map = {  # noqa: RUF012 (the base class declares it as a plain class attribute)
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".html": "text/html; charset=utf-8",
        ".js": "text/javascript; charset=utf-8",
        ".mjs": "text/javascript; charset=utf-8",
        ".css": "text/css; charset=utf-8",
        ".json": "application/json",
        ".wasm": "application/wasm",
        ".glb": "model/gltf-binary",
        ".gltf": "model/gltf+json",
        ".svg": "image/svg+xml",
        ".webp": "image/webp",
        ".jpg": "image/jpeg",
        ".png": "image/png",
    }

    def log_message(self, format: str, *args: Any) -> None:  # quiet: the page log records failures
        pass

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        super().end_headers()


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a browser that drops a connection (a cancelled tile) is not an error of the page


@contextlib.contextmanager
def serve(folder: str | Path) -> Iterator[str]:
    """Serve ``folder`` on 127.0.0.1 (an ephemeral port) in a thread; yields the base URL, no trailing /."""
    server = _Server(("127.0.0.1", 0), partial(_Handler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, name="static-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# ---------------------------------------------------------------------------------------------------
# the browser


@contextlib.contextmanager
def browser(*, extra_args: tuple[str, ...] = ()) -> Iterator[Any]:
    """A headless Playwright ``Browser`` on the system Chromium with WebGL on SwiftShader."""
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("the `playwright` package is not installed")
    executable = chromium_path()
    if executable is None:
        unavailable("no Chromium found (looked for $LLVSCAN_CHROMIUM, `chromium` on PATH, /usr/bin/chromium)")
    args = list(CHROMIUM_FLAGS)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--no-sandbox")  # Chromium refuses to start its sandbox as root
    args += extra_args
    with sync_playwright() as playwright:
        try:
            launched = playwright.chromium.launch(executable_path=executable, headless=True, args=args)
        except PlaywrightError as exc:
            unavailable(f"{executable} did not start: {str(exc).splitlines()[0]}")
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """One browser for the session (starting Chromium costs ~1 s); each test opens its own page."""
    with browser() as launched:
        yield launched


# ---------------------------------------------------------------------------------------------------
# a page and what it did wrong


@dataclass
class PageLog:
    """What a page did that a clean page must not: each list holds one readable line per event."""

    console: list[str] = field(default_factory=list)  # console errors and warnings
    page_errors: list[str] = field(default_factory=list)  # uncaught exceptions, unhandled rejections
    failed_requests: list[str] = field(default_factory=list)  # network failures and HTTP status >= 400
    external_requests: list[str] = field(default_factory=list)  # non-loopback URLs, aborted
    dialogs: list[str] = field(default_factory=list)  # alert/confirm/prompt/beforeunload, dismissed
    requests: list[str] = field(default_factory=list)  # every URL the page asked for, in order
    # requests that had their answer (status < 400) and were then reported net::ERR_ABORTED: with request
    # interception on (the route that blocks external hosts), Chromium reports some completed fetch()
    # downloads so (seen on three's streamed reads of the Draco decoder: 200, decoded, model drawn;
    # never without the route). Kept for the curious, not a problem.
    aborted_after_response: list[str] = field(default_factory=list)

    def problems(self, *, ignore: tuple[str, ...] = ()) -> list[str]:
        """Every recorded problem, each prefixed by its kind; lines containing an ``ignore`` text are left out."""
        lines = ([f"console: {x}" for x in self.console] + [f"pageerror: {x}" for x in self.page_errors]
                 + [f"failed: {x}" for x in self.failed_requests]
                 + [f"external: {x}" for x in self.external_requests] + [f"dialog: {x}" for x in self.dialogs])
        return [line for line in lines if not any(text in line for text in ignore)]


#: Console lines that are timing notes, not page defects: model-viewer waits two animation frames before its
#: `load` event and warns when they take over 500 ms (it then goes on); SwiftShader on a busy CPU draws that
#: slowly (seen in the report's tests and, under a loaded CI, the vendored viewers' test).
TIMING_NOTES = ("rAF timed out in updateSource",)


def _is_local(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about", "file"):
        return True
    return (parts.hostname or "") in LOOPBACK


def open_page(browser: Any, url: str, *, viewport: tuple[int, int] = (1024, 768), wait_until: str = "load",
              timeout_ms: float = 20_000, **context_options: Any) -> tuple[Any, PageLog]:
    """Open ``url`` in a fresh context of ``browser``; returns ``(page, log)``.

    Listeners are attached before navigation, so the log holds everything from the first request on.
    The page is closed with its context when the browser closes, or by ``page.context.close()``.
    """
    log = PageLog()
    context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]},
                                  service_workers="block", **context_options)
    context.set_default_timeout(timeout_ms)
    aborted: set[str] = set()
    answered: set[Any] = set()  # requests with a response of status < 400

    def route(route: Any) -> None:
        request_url = route.request.url
        if _is_local(request_url):
            route.fallback()
        else:
            aborted.add(request_url)
            log.external_requests.append(f"{route.request.method} {request_url}")
            route.abort("blockedbyclient")

    context.route("**/*", route)
    page = context.new_page()

    def console(message: Any) -> None:
        if message.type in ("error", "warning"):
            where = message.location or {}
            at = f" ({where.get('url')}:{where.get('lineNumber')})" if where.get("url") else ""
            log.console.append(f"{message.type}: {message.text}{at}")

    def request_failed(request: Any) -> None:
        line = f"{request.method} {request.url}: {request.failure}"
        if request.url in aborted:
            return
        if request in answered and request.failure == "net::ERR_ABORTED":
            log.aborted_after_response.append(line)
        else:
            log.failed_requests.append(line)

    def response(response: Any) -> None:
        if response.status >= 400:
            log.failed_requests.append(f"{response.request.method} {response.url}: HTTP {response.status}")
        else:
            answered.add(response.request)

    def dialog(dialog: Any) -> None:
        log.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def websocket(socket: Any) -> None:
        if not _is_local(socket.url.replace("ws", "http", 1)):
            log.external_requests.append(f"WebSocket {socket.url}")

    page.on("console", console)
    page.on("pageerror", lambda error: log.page_errors.append(str(error)))
    context.on("requestfailed", request_failed)
    context.on("response", response)
    context.on("request", lambda request: log.requests.append(request.url))
    page.on("dialog", dialog)
    page.on("websocket", websocket)
    page.goto(url, wait_until=wait_until)
    return page, log


# ---------------------------------------------------------------------------------------------------
# accessibility


def axe(page: Any, *, options: dict | None = None, impacts: tuple[str, ...] = ()) -> list[dict]:
    """Run axe-core on ``page``; returns its violations (each with ``id``, ``impact``, ``help``, ``nodes``).

    ``impacts`` keeps only those impacts (e.g. ``("critical",)``). axe is evaluated through the DevTools
    protocol, not a ``<script>`` tag, so a page's strict Content-Security-Policy neither blocks it nor
    has to be loosened for the test. axe-core comes from ``npm install --prefix tools`` (``make test``).
    """
    if not AXE_JS.is_file():
        unavailable(f"{AXE_JS.relative_to(ROOT)} is missing: run `npm install --prefix tools`")
    session = page.context.new_cdp_session(page)
    try:
        result = session.send("Runtime.evaluate", {"expression": AXE_JS.read_text(encoding="utf-8")})
        if "exceptionDetails" in result:
            raise RuntimeError(f"axe-core did not load: {result['exceptionDetails'].get('text')}")
    finally:
        session.detach()
    violations = page.evaluate("options => axe.run(document, options).then(r => r.violations)", options or {})
    return [v for v in violations if not impacts or v.get("impact") in impacts]
