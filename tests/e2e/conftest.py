"""pytest wiring for the e2e harness: fixtures, async tests, per-test timeouts.

Tests may be `async def`: each runs in its own asyncio.run() with a deadline
(default 60 s, `@pytest.mark.timeout(S)` to change); clients made with `make_client`
are disconnected in that same loop when the test ends, pass or fail.
"""
import asyncio
import inspect
import os
import signal
from pathlib import Path
from urllib.parse import urlencode

import pytest

import harness
from browser import Browser
from desk import Desk
from harness import Clients, Ejabberd, Process, Prosody, Respa

DEFAULT_TIMEOUT = 60.0


def pytest_addoption(parser):
    parser.addoption("--server", choices=("prosody", "ejabberd"),
                     default=os.environ.get("RESPA_E2E_SERVER") or "prosody",
                     help="the XMPP server the tests run against (default $RESPA_E2E_SERVER "
                          "or prosody); on ejabberd only the tests marked ejabberd run")


def pytest_configure(config):
    os.environ["RESPA_E2E_SERVER"] = config.getoption("--server")
    config.addinivalue_line("markers", "timeout(seconds): overall deadline of the test call")
    config.addinivalue_line("markers", "ejabberd: also runs against ejabberd (--server=ejabberd "
                            "runs only these)")
    config.addinivalue_line("markers", "prosody_only(reason): skipped on ejabberd, for reason")
    config.addinivalue_line("markers", "prosody(**options): options of the test's Prosody "
                            "(e.g. smacks_hibernation_time=2)")
    # a CI job killed with SIGTERM should still run fixture finalizers (they stop our pids)
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _interrupt)


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def pytest_collection_modifyitems(config, items):
    """On ejabberd: only the tests marked ejabberd run; those marked prosody_only are skipped
    with their reason."""
    if config.getoption("--server") != "ejabberd":
        return
    keep, drop = [], []
    for item in items:
        (keep if item.get_closest_marker("ejabberd") else drop).append(item)
        only = item.get_closest_marker("prosody_only")
        if only:
            item.add_marker(pytest.mark.skip(reason="Prosody only: " + (
                only.args[0] if only.args else only.kwargs.get("reason", ""))))
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_unconfigure(config):
    harness.kill_leftovers()


def _timeout(item) -> float:
    marker = item.get_closest_marker("timeout")
    return float(marker.args[0]) if marker else DEFAULT_TIMEOUT


# set for each test once its call has run: did it fail as an xfail marker expected?
CALL_XFAILED = pytest.StashKey[bool]()


class DeadlineExceeded(Exception):
    pass


def _alarm(signum, frame):
    raise DeadlineExceeded("test exceeded its deadline (blocking call?)")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    # backstop for blocking code; async tests hit their asyncio deadline first
    slack = 10 if inspect.iscoroutinefunction(getattr(item, "obj", None)) else 0
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(int(_timeout(item) + slack))
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    """Run `async def` tests without pytest-asyncio."""
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    kwargs = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    clients = pyfuncitem.funcargs.get("make_client")
    asyncio.run(_run_async(pyfuncitem.obj(**kwargs), _timeout(pyfuncitem), clients))
    return True


async def _run_async(coro, timeout: float, clients):
    test = asyncio.ensure_future(coro)
    try:
        done, _ = await asyncio.wait({test}, timeout=timeout)
        if not done:
            where = _awaiting_at(test)
            test.cancel()
            await asyncio.wait({test}, timeout=5)
            pytest.fail(f"test did not finish within {timeout:g}s; it was waiting in:\n{where}",
                        pytrace=False)
        test.result()   # re-raise the test's own failure
    finally:
        if clients is not None:
            await clients.close_all()


def _awaiting_at(task) -> str:
    """The innermost test-side frames of a stuck task (where it awaits)."""
    frames = task.get_stack(limit=20)
    lines = [f"  {f.f_code.co_filename}:{f.f_lineno} in {f.f_code.co_name}" for f in frames]
    return "\n".join(lines) or "  (unknown)"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On failure, attach the tails of the server logs (prosody, respa, components)."""
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.stash[CALL_XFAILED] = hasattr(report, "wasxfail") and report.skipped
    if not report.failed:
        return
    for name, value in getattr(item, "funcargs", {}).items():
        diagnostics = getattr(value, "diagnostics", None)
        if callable(diagnostics):
            try:
                report.sections.append((f"{name} logs", diagnostics()))
            except Exception as e:  # a broken log must not hide the failure
                report.sections.append((f"{name} logs", f"(unavailable: {e})"))


# ---------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def ejabberd_server(request, tmp_path_factory):
    """One ejabberd per test module (it takes 2.5 s or more to start); reset between tests."""
    server = Ejabberd(tmp_path_factory.mktemp("ejabberd"))
    try:
        server.start()
        yield server
    finally:
        server.remove()


@pytest.fixture
def prosody(request, tmp_path):
    """The test's XMPP server: a fresh private Prosody per test (starts in about 0.1 s), or
    with --server=ejabberd the module's ejabberd emptied of accounts (same interface; the
    name stays for the tests written before it).
    `@pytest.mark.prosody(smacks_hibernation_time=2)` passes options to harness.Prosody."""
    if harness.server_kind() == "ejabberd":
        server = request.getfixturevalue("ejabberd_server")
        server.reset()
        yield server
        return
    marker = request.node.get_closest_marker("prosody")
    server = Prosody(tmp_path / "prosody", **(marker.kwargs if marker else {}))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def server(prosody):
    """The test's XMPP server by its neutral name (Prosody or ejabberd)."""
    return prosody


@pytest.fixture
def make_client(prosody):
    """`await make_client("alice")`: registers alice@localhost (password pw) and logs in.
    `await make_client(anonymous=True)`: anonymous login on guest.localhost."""
    return Clients(prosody)


class RespaFactory:
    """`respa(config={...})` starts a respa against the test's Prosody and waits for `ready`."""

    def __init__(self, workdir: Path, prosody: Prosody):
        self.workdir = workdir
        self.prosody = prosody
        self.instances: list[Respa] = []

    def __call__(self, config=None, *, raw_config=None, start=True, wait=True,
                 workdir=None, allow_disk_full=False, env=None, binary=None) -> Respa:
        """config: {"section": {key: value}} merged over the defaults ([component] pointing
        at this Prosody, [storage] database in the test dir); None removes a section/key.
        start=False returns it unstarted (for check_config(), or start() later);
        wait=False skips waiting for `ready` (for start-up failure tests);
        allow_disk_full=True lets the test call r.disk_full() later;
        env: extra environment (e.g. {"RESPA_TIME_OFFSET": "57"} shifts respa's clock);
        binary: another respa than RESPA_BIN's (the packaged one)."""
        n = len(self.instances)
        where = workdir or self.workdir / ("respa" if n == 0 else f"respa{n + 1}")
        daemon = Respa(where, self.prosody, config=config, raw_config=raw_config, binary=binary)
        if allow_disk_full:
            daemon.allow_disk_full()
        daemon.env.update(env or {})
        self.instances.append(daemon)
        if start:
            daemon.start()
            if wait:
                daemon.wait_ready()
        return daemon

    def teardown(self) -> list[str]:
        problems = []
        for daemon in self.instances:
            daemon.stop()
            problems += daemon.problems()
        return problems

    def diagnostics(self) -> str:
        return "\n".join(d.diagnostics(60) for d in self.instances) or "(no respa started)"


@pytest.fixture
def respa(request, tmp_path, prosody):
    factory = RespaFactory(tmp_path, prosody)
    yield factory
    problems = factory.teardown()
    if problems and request.node.stash.get(CALL_XFAILED, False):
        # the known bug of an xfail test (e.g. a sanitizer report) is part of the expected
        # failure: do not turn it into a teardown error as well
        return
    if problems:
        # (the log tails are attached to the report by pytest_runtest_makereport)
        pytest.fail("respa misbehaved:\n  " + "\n  ".join(problems), pytrace=False)


@pytest.fixture
def desk(respa, make_client, prosody):
    """respa with its agents and customers: `await desk.start(agents=["alice"])` (desk.py)."""
    return Desk(respa, make_client, prosody)


@pytest.fixture(scope="session")
def echo_binary(tmp_path_factory):
    """The shared libstrophe echo component, built once per session."""
    try:
        return harness.build_echo_component(tmp_path_factory.mktemp("echo"))
    except Exception as e:
        pytest.fail(f"cannot build the echo component: {e}\n{getattr(e, 'stderr', '')}")


class EchoFactory:
    def __init__(self, binary, prosody, workdir):
        self.binary, self.prosody, self.workdir = binary, prosody, workdir
        self.instances: list[Process] = []

    def __call__(self, jid: str = harness.COMPONENT_JID, secret=None) -> Process:
        proc = harness.echo_component(self.binary, self.prosody, self.workdir, jid, secret)
        self.instances.append(proc)
        return proc

    def diagnostics(self) -> str:
        return "\n".join(p.diagnostics() for p in self.instances)


@pytest.fixture
def echo_component(echo_binary, prosody, tmp_path):
    """`echo_component()` connects the echo component as support.localhost (or another jid)."""
    factory = EchoFactory(echo_binary, prosody, tmp_path)
    yield factory
    for proc in factory.instances:
        proc.stop()


# ---------------------------------------------------------------------------
# the browser (Debian's chromium through playwright-core): one per test module
# ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """One chromium for the whole module (starting one takes about half a second)."""
    b = Browser(tmp_path_factory.mktemp("browser")).start()
    yield b
    b.stop()


def artifacts_dir() -> Path:
    """Screenshots go beside the e2e report of the build under test: build/e2e-artifacts/
    (build-san/e2e-artifacts/ for the sanitizer run)."""
    build = harness.respa_binary().resolve().parent.parent
    return (build if build.is_dir() else harness.REPO / "build") / "e2e-artifacts"


class Web:
    """The browser as one test sees it: `page = await web.page("visitor")` opens a page in a
    fresh context (a new visitor); `web.url("widget.html")` is on the test's Prosody;
    `await web.screenshot(page, "answered")` saves build/e2e-artifacts/TEST-answered.png.
    At the end each page is screenshot once more (TEST-PAGE-end.png) and closed."""

    def __init__(self, browser: Browser, prosody: Prosody, test_name: str):
        self.browser, self.prosody = browser, prosody
        self.name = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in test_name)
        self.shots: list[Path] = []

    def url(self, page: str = "widget.html", **query) -> str:
        return f"{self.prosody.http_url}/{page}" + (f"?{urlencode(query)}" if query else "")

    async def page(self, name: str = "visitor", **size):
        return await self.browser.page(name, **size)

    async def close(self, page) -> None:
        """Close the page's context, as a visitor closes the tab."""
        await self.browser.call("close_page", name=page.name)
        self.browser.pages.pop(page.name, None)

    async def screenshot(self, page, label: str) -> Path:
        path = await page.screenshot(artifacts_dir() / f"{self.name}-{label}.png")
        self.shots.append(path)
        return path

    def finish(self) -> None:
        for name in list(self.browser.pages):
            try:
                path = artifacts_dir() / f"{self.name}-{name}-end.png"
                self.browser.call_sync("screenshot", timeout=10, name=name, path=str(path))
                self.shots.append(path)
            except Exception:
                pass
        self.browser.close_pages()

    def diagnostics(self) -> str:
        return self.browser.describe() + "\nscreenshots: " + ", ".join(map(str, self.shots))


@pytest.fixture
def web(request, browser, prosody):
    """Pages of the module's browser for this test, closed (after a last screenshot) at its end."""
    w = Web(browser, prosody, request.node.name)
    yield w
    w.finish()
