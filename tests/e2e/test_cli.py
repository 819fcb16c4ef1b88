"""The command line: -n, --version, --help, refused configurations, and the stream errors
that end respa (wrong secret, a second instance)."""
import asyncio
import os
import re
import signal
import sqlite3
import subprocess

import pytest

from harness import COMPONENT_JID, Respa, server_kind
from desk import QUEUE

GOOD = """\
[component]
jid = support.localhost
secret = s3cret             ; comment after a value
port = 5347

[storage]
database = {db}

[agent alice@localhost]
capacity = 2

[queue support]
name = "Customer support ; with a semicolon"
agents = alice@localhost, bob@localhost
timezone = Europe/Helsinki
"""


def run_respa(r: Respa, *args) -> subprocess.CompletedProcess:
    return subprocess.run([str(r.binary), *args], capture_output=True, text=True, timeout=10,
                          env=r.env)


def test_check_good_config(respa):
    r = respa(raw_config=GOOD.format(db="/nonexistent/dir/respa.db"), start=False)
    res = r.check_config()       # -n reads the file only: no database, no server
    assert (res.returncode, res.stdout, res.stderr) == (0, "configuration OK\n", "")


def test_check_harness_default_config(respa):
    r = respa(config={"queue support": {"agents": "alice@localhost"}}, start=False)
    res = r.check_config()
    assert res.returncode == 0 and res.stdout == "configuration OK\n"


def test_bad_configs_report_file_and_line(respa):
    text = """\
[component]
jid = support.localhost
secret = s3cret
port = 99999
colour = blue

[storage]
database = /tmp/x.db

[frobnicate]
x = 1

[queue support]
agents = alice@localhost
timezone = Mars/Olympus
"""
    r = respa(raw_config=text, start=False)
    res = r.check_config()
    assert res.returncode == 1 and res.stdout == ""
    path = str(r.config_path)
    errors = res.stderr.splitlines()
    assert len(errors) == 4, res.stderr           # every mistake, each once
    assert errors[0].startswith(f"{path}:4: ") and "port" in errors[0] and "99999" in errors[0]
    assert errors[1].startswith(f"{path}:5: ") and 'unknown key "colour"' in errors[1]
    assert errors[2].startswith(f"{path}:10: ") and "unknown section [frobnicate]" in errors[2]
    assert errors[3].startswith(f"{path}:15: ") and "Mars/Olympus" in errors[3]


def test_each_kind_of_mistake_alone(respa):
    base = "[component]\njid = support.localhost\nsecret = s\n"
    cases = {
        base + "port = http\n": (4, "port must be a number"),
        base + "prot = 5347\n": (4, 'unknown key "prot" in [component]'),
        base + "[queues support]\n": (4, "unknown section [queues]"),
        base + "secret = again\n": (4, "secret is set twice"),
        base + "[queue Support]\nagents = a@b\n": (4, 'bad queue name "Support"'),
        base + "[queue c-12]\n": (4, 'bad queue name "c-12"'),
        base + "[agent alice@localhost]\ncapacity = 0\n": (5, "capacity must be"),
        base + "[component]\nmax_body = 5\n": (5, "max_body must be"),
        base + "nonsense\n": (4, "expected key = value"),
    }
    for text, (line, what) in cases.items():
        r = respa(raw_config=text, start=False)
        res = r.check_config()
        assert res.returncode == 1, text
        assert f"{r.config_path}:{line}: " in res.stderr and what in res.stderr, (text, res.stderr)
        assert "configuration OK" not in res.stdout


def test_missing_required_keys(respa):
    r = respa(raw_config="[storage]\ndatabase = /tmp/x.db\n", start=False)
    res = r.check_config()
    assert res.returncode == 1
    assert "[component] jid is missing" in res.stderr
    assert "[component] secret is missing" in res.stderr


def test_config_readable_by_others_is_refused(respa):
    r = respa(config={"queue support": {"agents": "alice@localhost"}}, start=False)
    r.write_config()
    os.chmod(r.config_path, 0o644)
    for args in (["-n", "-c", str(r.config_path)], ["-c", str(r.config_path)]):
        res = run_respa(r, *args)
        assert res.returncode == 1, args
        assert "other users can read it" in res.stderr and "chmod 600" in res.stderr
        assert "configuration OK" not in res.stdout
    assert not r.db_path.exists()            # refused before anything else happened


def test_missing_config_file(respa, tmp_path):
    r = respa(start=False)
    res = run_respa(r, "-n", "-c", str(tmp_path / "nope.conf"))
    assert res.returncode == 1 and "nope.conf" in res.stderr


@pytest.mark.ejabberd
def test_wrong_secret_exits_with_not_authorized(respa):
    r = respa(config={"component": {"secret": "wrong"}}, wait=False)
    assert r.wait_exit() == 1
    log = r.log_text()
    assert "not-authorized" in log and str(r.config_path) in log
    assert "either the secret is wrong or the server has no component support.localhost" in log
    assert not re.search(r"\bready\b", log)
    assert "reconnecting" not in log         # retrying cannot mend it


@pytest.mark.ejabberd
def test_unknown_component_exits_naming_it(respa):
    r = respa(config={"component": {"jid": "nosuch.localhost"}}, wait=False)
    assert r.wait_exit() == 1
    log = r.log_text()
    if server_kind() == "ejabberd":   # not-authorized, as for a wrong secret, and no text
        assert "either the secret is wrong or the server has no component nosuch.localhost" \
            in log
    else:
        assert "host-unknown" in log and "nosuch.localhost" in log


@pytest.mark.ejabberd
async def test_second_instance_exits_and_the_first_keeps_working(desk, respa):
    """Prosody refuses a second component connection (conflict); ejabberd accepts it and would
    split the traffic: respa's probes find the twin, which exits before handling anything."""
    first = await desk.start(agents=["alice"])
    second = respa(config=desk.config(["alice"]), wait=False)    # a database of its own
    assert await asyncio.to_thread(second.wait_exit, 15) == 1
    log = second.log_text()
    assert "only one respa may run per component" in log
    assert not re.search(r"\bready\b", log)
    assert first.running
    assert "disconnected" not in first.log_text()

    # nothing split: every chat and ping reaches the first; the second stored nothing
    alice = desk.agent("alice")
    for name in ("bob", "carol", "dave"):
        customer = await desk.customer(name)
        conv = await desk.open_chat(customer, alice, f"{name} still there?")
        alice.send(conv, f"yes {name}")
        await customer.expect(f"yes {name}", frm=QUEUE)
        assert await customer.ping(COMPONENT_JID) >= 0
    with second.db() as db:
        assert db.execute("SELECT count(*) FROM conversations").fetchone()[0] == 0
        assert db.execute("SELECT count(*) FROM messages").fetchone()[0] == 0
    assert len(desk.rows("SELECT id FROM conversations")) == 3
    if server_kind() == "ejabberd":   # the first saw the twin's probes, and said so
        assert "only one respa may run per component" in first.log_text()


@pytest.mark.ejabberd
async def test_a_client_cannot_pose_as_a_twin(desk):
    """Only a component of our domain can send from twin-TOKEN@domain: a client writing to
    such an address is answered as for any unknown address, and respa runs on."""
    r = await desk.start(agents=["alice"])
    bob = await desk.customer("bob")
    bob.send(f"twin-0123456789abcdef0123456789abcdef@{COMPONENT_JID}", "are you a twin?")
    await bob.expect_error("item-not-found")
    assert r.running and "another respa" not in r.log_text()


def test_version_and_help(respa):
    r = respa(start=False)
    res = run_respa(r, "--version")
    assert res.returncode == 0 and re.fullmatch(r"respa \d+\.\d+\.\d+\n", res.stdout)
    res = run_respa(r, "--help")
    assert res.returncode == 0 and res.stdout.startswith("usage: respa")
    for option in ("-c file", "-n", "-v", "--version", "--help"):
        assert option in res.stdout
    res = run_respa(r, "--frobnicate")
    assert res.returncode == 1 and "usage: respa" in res.stderr
    res = run_respa(r, "-c", str(r.config_path), "extra-argument")
    assert res.returncode == 1 and "usage: respa" in res.stderr


async def test_sighup_reloads_an_unchanged_file_sigint_stops_cleanly(desk):
    r = await desk.start(agents=["alice"])
    mark = r.log_mark()
    os.kill(r.pid, signal.SIGHUP)
    await r.wait_for_log_async("reload: done", since=mark)
    changes = [line for line in r.log_text().splitlines()
               if "reload:" in line and "reload: done" not in line]
    assert changes == []                     # the same file: nothing changed, nothing said
    bob = await desk.customer("bob")
    await desk.open_chat(bob, desk.agent("alice"), "still working after SIGHUP?")
    os.kill(r.pid, signal.SIGINT)
    assert r.wait_exit() == 0
    assert "stopped" in r.log_text()


def test_database_from_a_newer_respa_is_refused(respa):
    r = respa(start=False)
    db = sqlite3.connect(r.db_path)      # respa's own database does not exist yet
    db.execute("PRAGMA user_version = 99")
    db.commit()
    db.close()
    r.start()
    assert r.wait_exit() == 1
    assert "schema version 99 is newer" in r.log_text()
    with sqlite3.connect(r.db_path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 99   # left as it was


def test_unusable_database_exits_1(respa, tmp_path):
    r = respa(config={"storage": {"database": tmp_path / "no" / "such" / "dir" / "x.db"}},
              wait=False)
    assert r.wait_exit() == 1
    assert "unable to open database file" in r.log_text()
    garbage = respa(start=False)
    garbage.db_path.write_bytes(b"not a database at all " * 200)
    garbage.start()
    assert garbage.wait_exit() == 1
    assert "not a database" in garbage.log_text()


def without_root_override(r: Respa) -> None:
    """Runs respa bound by file permissions even as root: no CAP_DAC_OVERRIDE."""
    if os.geteuid() == 0:
        r.argv = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--", *r.argv]


def test_database_respa_cannot_write_is_refused_at_start(respa):
    """SQLite opens a file it may not write read-only without a word: respa said "ready",
    then refused every message."""
    r = respa()
    r.stop()
    r.db_path.chmod(0o444)
    argv = list(r.argv)
    without_root_override(r)
    r.start()
    assert r.wait_exit() == 1
    log = r.log_text()
    assert f"database {r.db_path} is read-only: respa must be able to write it" in log
    assert not re.search(r"\bready\b", log) and "connecting" not in log

    # the file may be written, but its directory takes no -wal or -shm file
    r.db_path.chmod(0o644)
    r.dir.chmod(0o555)
    try:
        r.start()
        assert r.wait_exit() == 1
    finally:
        r.dir.chmod(0o755)
    log = r.log_text()
    assert f"database {r.db_path}: respa cannot write it" in log, log
    assert not re.search(r"\bready\b", log)

    r.argv = argv
    r.restart()                           # writable again: it runs
    with r.db() as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] >= 1


def test_database_is_migrated_and_reused(respa):
    r = respa()
    assert "applied 001-initial.sql" in r.log_text()
    with r.db() as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] >= 1
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    r.restart()
    assert "applied" not in r.log_text()     # nothing left to migrate


def run_logging_to(r: Respa, log, journal_stream: str) -> int:
    """respa with stderr on `log` and JOURNAL_STREAM as given; the wrong secret ends it."""
    env = dict(r.env or os.environ, JOURNAL_STREAM=journal_stream)
    return subprocess.run([str(r.binary), "-c", str(r.config_path)], stdout=log, stderr=log,
                          env=env, timeout=30).returncode


def test_journal_gets_priorities_and_no_second_timestamp(respa, tmp_path):
    """Under systemd (stderr is the stream JOURNAL_STREAM names) each line starts with its
    syslog priority and carries no time of its own; anywhere else lines are as before."""
    r = respa(config={"component": {"secret": "wrong"}}, start=False)
    r.write_config()
    path = tmp_path / "journal.log"
    with open(path, "wb") as log:
        st = os.fstat(log.fileno())
        assert run_logging_to(r, log, f"{st.st_dev}:{st.st_ino}") == 1
    lines = path.read_text().splitlines()
    assert lines, "respa logged nothing"
    assert all(re.match(r"<[3-7]>(fatal|warning|info|debug): ", line) for line in lines), lines
    assert any(line.startswith("<6>info: ") for line in lines)
    assert any(line.startswith("<4>warning: not-authorized") for line in lines), lines
    assert not any(re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", line) for line in lines)

    # stderr redirected elsewhere (JOURNAL_STREAM names another file): timestamps as usual
    other = tmp_path / "other.log"
    with open(path, "wb") as log, open(other, "wb") as elsewhere:
        st = os.fstat(elsewhere.fileno())
        assert run_logging_to(r, log, f"{st.st_dev}:{st.st_ino}") == 1
    lines = path.read_text().splitlines()
    assert lines and all(re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ respa ", line)
                         for line in lines), lines
