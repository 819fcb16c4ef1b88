"""A real browser for the e2e tests: Debian's chromium, driven by playwright-core through
tests/e2e/browser_driver.js (a node process speaking one JSON object per line).

    browser = Browser(workdir); browser.start()          # one per test module (fixture)
    page = await browser.page("visitor")                 # a fresh context: a new visitor
    await page.goto(prosody.http_url + "/widget.html")
    await page.click(".respa-launcher")
    await page.wait_text(".respa-state", "Online")
    await page.fill(".respa-input", "hi")
    await page.press(".respa-input", "Enter")
    await page.screenshot(path)
    browser.stop()

The driver answers requests concurrently; each call waits in a thread, so slixmpp clients
in the test's event loop keep answering meanwhile. Processes are started and stopped by pid.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import json
import os
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Optional, Union

import harness

DRIVER = Path(__file__).resolve().with_name("browser_driver.js")
CHROMIUM = "/usr/bin/chromium"
CONVERSE = harness.WEB_DIR / "node_modules" / "converse.js" / "dist" / "converse.min.js"
PLAYWRIGHT = harness.WEB_DIR / "node_modules" / "playwright-core" / "package.json"
HEADLESS = (harness.WEB_DIR / "node_modules" / "@converse" / "headless" / "dist"
            / "converse-headless.min.js")
AXE = harness.WEB_DIR / "node_modules" / "axe-core" / "axe.min.js"


class BrowserError(AssertionError):
    """A browser command failed (e.g. a wait timed out): fails the test with the page's log."""


def missing_parts() -> list[str]:
    """What the browser tests need and this machine lacks (scripts/install-deps installs all)."""
    missing = []
    if not shutil.which("node"):
        missing.append("node (Debian package nodejs)")
    if not os.access(CHROMIUM, os.X_OK):
        missing.append(f"{CHROMIUM} (Debian package chromium)")
    if not all(p.exists() for p in (CONVERSE, PLAYWRIGHT, HEADLESS, AXE)):
        missing.append("web/node_modules (npm ci in web/)")
    return missing


class Browser:
    def __init__(self, workdir: Union[str, Path]):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.dir / "browser_driver.log"
        self.proc: Optional[subprocess.Popen] = None
        self.version = ""
        self._ids = itertools.count(1)
        self._pending: dict[int, concurrent.futures.Future] = {}
        self._lock = threading.Lock()
        self._reader: Optional[threading.Thread] = None
        self.pages: dict[str, "Page"] = {}

    def start(self, timeout: float = 30.0) -> "Browser":
        missing = missing_parts()
        if missing:
            raise harness.HarnessError("the browser tests need " + ", ".join(missing)
                                       + ": run scripts/install-deps")
        env = dict(os.environ, TMPDIR=str(self.dir))   # playwright's profile dir goes here
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(["node", str(DRIVER)], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=log, env=env,
                                         cwd=self.dir)
        harness._track(self.proc.pid, "browser_driver")
        first: concurrent.futures.Future = concurrent.futures.Future()
        self._reader = threading.Thread(target=self._read, args=(first,), daemon=True)
        self._reader.start()
        try:
            hello = first.result(timeout)
        except concurrent.futures.TimeoutError:
            self.stop()
            raise harness.HarnessError(f"browser driver not ready within {timeout}s\n"
                                       f"{harness.tail(self.log_path)}") from None
        if not hello.get("ready"):
            self.stop()
            raise harness.HarnessError(f"browser driver failed: {hello.get('error')}\n"
                                       f"{harness.tail(self.log_path)}")
        self.version = hello.get("version", "")
        return self

    def _read(self, first: concurrent.futures.Future) -> None:
        assert self.proc and self.proc.stdout
        for raw in self.proc.stdout:
            try:
                msg = json.loads(raw)
            except ValueError:
                continue
            if "ready" in msg and not first.done():
                first.set_result(msg)
                continue
            fut = self._pending.pop(msg.get("id"), None)
            if fut is None:
                continue
            if msg.get("ok"):
                fut.set_result(msg.get("value"))
            else:
                fut.set_exception(BrowserError(msg.get("error", "browser command failed")))
        # the driver is gone: fail whatever still waits
        if not first.done():
            first.set_result({"ready": False, "error": "driver exited"})
        for fut in list(self._pending.values()):
            if not fut.done():
                fut.set_exception(BrowserError("the browser driver exited"))
        self._pending.clear()

    def request(self, cmd: str, **args) -> concurrent.futures.Future:
        fut: concurrent.futures.Future = concurrent.futures.Future()
        if self.proc is None or self.proc.poll() is not None:
            fut.set_exception(BrowserError("the browser driver is not running"))
            return fut
        with self._lock:
            rid = next(self._ids)
            self._pending[rid] = fut
            assert self.proc.stdin
            self.proc.stdin.write((json.dumps({"id": rid, "cmd": cmd, **args}) + "\n").encode())
            self.proc.stdin.flush()
        return fut

    async def call(self, cmd: str, timeout: float = 30.0, **args):
        """Run a driver command; raises BrowserError on failure."""
        __tracebackhide__ = True
        fut = self.request(cmd, **args)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(fut), timeout)
        except asyncio.TimeoutError:
            raise BrowserError(f"browser command {cmd} got no answer in {timeout}s") from None

    def call_sync(self, cmd: str, timeout: float = 30.0, **args):
        return self.request(cmd, **args).result(timeout)

    async def page(self, name: str, width: int = 1000, height: int = 760) -> "Page":
        """A new page in a context of its own (empty localStorage: a new visitor)."""
        await self.call("page", name=name, width=width, height=height)
        page = Page(self, name)
        self.pages[name] = page
        return page

    def close_pages(self) -> None:
        for name in list(self.pages):
            try:
                self.call_sync("close_page", timeout=10, name=name)
            except Exception:
                pass
            del self.pages[name]

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the driver to close the browser; SIGTERM (then SIGKILL) its pid if it does not."""
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        if proc.poll() is None:
            try:
                assert proc.stdin
                proc.stdin.write(b'{"id": 0, "cmd": "quit"}\n')
                proc.stdin.flush()
                proc.stdin.close()
                proc.wait(timeout)
            except (OSError, subprocess.TimeoutExpired):
                harness.terminate_pid(proc.pid, timeout=5)
        proc.wait()
        harness._untrack(proc.pid)
        if self._reader:
            self._reader.join(5)

    def describe(self) -> str:
        """The driver's log and each open page's console and WebSocket frames (the `web`
        fixture attaches it to a failed test's report)."""
        out = [f"--- {self.log_path} (tail) ---\n{harness.tail(self.log_path, 20)}"]
        for name in self.pages:
            try:
                log = self.call_sync("log", timeout=5, name=name)
            except Exception as e:
                log = [f"(no log: {e})"]
            out.append(f"--- page {name}: console, errors, websocket frames (tail) ---\n"
                       + "\n".join(log[-60:]))
        return "\n".join(out)


class Page:
    """One page of the browser. Selectors are Playwright's (CSS, plus :has-text() etc.)."""

    def __init__(self, browser: Browser, name: str):
        self.browser, self.name = browser, name

    async def _call(self, cmd: str, timeout: float = 30.0, **args):
        __tracebackhide__ = True
        try:
            return await self.browser.call(cmd, timeout=timeout, name=self.name, **args)
        except BrowserError as e:
            raise BrowserError(f"page {self.name}: {cmd} {args}: {e}") from None

    async def goto(self, url: str) -> str:
        return await self._call("goto", url=url)

    async def reload(self) -> None:
        await self._call("reload")

    async def fill(self, selector: str, text: str) -> None:
        await self._call("fill", selector=selector, text=text)

    async def press(self, selector: str, key: str) -> None:
        await self._call("press", selector=selector, key=key)

    async def click(self, selector: str, text: str = "") -> None:
        await self._call("click", selector=selector, text=text)

    async def wait_text(self, selector: str, text: str = "", timeout: float = 10.0) -> str:
        """Wait until an element matching selector and containing text is visible; its text."""
        return await self._call("wait_text", timeout + 5, selector=selector, text=text,
                                ms=int(timeout * 1000))

    async def wait_gone(self, selector: str, text: str = "", timeout: float = 10.0) -> None:
        await self._call("wait_gone", timeout + 5, selector=selector, text=text,
                         ms=int(timeout * 1000))

    async def texts(self, selector: str) -> list[str]:
        return await self._call("texts", selector=selector)

    async def text(self, selector: str) -> str:
        found = await self.texts(selector)
        assert found, f"page {self.name}: nothing matches {selector!r}"
        return found[0]

    async def attribute(self, selector: str, attribute: str) -> Optional[str]:
        return await self._call("attribute", selector=selector, attribute=attribute)

    async def eval(self, js: str, arg=None):
        """page.evaluate: js is a function's source (called with arg) or an expression."""
        return await self._call("eval", js=js, arg=arg)

    async def wait_js(self, js: str, arg=None, timeout: float = 10.0):
        """Wait until the function source js(arg) returns something truthy; returns it."""
        return await self._call("wait_js", timeout + 5, js=js, arg=arg, ms=int(timeout * 1000))

    async def screenshot(self, path: Union[str, Path]) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        await self._call("screenshot", path=str(path))
        return path

    async def set_files(self, selector: str, files: list[tuple[str, str, bytes]]) -> None:
        """Choose files (name, MIME type, content) in an <input type=file>."""
        import base64
        await self._call("set_files", selector=selector, files=[
            {"name": n, "mimeType": t, "base64": base64.b64encode(b).decode()} for n, t, b in files])

    async def axe(self, include: str = "") -> list[dict]:
        """axe-core's WCAG 2.1 A/AA violations on the page (or within `include`)."""
        return await self._call("axe", 60, include=include)

    async def log(self) -> list[str]:
        return await self._call("log")
