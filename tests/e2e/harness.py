"""End-to-end harness for respa: a private Prosody, the respa daemon and slixmpp clients.

Everything here starts real processes on loopback with free ports and stops them by the
pid it started (never by name). Run with Debian's /usr/bin/python3 (it has slixmpp).
"""
from __future__ import annotations

import asyncio
import atexit
import os
import re
import resource
import signal
import socket
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Callable, Iterable, Optional, Union

import slixmpp
from slixmpp.exceptions import IqError, IqTimeout
from slixmpp.xmlstream import ET

REPO = Path(__file__).resolve().parents[2]
WEB_DIR = REPO / "web"
DEFAULT_RESPA_BIN = REPO / "build" / "src" / "respa"
COMPONENT_JID = "support.localhost"
COMPONENT_SECRET = "s3cret"
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


def respa_binary() -> Path:
    """The respa under test: $RESPA_BIN, else build/src/respa."""
    return Path(os.environ.get("RESPA_BIN") or DEFAULT_RESPA_BIN)


def respa_sanitized() -> bool:
    """True for an AddressSanitizer build (e.g. for pytest.mark.xfail(respa_sanitized(), ...)
    on a bug only the sanitizers see)."""
    try:
        return b"__asan_init" in respa_binary().read_bytes()
    except OSError:
        return False


class HarnessError(RuntimeError):
    """A process of the harness failed to start or stop as expected."""


# ---------------------------------------------------------------------------
# pid bookkeeping: a safety net that only ever signals pids this harness started
# ---------------------------------------------------------------------------
_live_pids: dict[int, bytes] = {}   # pid -> its command line when we started it


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _track(pid: int, what: str) -> None:
    _live_pids[pid] = _cmdline(pid) or what.encode()


def _untrack(pid: int) -> None:
    _live_pids.pop(pid, None)


def pid_alive(pid: int) -> bool:
    """True while pid runs. A daemon reparented to a PID 1 that does not reap
    (containers) lingers as a zombie: count that as gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.02)
    return not pid_alive(pid)


def terminate_pid(pid: int, timeout: float = 5.0) -> bool:
    """SIGTERM pid, wait, SIGKILL if it ignores us. Returns True if SIGTERM sufficed."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        _untrack(pid)
        return True
    graceful = _wait_gone(pid, timeout)
    if not graceful:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        _wait_gone(pid, 2.0)
    _untrack(pid)
    return graceful


def kill_leftovers() -> None:
    """Last resort (atexit, fatal signal): stop whatever the harness still has running."""
    for pid, cmdline in list(_live_pids.items()):
        if _cmdline(pid) == cmdline:        # still ours, not a recycled pid
            terminate_pid(pid, timeout=2.0)
        _untrack(pid)


atexit.register(kill_leftovers)


# ---------------------------------------------------------------------------
# small helpers
# ---------------------------------------------------------------------------
def free_ports(n: int) -> list[int]:
    """n distinct free TCP ports on 127.0.0.1 (all sockets held open until all are picked)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def free_port() -> int:
    return free_ports(1)[0]


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


TCP_ESTABLISHED, TCP_CLOSE_WAIT = "01", "08"


def tcp_connections(port: int, state: str) -> int:
    """How many TCP sockets with local `port` are in `state` (hex code of /proc/net/tcp*)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == state:
                count += 1
    return count


def tail(path: Path, lines: int = 40) -> str:
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return f"(no file {path})"
    return "\n".join(text.splitlines()[-lines:])


def wait_until(cond: Callable[[], bool], timeout: float, what: str,
               on_fail: Callable[[], str] = lambda: "") -> None:
    """Poll cond (for things with no event to await: ports, files, log lines)."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise HarnessError(f"timed out after {timeout}s waiting for {what}\n{on_fail()}")
        time.sleep(0.02)


# ---------------------------------------------------------------------------
# Prosody
# ---------------------------------------------------------------------------
PROSODY_CFG = """\
-- generated by tests/e2e/harness.py
run_as_root = true            -- we run as root in CI; 0.12 hangs half-started without it
pidfile     = "{dir}/prosody.pid"
data_path   = "{dir}/data"
certificates = "{dir}/certs"   -- empty: no TLS at all
plugin_paths = {{ }}

interfaces           = {{ "127.0.0.1", "::1" }}
c2s_ports            = {{ {c2s_port} }}
c2s_interfaces       = {{ "127.0.0.1", "::1" }}
component_ports      = {{ {component_port} }}
component_interfaces = {{ "127.0.0.1", "::1" }}
http_ports           = {{ {http_port} }}
http_interfaces      = {{ "127.0.0.1", "::1" }}
https_ports          = {{ }}
https_interfaces     = {{ }}
s2s_ports            = {{ }}
http_default_host = "localhost"
http_files_dir = "{web_dir}"     -- web/: the chat widget and the demo agent page, same origin
http_paths = {{ files = "/" }}   -- as /xmpp-websocket and /http-bind (no CORS, no Origin check)
http_index_files = {{ "index.html" }}

c2s_require_encryption = false
s2s_require_encryption = false
allow_unencrypted_plain_auth = true
consider_websocket_secure = true
consider_bosh_secure = true
c2s_stanza_size_limit = {c2s_stanza_size_limit}
network_settings = {{ nagle = false }}   -- no delayed-ACK waits between stanzas on loopback

admins = {{ {admins} }}

modules_enabled = {{
	"disco"; "roster"; "saslauth"; "presence"; "message"; "iq";
	"ping"; "time"; "uptime"; "version"; "private";
	"blocklist";                -- XEP-0191: Converse needs it to chat with non-roster JIDs
	"carbons"; "pep"; "vcard_legacy"; "smacks"; "csi_simple";
	"bosh"; "websocket";
	"http_files";               -- serves web/ (the widget and the agent page) at /
	"posix";                    -- pidfile, -D daemonize, signals
}}
modules_disabled = {{ "s2s"; "tls"; "offline"; }}

http_cors_override = {{
	bosh      = {{ enabled = true; }};
	websocket = {{ enabled = true; }};
}}

authentication = "internal_hashed"
storage = "internal"

log = {{
	{{ levels = {{ min = "debug" }}, to = "file", filename = "{dir}/prosody.log" }};
	{{ levels = {{ min = "error" }}, to = "console" }};
}}

VirtualHost "localhost"
	authentication = "internal_hashed"

VirtualHost "guest.localhost"
	authentication = "anonymous"
	-- a closed client otherwise hibernates under XEP-0198 for 600 s before going unavailable
	smacks_hibernation_time = {smacks_hibernation_time}
	disco_items = {{ {{ "upload.localhost", "file uploads" }} }}  -- the widget finds uploads

-- XEP-0363 uploads (the widget's attach button, agents' clients): on the default http host
-- and under the page's own origin, so the browser needs no CORS for the PUT
Component "upload.localhost" "http_file_share"
	http_host = "localhost"
	http_external_url = "http://127.0.0.1:{http_port}/"
	http_file_share_size_limit = {upload_size_limit}
	http_file_share_daily_quota = {upload_daily_quota}
{components}
"""


class Prosody:
    """A private Prosody in `workdir` on free loopback ports.

    Hosts: localhost (passwords), guest.localhost (anonymous), component support.localhost.
    More components can be declared with add_component() before start() or restart().
    """

    kind = "prosody"

    def __init__(self, workdir: Union[str, Path], secret: str = COMPONENT_SECRET,
                 admins: Iterable[str] = ("admin@localhost",),
                 c2s_stanza_size_limit: int = 65536, smacks_hibernation_time: int = 20,
                 upload_size_limit: int = 1024 * 1024):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "data").mkdir(exist_ok=True)
        (self.dir / "certs").mkdir(exist_ok=True)
        self.config_path = self.dir / "prosody.cfg.lua"
        self.log_path = self.dir / "prosody.log"
        self.console_log_path = self.dir / "prosody.console.log"
        self.pidfile = self.dir / "prosody.pid"
        self.c2s_port, self.component_port, self.http_port = free_ports(3)
        self.admins = list(admins)
        self.c2s_stanza_size_limit = c2s_stanza_size_limit
        self.smacks_hibernation_time = smacks_hibernation_time
        self.upload_size_limit = upload_size_limit   # bytes in one upload (XEP-0363)
        self.components: dict[str, str] = {COMPONENT_JID: secret}
        self.pid: Optional[int] = None

    @property
    def secret(self) -> str:
        return self.components[COMPONENT_JID]

    @property
    def c2s_address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.c2s_port)

    @property
    def http_url(self) -> str:
        """Where Prosody's http server answers: /xmpp-websocket, /http-bind and the pages of
        web/ (widget.html, agent.html)."""
        return f"http://127.0.0.1:{self.http_port}"

    def add_component(self, jid: str, secret: str) -> None:
        """Declare an extra XEP-0114 component (takes effect at the next start/restart)."""
        self.components[jid] = secret

    def write_config(self) -> None:
        comps = "".join(f'\nComponent "{jid}"\n\tcomponent_secret = "{secret}"\n'
                        for jid, secret in self.components.items())
        self.config_path.write_text(PROSODY_CFG.format(
            dir=self.dir, web_dir=WEB_DIR, c2s_port=self.c2s_port,
            component_port=self.component_port,
            http_port=self.http_port, c2s_stanza_size_limit=self.c2s_stanza_size_limit,
            smacks_hibernation_time=self.smacks_hibernation_time,
            upload_size_limit=self.upload_size_limit,
            upload_daily_quota=self.upload_size_limit * 100,
            admins="; ".join(f'"{a}"' for a in self.admins), components=comps))

    def start(self, timeout: float = 10.0) -> None:
        if self.running:
            raise HarnessError("prosody already running")
        self.write_config()
        self.pidfile.unlink(missing_ok=True)
        with open(self.console_log_path, "ab") as out:
            # -D: the launcher forks the daemon, which writes the pidfile, then exits
            launcher = subprocess.run(["prosody", "--config", str(self.config_path), "-D"],
                                      stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                      timeout=timeout)
        if launcher.returncode != 0:
            raise HarnessError(f"prosody -D exited {launcher.returncode}\n{self.diagnostics()}")
        wait_until(self._read_pid, timeout, "prosody pidfile", self.diagnostics)
        _track(self.pid, "prosody")
        try:
            wait_until(lambda: port_open(self.c2s_port) and port_open(self.component_port)
                       and port_open(self.http_port),
                       timeout, "prosody c2s, component and http ports", self.diagnostics)
        except HarnessError:
            self.stop()
            raise

    def _read_pid(self) -> bool:
        try:
            self.pid = int(self.pidfile.read_text().strip())
            return True
        except (OSError, ValueError):
            return False

    @property
    def running(self) -> bool:
        return self.pid is not None and pid_alive(self.pid)

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM the pid from our pidfile only, wait for it to go, SIGKILL as a fallback."""
        if self.pid is None:
            return
        pid, self.pid = self.pid, None
        if not _is_prosody(pid):   # pid recycled: never signal a stranger
            _untrack(pid)
            return
        # Prosody waits a whole second at shutdown for a client stream that is still closing
        # (the client has hung up, Prosody has not yet closed its side): give it a moment.
        try:
            wait_until(lambda: not tcp_connections(self.c2s_port, TCP_CLOSE_WAIT), 0.5,
                       "half-closed c2s connections")
        except HarnessError:
            pass
        if not terminate_pid(pid, timeout):
            raise HarnessError(f"prosody {pid} ignored SIGTERM for {timeout}s, killed")

    def restart(self) -> None:
        self.stop()
        self.start()

    # From async tests use these: Prosody closes client streams at shutdown and waits for
    # the answer, which the clients can only give while the event loop keeps running.
    async def stop_async(self) -> None:
        await asyncio.to_thread(self.stop)

    async def restart_async(self) -> None:
        await asyncio.to_thread(self.restart)

    def register(self, user: str, host: str = "localhost", password: str = "pw") -> str:
        """Create an account (prosodyctl works offline, about 40 ms). Returns the bare JID."""
        res = subprocess.run(["prosodyctl", "--config", str(self.config_path),
                              "register", user, host, password],
                             capture_output=True, text=True, timeout=20)
        if res.returncode != 0:
            raise HarnessError(f"prosodyctl register {user}@{host} failed: "
                               f"{res.stdout}{res.stderr}")
        return f"{user}@{host}"

    def diagnostics(self, lines: int = 40) -> str:
        return (f"--- {self.console_log_path} ---\n{tail(self.console_log_path, lines)}\n"
                f"--- {self.log_path} ---\n{tail(self.log_path, lines)}")


def _is_prosody(pid: int) -> bool:
    return b"prosody" in _cmdline(pid)


# ---------------------------------------------------------------------------
# ejabberd (the second server): Debian's 23.01, run as the `ejabberd` user
# ---------------------------------------------------------------------------
EJABBERD_CFG = """\
# generated by tests/e2e/harness.py
loglevel: info
log_rotate_count: 0
hosts:
  - localhost
  - guest.localhost
certfiles: []
listen:
  -
    port: {c2s_port}
    ip: "127.0.0.1"
    module: ejabberd_c2s
    max_stanza_size: {c2s_stanza_size_limit}
    starttls: false
    starttls_required: false
  -
    port: {component_port}
    ip: "127.0.0.1"
    module: ejabberd_service
    hosts:
{components}
  -
    port: {http_port}
    ip: "127.0.0.1"
    module: ejabberd_http
    request_handlers:
      /xmpp-websocket: ejabberd_http_ws
      /http-bind: mod_bosh
      /api: mod_http_api
auth_method: [internal]
auth_password_format: scram
host_config:
  guest.localhost:
    auth_method: [anonymous]
    anonymous_protocol: sasl_anon
    allow_multiple_connections: true
acl:
  local:
    user_regexp: ""
  admin:
    user:
{admins}
access_rules:
  local:
    allow: local
  c2s:
    allow: all
shaper_rules:
  max_user_sessions: 10
api_permissions:
  "console commands":
    from:
      - ejabberd_ctl
    who: all
    what: "*"
  "loopback api":             # the harness registers accounts through /api/register
    from:
      - mod_http_api
    who:
      ip: 127.0.0.1/8
    what: "*"
modules:
  mod_roster: {{}}
  mod_disco: {{}}
  mod_caps: {{}}
  mod_ping: {{}}
  mod_version: {{}}
  mod_bosh: {{}}
  mod_stream_mgmt:
    resume_timeout: {smacks_hibernation_time}
  mod_vcard: {{}}
  mod_carboncopy: {{}}
  mod_private: {{}}
  mod_blocking: {{}}
  mod_privacy: {{}}
  mod_pubsub:
    access_createnode: local
    plugins:
      - flat
      - pep
  mod_muc: {{}}               # without it 23.01 logs a mod_caps crash per component presence
  mod_http_api: {{}}
  # no mod_offline, as the Prosody of the tests: a message to an offline account is an error
"""

EJABBERDCTL_CFG = """\
# --ctl-config: always given, the default one resets the config path to /etc/ejabberd
ERLANG_NODE={node}@localhost
INET_DIST_INTERFACE=127.0.0.1
ERL_DIST_PORT={dist_port}
EJABBERD_CONFIG_PATH={dir}/ejabberd.yml
EJABBERD_PID_PATH={dir}/ejabberd.pid
ERL_OPTIONS="-env ERL_CRASH_DUMP_BYTES 0"
"""


class Ejabberd:
    """A private ejabberd on free loopback ports, with Prosody's interface (register, restart,
    add_component, c2s_address, ...), so tests and fixtures take either server.

    It runs in the foreground (`ejabberdctl foreground`) as the `ejabberd` user, in a session
    of its own: stopped by its beam pid (from its pidfile), and by that session's group as a
    fallback. ERL_DIST_PORT keeps it off epmd (nothing is left running after it) and away from
    any system ejabberd (own node name, own ports). Its files live in a directory of its own
    under /tmp that the ejabberd user can reach (pytest's tmp dirs are root-only); `workdir`
    gets a symlink to it, and the log is copied there by remove().
    """

    kind = "ejabberd"

    def __init__(self, workdir: Union[str, Path], secret: str = COMPONENT_SECRET,
                 admins: Iterable[str] = ("admin@localhost",),
                 c2s_stanza_size_limit: int = 65536, smacks_hibernation_time: int = 20):
        import pwd
        import tempfile
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.dir = Path(tempfile.mkdtemp(prefix="respa-ejabberd-"))
        self.user = pwd.getpwnam("ejabberd")
        for sub in ("db", "log"):
            (self.dir / sub).mkdir()
        self.config_path = self.dir / "ejabberd.yml"
        self.ctl_config_path = self.dir / "ejabberdctl.cfg"
        self.log_path = self.dir / "log" / "ejabberd.log"
        self.console_log_path = self.dir / "console.log"
        self.pidfile = self.dir / "ejabberd.pid"
        link = self.workdir / "ejabberd"
        if not link.exists():
            link.symlink_to(self.dir)
        self.c2s_port, self.component_port, self.http_port, self.dist_port = free_ports(4)
        self.node = f"respa-e2e-{os.getpid()}-{self.c2s_port}"
        self.admins = list(admins)
        self.c2s_stanza_size_limit = c2s_stanza_size_limit
        self.smacks_hibernation_time = smacks_hibernation_time
        self.components: dict[str, str] = {COMPONENT_JID: secret}
        self.pid: Optional[int] = None          # beam.smp
        self.launcher: Optional[subprocess.Popen] = None

    secret = Prosody.secret
    c2s_address = Prosody.c2s_address
    http_url = Prosody.http_url
    add_component = Prosody.add_component
    stop_async = Prosody.stop_async
    restart_async = Prosody.restart_async

    def _chown(self, path: Path) -> None:
        os.chown(path, self.user.pw_uid, self.user.pw_gid)

    def write_config(self) -> None:
        comps = "".join(f'      "{jid}":\n        password: "{secret}"\n'
                        for jid, secret in self.components.items())
        admins = "".join(f'      - "{a.split("@")[0]}@{a.split("@")[1]}"\n' for a in self.admins)
        self.config_path.write_text(EJABBERD_CFG.format(
            c2s_port=self.c2s_port, component_port=self.component_port,
            http_port=self.http_port, c2s_stanza_size_limit=self.c2s_stanza_size_limit,
            smacks_hibernation_time=self.smacks_hibernation_time,
            components=comps.rstrip("\n"), admins=admins.rstrip("\n")))
        self.ctl_config_path.write_text(EJABBERDCTL_CFG.format(
            node=self.node, dist_port=self.dist_port, dir=self.dir))
        for path in (self.dir, self.dir / "db", self.dir / "log", self.config_path,
                     self.ctl_config_path):
            self._chown(path)

    def ctl_argv(self, *args: str) -> list[str]:
        """ejabberdctl as the ejabberd user, everything under our directory."""
        d = self.dir
        return ["runuser", "-u", "ejabberd", "--", "env", f"HOME={d}", "ejabberdctl",
                "--ctl-config", str(self.ctl_config_path), "--config", str(self.config_path),
                "--spool", str(d / "db"), "--logs", str(d / "log"), *args]

    def start(self, timeout: float = 30.0) -> None:
        if self.running:
            raise HarnessError("ejabberd already running")
        self.write_config()
        self.pidfile.unlink(missing_ok=True)
        with open(self.console_log_path, "ab") as out:
            self.launcher = subprocess.Popen(self.ctl_argv("foreground"), cwd=self.dir,
                                             stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                             start_new_session=True)
        _track(self.launcher.pid, "ejabberd launcher")
        try:
            wait_until(lambda: self._read_pid() or self.launcher.poll() is not None, timeout,
                       "ejabberd pidfile", self.diagnostics)
            if self.pid is None:
                raise HarnessError(f"ejabberd exited {self.launcher.returncode} at start\n"
                                   f"{self.diagnostics()}")
            _track(self.pid, "ejabberd")
            wait_until(lambda: port_open(self.c2s_port) and port_open(self.component_port)
                       and port_open(self.http_port),
                       timeout, "ejabberd c2s, component and http ports", self.diagnostics)
        except BaseException:
            self.stop()
            raise

    def _read_pid(self) -> bool:
        try:
            pid = int(self.pidfile.read_text().strip())
        except (OSError, ValueError):
            return False
        self.pid = pid
        return True

    @property
    def running(self) -> bool:
        return self.pid is not None and pid_alive(self.pid)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the beam pid (ejabberd stops cleanly on it), then make sure the session we
        started (ejabberdctl, erl_child_setup) is gone: its process group, never a name."""
        pid, self.pid = self.pid, None
        graceful = True
        if pid is not None and b"beam" in _cmdline(pid):
            graceful = terminate_pid(pid, timeout)
        elif pid is not None:
            _untrack(pid)
        launcher, self.launcher = self.launcher, None
        if launcher is not None:
            try:
                launcher.wait(timeout)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(launcher.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                launcher.wait()
            _untrack(launcher.pid)
        if not graceful:
            raise HarnessError(f"ejabberd {pid} ignored SIGTERM for {timeout}s, killed")

    def restart(self) -> None:
        self.stop()
        self.start()

    def api(self, command: str, **args) -> object:
        """A mod_http_api command (loopback only, no auth); returns the decoded answer."""
        import json
        import urllib.error
        import urllib.request
        req = urllib.request.Request(f"{self.http_url}/api/{command}",
                                     data=json.dumps(args).encode(), method="POST")
        try:
            with urllib.request.urlopen(req, timeout=20) as resp:
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as e:
            raise HarnessError(f"ejabberd api {command} {args}: {e.code} "
                               f"{e.read().decode(errors='replace')}") from None

    def register(self, user: str, host: str = "localhost", password: str = "pw") -> str:
        """Create an account (mod_http_api, about 10 ms). Returns the bare JID."""
        self.api("register", user=user, host=host, password=password)
        return f"{user}@{host}"

    def reset(self) -> None:
        """Back to no accounts (and so no rosters), for the next test of a shared server."""
        if not self.running:
            self.start()
        for user in self.api("registered_users", host="localhost") or []:
            self.api("unregister", user=user, host="localhost")

    def remove(self) -> None:
        """Stop, keep the log in workdir, delete our directory under /tmp."""
        import shutil
        self.stop()
        link = self.workdir / "ejabberd"
        if link.is_symlink():
            link.unlink()
        link.mkdir(exist_ok=True)
        for f in (self.log_path, self.console_log_path, self.log_path.with_name("error.log")):
            if f.exists():
                shutil.copy(f, link / f.name)
        shutil.rmtree(self.dir, ignore_errors=True)

    def diagnostics(self, lines: int = 40) -> str:
        return (f"--- {self.console_log_path} ---\n{tail(self.console_log_path, lines)}\n"
                f"--- {self.log_path} ---\n{tail(self.log_path, lines)}")


def server_kind() -> str:
    """The XMPP server of this run: $RESPA_E2E_SERVER (prosody or ejabberd; conftest sets it
    from --server)."""
    return os.environ.get("RESPA_E2E_SERVER", "prosody") or "prosody"


# ---------------------------------------------------------------------------
# child processes run in the foreground (respa, the echo component, stand-ins)
# ---------------------------------------------------------------------------
class Process:
    """A foreground child with stdout+stderr appended to a log file."""

    def __init__(self, argv: list[str], log_path: Union[str, Path], env: Optional[dict] = None,
                 name: str = "process"):
        self.argv = [str(a) for a in argv]
        self.log_path = Path(log_path)
        self.env = env
        self.name = name
        self.proc: Optional[subprocess.Popen] = None
        self.log_offset = 0          # where the current run's output begins
        self.unexpected_exits: list[str] = []   # crashes seen by stop()
        self._accounted = False     # this run's exit has been looked at already
        self.popen_kwargs: dict = {}    # extra subprocess.Popen arguments for the next start()

    def start(self) -> None:
        if self.running:
            raise HarnessError(f"{self.name} already running")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        self._accounted = False
        with open(self.log_path, "ab") as out:
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT, env=self.env,
                                         start_new_session=True,  # ^C in the terminal is ours
                                         **self.popen_kwargs)
        _track(self.proc.pid, self.name)

    @property
    def pid(self) -> Optional[int]:
        return self.proc.pid if self.proc else None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def returncode(self) -> Optional[int]:
        return self.proc.poll() if self.proc else None

    def log_text(self, whole: bool = False) -> str:
        """Output of the current run (or of all runs with whole=True)."""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(0 if whole else self.log_offset)
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def log_mark(self) -> int:
        """Where the log ends now: pass it as `since` to wait only for lines written later."""
        try:
            return self.log_path.stat().st_size
        except OSError:
            return 0

    def wait_for_log(self, pattern: Union[str, re.Pattern], timeout: float = 10.0,
                     since: Optional[int] = None) -> str:
        """Wait for a line of this run (or after the log_mark() `since`) matching pattern
        (substring or regex); returns it."""
        rx = pattern if isinstance(pattern, re.Pattern) else re.compile(re.escape(pattern))
        lines = self._lines(since)
        found: list[str] = []

        def seen() -> bool:
            found.extend(line for line in lines() if rx.search(line))
            if found:
                return True
            if not self.running:
                raise HarnessError(f"{self.name} exited with {self.returncode} while waiting "
                                   f"for {rx.pattern!r}\n{self.diagnostics()}")
            return False

        wait_until(seen, timeout, f"{self.name} log line {rx.pattern!r}", self.diagnostics)
        return found[0]

    async def wait_for_log_async(self, pattern: Union[str, re.Pattern], timeout: float = 10.0,
                                 since: Optional[int] = None) -> str:
        """wait_for_log from an async test: the clients keep answering while we wait (e.g. an
        agent's client approving respa's presence subscription)."""
        return await asyncio.to_thread(self.wait_for_log, pattern, timeout, since)

    def _lines(self, since: Optional[int] = None) -> Callable[[], list[str]]:
        """An incremental reader of this run's complete log lines (debug logs grow large)."""
        pos, partial = max(self.log_offset, since or 0), b""
        # a mark taken while a line was half written: its rest is older news, skip it
        mid_line = (since is not None and since > self.log_offset
                    and self._byte_at(since - 1) != b"\n")

        def read() -> list[str]:
            nonlocal pos, partial, mid_line
            try:
                with open(self.log_path, "rb") as f:
                    f.seek(pos)
                    chunk = f.read()
            except OSError:
                return []
            pos += len(chunk)
            *complete, partial = (partial + chunk).split(b"\n")
            if mid_line and complete:
                complete, mid_line = complete[1:], False
            return [c.decode(errors="replace") for c in complete]
        return read

    def _byte_at(self, offset: int) -> bytes:
        try:
            with open(self.log_path, "rb") as f:
                f.seek(offset)
                return f.read(1)
        except OSError:
            return b""

    def wait_exit(self, timeout: float = 10.0) -> int:
        """Wait for the process to exit by itself (e.g. after a fatal stream error)."""
        assert self.proc is not None
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise HarnessError(f"{self.name} still running after {timeout}s\n"
                               f"{self.diagnostics()}") from None
        self._finished()
        return rc

    def _finished(self) -> None:
        self._accounted = True
        _untrack(self.proc.pid)

    def stop(self, timeout: float = 5.0) -> Optional[int]:
        """SIGTERM our pid, wait, SIGKILL as a fallback. Returns the exit code.
        Crashes and ignored SIGTERMs are recorded in unexpected_exits."""
        if self.proc is None:
            return None
        rc = self.proc.poll()
        if self._accounted:
            return rc
        if rc is not None:
            if rc < 0:
                self.unexpected_exits.append(f"{self.name} died by signal {-rc} during the test")
        else:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                rc = self.proc.wait()
                self.unexpected_exits.append(f"{self.name} ignored SIGTERM for {timeout}s")
            else:
                if rc != 0:
                    self.unexpected_exits.append(f"{self.name} exited {rc} on SIGTERM")
        self._finished()
        return rc

    def kill9(self) -> Optional[int]:
        """SIGKILL (crash simulation): not counted as unexpected."""
        if self.proc is None:
            return None
        if self.proc.poll() is not None:
            return self.stop()      # it was gone already: judge that exit like stop() does
        self.proc.kill()
        rc = self.proc.wait()
        self._finished()
        return rc

    def diagnostics(self, lines: int = 40) -> str:
        return f"--- {self.log_path} (tail) ---\n{tail(self.log_path, lines)}"


# ---------------------------------------------------------------------------
# respa
# ---------------------------------------------------------------------------
Sections = dict[str, Optional[dict[str, object]]]


def render_ini(sections: Sections) -> str:
    """INI text for respa; list values become space-separated, None sections are skipped."""
    out = []
    for name, keys in sections.items():
        if keys is None:
            continue
        out.append(f"[{name}]")
        for key, value in keys.items():
            if value is None:
                continue
            if isinstance(value, (list, tuple)):
                value = " ".join(str(v) for v in value)
            out.append(f"{key} = {value}")
        out.append("")
    return "\n".join(out)


def merge_sections(base: Sections, extra: Sections) -> Sections:
    """extra overrides base key by key; a None section removes it, a None key removes the key."""
    merged: Sections = {k: dict(v) if v is not None else None for k, v in base.items()}
    for name, keys in extra.items():
        if keys is None or merged.get(name) is None:
            merged[name] = dict(keys) if keys is not None else None
        else:
            merged[name].update(keys)
    for keys in merged.values():
        if keys:
            for k in [k for k, v in keys.items() if v is None]:
                del keys[k]
    return merged


class Respa(Process):
    """The respa daemon against a harness Prosody, with its config and database in workdir."""

    def __init__(self, workdir: Union[str, Path], prosody: Optional[Prosody] = None,
                 config: Optional[Sections] = None, raw_config: Optional[str] = None,
                 binary: Union[str, Path, None] = None, extra_args: Iterable[str] = ("-v",)):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.binary = Path(binary) if binary else respa_binary()
        self.config_path = self.dir / "respa.conf"
        self.db_path = self.dir / "respa.db"
        self.prosody = prosody
        self.sections = merge_sections(self.default_sections(), config or {})
        self.raw_config = raw_config
        env = dict(os.environ)
        # report every sanitizer finding in the log, where teardown looks for it
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
        super().__init__([self.binary, "-c", self.config_path, *extra_args],
                         self.dir / "respa.log", env=env, name="respa")

    def default_sections(self) -> Sections:
        p = self.prosody
        return {
            "component": {
                "jid": COMPONENT_JID,
                "host": "127.0.0.1",
                "port": p.component_port if p else 5347,
                "secret": p.secret if p else COMPONENT_SECRET,
            },
            "storage": {"database": self.db_path},
        }

    def write_config(self) -> Path:
        text = self.raw_config if self.raw_config is not None else render_ini(self.sections)
        # the file holds the secret: respa refuses group/other-readable configs
        fd = os.open(self.config_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(self.config_path, 0o600)
        return self.config_path

    def require_binary(self) -> None:
        if not os.access(self.binary, os.X_OK):
            raise HarnessError(f"respa binary not found at {self.binary} "
                               f"(build it, or set RESPA_BIN)")

    def start(self) -> None:
        self.require_binary()
        self.write_config()
        super().start()

    def wait_ready(self, timeout: float = 10.0) -> str:
        # a word, so that e.g. "already connected" does not count
        return self.wait_for_log(re.compile(r"\bready\b"), timeout)

    def restart(self, wait: bool = True) -> None:
        """Stop and start again with the same config and database."""
        self.stop()
        self.start()
        if wait:
            self.wait_ready()

    def check_config(self) -> subprocess.CompletedProcess:
        """`respa -n -c FILE`: validate the config without connecting."""
        self.require_binary()
        self.write_config()
        res = subprocess.run([str(self.binary), "-n", "-c", str(self.config_path)],
                             capture_output=True, text=True, timeout=10, env=self.env)
        with open(self.log_path, "a") as log:   # so teardown sees sanitizer reports too
            log.write(f"$ respa -n -c {self.config_path}  => exit {res.returncode}\n"
                      f"{res.stdout}{res.stderr}")
        return res

    # --- fault injection: a full disk --------------------------------------------
    def allow_disk_full(self) -> None:
        """Call before start() to use disk_full(): respa then inherits Python's ignored
        SIGXFSZ, so a write past RLIMIT_FSIZE fails with EFBIG (as ENOSPC would on a full
        disk) instead of killing it."""
        self.popen_kwargs["restore_signals"] = False

    def disk_full(self, full: bool = True) -> None:
        """From now on none of respa's files can grow (RLIMIT_FSIZE at the size of the WAL,
        which every commit appends to); full=False lifts the limit."""
        assert self.running and self.popen_kwargs.get("restore_signals") is False, \
            "start respa after allow_disk_full()"
        if not full:
            resource.prlimit(self.pid, resource.RLIMIT_FSIZE,
                             (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
            return
        wal = self.db_path.with_name(self.db_path.name + "-wal").stat().st_size
        if self.log_path.stat().st_size + 4096 >= wal:
            raise HarnessError("respa's log is about as big as its WAL: disk_full() would "
                               "stop the log too")
        resource.prlimit(self.pid, resource.RLIMIT_FSIZE, (wal, resource.RLIM_INFINITY))

    def db(self) -> sqlite3.Connection:
        """A read-only connection to respa's database (tests must not write)."""
        conn = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=5)
        conn.row_factory = sqlite3.Row
        return conn

    def sanitizer_reports(self) -> list[str]:
        text = self.log_text(whole=True)
        return [m for m in SANITIZER_MARKERS if m in text]

    def problems(self) -> list[str]:
        """What should fail the test at teardown: sanitizer reports, crashes, hangs."""
        found = list(self.unexpected_exits)
        found += [f"sanitizer report in respa log: {m!r}" for m in self.sanitizer_reports()]
        return found


# ---------------------------------------------------------------------------
# the shared echo component (harness self-test, stand-in for respa)
# ---------------------------------------------------------------------------
ECHO_SOURCE = Path("/work/shared/stack/echo_component.c")


def build_echo_component(outdir: Union[str, Path], source: Path = ECHO_SOURCE) -> Path:
    out = Path(outdir) / "echo_component"
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "libstrophe"],
                           capture_output=True, text=True, check=True).stdout.split()
    subprocess.run(["cc", "-O1", "-g", "-Wall", "-o", str(out), str(source), *flags],
                   check=True, capture_output=True, text=True)
    return out


def echo_component(binary: Path, prosody: Prosody, workdir: Union[str, Path],
                   jid: str = COMPONENT_JID, secret: Optional[str] = None) -> Process:
    """A started echo component connected to prosody (args: jid secret host port)."""
    proc = Process([binary, jid, secret or prosody.components[jid], "127.0.0.1",
                    prosody.component_port], Path(workdir) / f"echo-{jid}.log", name="echo")
    proc.start()
    proc.wait_for_log("CONNECTED as")
    return proc


# ---------------------------------------------------------------------------
# slixmpp clients
# ---------------------------------------------------------------------------
Match = Union[str, Callable[[slixmpp.Message], bool], None]


class Mailbox:
    """Received stanzas; expect() takes the first match and keeps the others for later."""

    def __init__(self, describe: Callable[[object], str]):
        self.items: list = []
        self.history: list = []     # everything received, in arrival order (claimed or not)
        self._arrived = asyncio.Event()
        self._describe = describe

    def put(self, stanza) -> None:
        self.items.append(stanza)
        self.history.append(stanza)
        self._arrived.set()

    def take(self, pred: Callable[[object], bool]):
        for i, st in enumerate(self.items):
            if pred(st):
                return self.items.pop(i)
        return None

    async def expect(self, pred: Callable[[object], bool], timeout: float, what: str):
        __tracebackhide__ = True   # pytest: show the test line, not this loop
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            found = self.take(pred)
            if found is not None:
                return found
            self._arrived.clear()
            remaining = deadline - loop.time()
            if remaining <= 0:
                seen = "\n  ".join(self._describe(s) for s in self.items) or "(nothing)"
                raise AssertionError(f"no {what} within {timeout}s; unclaimed:\n  {seen}")
            try:
                await asyncio.wait_for(self._arrived.wait(), remaining)
            except asyncio.TimeoutError:
                pass


def _jid_matches(actual: slixmpp.JID, wanted: Optional[str]) -> bool:
    """A wanted JID with a resource matches exactly, a bare one matches any resource."""
    if wanted is None:
        return True
    return actual.full == wanted if "/" in wanted else actual.bare == slixmpp.JID(wanted).bare


STANZA_ERRORS_NS = "urn:ietf:params:xml:ns:xmpp-stanzas"


def error_condition(st) -> str:
    """The defined condition of an error stanza, read from the XML: slixmpp's
    st['error']['condition'] knows only RFC 3920's list and gives '' for e.g.
    policy-violation (RFC 6120)."""
    err = st.xml.find("{%s}error" % st.namespace)
    if err is None:
        return ""
    for child in err:
        if child.tag.startswith("{%s}" % STANZA_ERRORS_NS) and not child.tag.endswith("}text"):
            return child.tag.split("}", 1)[1]
    return ""


def _describe(st) -> str:
    kind = st.name
    body = st["body"] if kind == "message" else st["show"]
    err = f" error={error_condition(st)}" if st["type"] == "error" else ""
    return f"<{kind} from={st['from']} type={st['type']}{err}> {body!r}"


class _Stream(slixmpp.ClientXMPP):
    def __init__(self, jid: str, password: str, address: tuple[str, int]):
        super().__init__(jid, password)
        self.server_address = address

    async def get_dns_records(self, domain, port=None):
        # we always connect to the given loopback address: skip DNS (guest.localhost has none)
        return [(domain, self.server_address[0], self.server_address[1])]


class Client:
    """A scripted XMPP user. Create inside the test's event loop, then `await start()`.

    jid 'guest.localhost' with no password logs in anonymously (SASL ANONYMOUS);
    `jid` holds the server-assigned bare JID afterwards. The slixmpp stream is `xmpp`.
    """

    def __init__(self, jid: str, password: str = "", address: tuple[str, int] = ("127.0.0.1", 5222)):
        self.xmpp = x = _Stream(jid, password, address)
        x.auto_authorize = True      # approve subscription requests (respa subscribes to agents)
        x.auto_subscribe = False     # but do not subscribe back on our own
        self.messages = Mailbox(_describe)
        self.presences = Mailbox(_describe)
        self._session: asyncio.Future = asyncio.get_running_loop().create_future()
        for plugin in ("xep_0030", "xep_0199", "xep_0092", "xep_0203"):   # 0203: msg['delay']
            x.register_plugin(plugin)
        # 'message' fires only for messages with a <body>; errors with a body fire both events
        x.add_event_handler("message", lambda m: m["type"] == "error" or self.messages.put(m))
        x.add_event_handler("message_error", self.messages.put)
        x.add_event_handler("presence", self.presences.put)
        x.add_event_handler("session_start", lambda _: self._settle(None))
        x.add_event_handler("failed_all_auth",
                            lambda _: self._settle(AssertionError(f"{jid}: authentication failed")))

    def _settle(self, error: Optional[Exception]) -> None:
        if not self._session.done():
            if error:
                self._session.set_exception(error)
            else:
                self._session.set_result(True)

    @property
    def jid(self) -> str:
        """Our bare JID (the server-assigned one for anonymous logins)."""
        return self.xmpp.boundjid.bare

    @property
    def full_jid(self) -> str:
        return self.xmpp.boundjid.full

    async def start(self, show: Optional[str] = None, presence: bool = True,
                    timeout: float = 10.0) -> "Client":
        """Connect, authenticate, bind; then send initial presence (with `show`) unless told not to.
        Also reconnects a client that lost its connection (e.g. across a Prosody restart)."""
        if self._session.done():
            self._session = asyncio.get_running_loop().create_future()
        self.xmpp.connect(address=self.xmpp.server_address, use_ssl=False, force_starttls=False,
                          disable_starttls=True)
        try:
            await asyncio.wait_for(asyncio.shield(self._session), timeout)
        except asyncio.TimeoutError:
            self._give_up()
            raise AssertionError(f"{self.xmpp.boundjid}: no session within {timeout}s") from None
        except AssertionError:
            self._give_up()
            raise
        if presence:
            # wait for the server to reflect our initial presence: until it has, messages
            # to our bare JID do not reach this resource (a race on an agent's second device)
            pres = self.xmpp.make_presence(pshow=show)
            pres["id"] = pid = self.xmpp.new_id()
            pres.send()
            await self.presences.expect(
                lambda p: p["id"] == pid and p["from"].full == self.full_jid, timeout,
                "our own initial presence back from the server")
        return self

    # --- sending -----------------------------------------------------------
    def send(self, to: str, body: str, mtype: str = "chat") -> None:
        self.xmpp.send_message(mto=to, mbody=body, mtype=mtype)

    def set_presence(self, show: Optional[str] = None, status: Optional[str] = None,
                     ptype: Optional[str] = None, to: Optional[str] = None) -> None:
        """Broadcast presence (or direct it `to` someone); show None = plain available;
        ptype 'unavailable' goes offline."""
        self.xmpp.send_presence(pshow=show, pstatus=status, ptype=ptype, pto=to)

    # --- receiving -----------------------------------------------------------
    async def expect(self, match: Match = None, frm: Optional[str] = None,
                     timeout: float = 10.0) -> slixmpp.Message:
        """First non-error message whose body contains `match` (or for which match(msg) is
        true; a callable also sees errors). Others stay queued for later expects."""
        __tracebackhide__ = True
        if callable(match):
            pred = match
        else:
            pred = lambda m: m["type"] != "error" and (match is None or match in m["body"])
        return await self.messages.expect(lambda m: _jid_matches(m["from"], frm) and pred(m),
                                          timeout, f"message {match!r} from {frm or 'anyone'}")

    def arrival(self, msg: slixmpp.Message) -> int:
        """0-based arrival position of a message received by this client (to check order)."""
        return next(i for i, m in enumerate(self.messages.history) if m is msg)

    async def expect_error(self, condition: Optional[str] = None, frm: Optional[str] = None,
                           timeout: float = 10.0) -> slixmpp.Message:
        """First message error (optionally with this defined condition, e.g. 'forbidden')."""
        __tracebackhide__ = True
        def pred(m):
            return (m["type"] == "error" and _jid_matches(m["from"], frm)
                    and (condition is None or error_condition(m) == condition))
        return await self.messages.expect(pred, timeout,
                                          f"message error {condition!r} from {frm or 'anyone'}")

    async def no_message(self, within: float = 0.5, frm: Optional[str] = None) -> None:
        """Assert nothing (from frm) arrives for `within` seconds: XMPP has no ack for silence."""
        await asyncio.sleep(within)
        extra = [m for m in self.messages.items if _jid_matches(m["from"], frm)]
        assert not extra, "unexpected messages:\n  " + "\n  ".join(_describe(m) for m in extra)

    async def expect_presence(self, ptype: Optional[str] = None, frm: Optional[str] = None,
                              timeout: float = 10.0) -> slixmpp.Presence:
        """First presence of this slixmpp type ('subscribe', 'unavailable', 'available',
        'away', ...; None = any)."""
        __tracebackhide__ = True
        def pred(p):
            return _jid_matches(p["from"], frm) and (ptype is None or p["type"] == ptype)
        return await self.presences.expect(pred, timeout, f"presence {ptype!r} from {frm}")

    # --- iq ------------------------------------------------------------------
    async def disco_info(self, jid: str, node: Optional[str] = None, timeout: float = 10.0):
        return await self.xmpp["xep_0030"].get_info(jid=jid, node=node, local=False,
                                                    timeout=timeout)

    async def disco_items(self, jid: str, node: Optional[str] = None, timeout: float = 10.0):
        return await self.xmpp["xep_0030"].get_items(jid=jid, node=node, local=False,
                                                     timeout=timeout)

    async def ping(self, jid: str, timeout: float = 10.0) -> float:
        """Round-trip time in seconds; raises IqError on an error reply."""
        return await self.xmpp["xep_0199"].ping(jid, timeout=timeout)

    async def version(self, jid: str, timeout: float = 10.0) -> dict:
        iq = await self.xmpp["xep_0092"].get_version(jid, timeout=timeout)
        return {k: iq["software_version"][k] for k in ("name", "version", "os")}

    async def iq(self, to: str, payload: str, itype: str = "get", timeout: float = 10.0):
        """Send an iq with a raw XML payload; returns the reply (result or error), never raises
        for error replies, so tests can look at error_condition(reply)."""
        iq = self.xmpp.make_iq(ito=to, itype=itype)
        iq.append(ET.fromstring(payload))
        try:
            return await iq.send(timeout=timeout)
        except IqError as e:
            return e.iq
        except IqTimeout:
            raise AssertionError(f"no reply to iq {itype} to {to} within {timeout}s") from None

    # --- connection state ------------------------------------------------------
    @property
    def connected(self) -> bool:
        return self.xmpp.transport is not None

    async def wait_disconnected(self, timeout: float = 10.0) -> None:
        """Wait until the server drops us (e.g. Prosody stopped)."""
        if self.connected:
            await asyncio.wait_for(asyncio.shield(self.xmpp.disconnected), timeout)

    # --- shutdown ------------------------------------------------------------
    def _give_up(self) -> None:
        # slixmpp retries a refused connection forever in the background: stop that too
        self.xmpp.cancel_connection_attempt()
        self.xmpp.abort()

    async def stop(self, timeout: float = 3.0) -> None:
        """Close the stream politely; abort the socket if the server does not answer."""
        self.xmpp.cancel_connection_attempt()
        try:
            await asyncio.wait_for(self.xmpp.disconnect(wait=timeout), timeout + 1)
        except Exception:
            self._give_up()

    disconnect = stop


class Clients:
    """Factory that remembers every client of a test so teardown can close them all."""

    def __init__(self, prosody: Prosody):
        self.prosody = prosody
        self.clients: list[Client] = []
        self._n = 0

    async def __call__(self, user: Optional[str] = None, *, host: str = "localhost",
                       password: str = "pw", register: bool = True, show: Optional[str] = None,
                       presence: bool = True, anonymous: bool = False,
                       resource: Optional[str] = None) -> Client:
        """A started client. user@host is registered first (unless register=False);
        anonymous=True logs in on guest.localhost instead."""
        if anonymous:
            jid, password = "guest.localhost", ""
        else:
            if user is None:
                self._n += 1
                user = f"user{self._n}"
            if register:
                self.prosody.register(user, host, password)
            # distinct default resources: the same account may log in twice (agent on 2 devices)
            jid = f"{user}@{host}/{resource or f'e2e-{len(self.clients) + 1}'}"
        client = Client(jid, password, self.prosody.c2s_address)
        self.clients.append(client)
        return await client.start(show=show, presence=presence)

    async def close_all(self) -> None:
        await asyncio.gather(*(c.stop() for c in self.clients), return_exceptions=True)
        self.clients.clear()
