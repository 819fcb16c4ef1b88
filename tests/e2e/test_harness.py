"""Self-test of the e2e harness against the real Prosody, with the shared libstrophe echo
component standing in for respa. If these fail, fix the harness before blaming respa."""
import asyncio
import os
import stat
import textwrap

import pytest

from harness import (COMPONENT_JID, HarnessError, Respa, free_ports, merge_sections,
                     pid_alive, port_open, render_ini)

ECHO_PEER = f"someone@{COMPONENT_JID}"


# --- Prosody lifecycle ---------------------------------------------------------
def test_prosody_stop_really_stops_it(prosody):
    pid = prosody.pid
    assert pid_alive(pid) and port_open(prosody.c2s_port)
    prosody.stop()
    assert not pid_alive(pid)
    assert not port_open(prosody.c2s_port) and not port_open(prosody.component_port)
    prosody.stop()  # idempotent


async def test_prosody_restart_keeps_accounts_and_clients_reconnect(prosody, make_client):
    alice = await make_client("alice")
    old_pid = prosody.pid
    await prosody.restart_async()
    assert prosody.pid != old_pid and not pid_alive(old_pid)
    await alice.wait_disconnected()
    await alice.start()   # same account, same Client object
    bob = await make_client("bob")
    bob.send(alice.jid, "still there?")
    await alice.expect("still there?", frm=bob.jid)


async def test_same_account_twice_gets_both_copies(make_client):
    """An agent logged in on two devices: messages to the bare JID reach both."""
    bob = await make_client("bob")
    phone = await make_client("alice")
    desk = await make_client("alice", register=False)
    assert phone.full_jid != desk.full_jid and phone.connected
    bob.send("alice@localhost", "to both")
    await phone.expect("to both")
    await desk.expect("to both")


def test_free_ports_are_distinct():
    ports = free_ports(5)
    assert len(set(ports)) == 5


# --- clients, directly ---------------------------------------------------------
async def test_clients_message_each_other(make_client):
    alice = await make_client("alice")
    bob = await make_client("bob")
    bob.send(alice.jid, "hi alice")
    msg = await alice.expect("hi alice", frm=bob.jid)
    assert msg["type"] == "chat" and msg["from"].full == bob.full_jid
    alice.send(bob.jid, "hi bob")
    await bob.expect("hi bob", frm=alice.jid)


async def test_anonymous_guest_gets_a_random_jid(make_client):
    alice = await make_client("alice")
    guest = await make_client(anonymous=True)
    assert guest.jid.endswith("@guest.localhost") and guest.jid != "guest.localhost"
    guest.send(alice.jid, "hello from a visitor")
    await alice.expect("hello from a visitor", frm=guest.jid)
    alice.send(guest.full_jid, "welcome")
    await guest.expect("welcome", frm=alice.jid)


async def test_expect_keeps_unmatched_messages(make_client):
    alice = await make_client("alice")
    bob = await make_client("bob")
    for body in ("first", "second", "third"):
        bob.send(alice.jid, body)
    assert (await alice.expect("third"))["body"] == "third"
    assert (await alice.expect("first"))["body"] == "first"
    assert (await alice.expect(lambda m: m["body"] == "second"))["body"] == "second"
    with pytest.raises(AssertionError, match="no message 'fourth'"):
        await alice.expect("fourth", timeout=0.2)


async def test_message_errors_are_reported(make_client):
    alice = await make_client("alice")
    alice.send("nobody@localhost", "anyone?")
    err = await alice.expect_error("service-unavailable", frm="nobody@localhost")
    assert err["type"] == "error"
    # an error never satisfies a plain expect(), even though it echoes our body
    with pytest.raises(AssertionError):
        await alice.expect("anyone?", timeout=0.2)


async def test_component_down_gives_an_error(make_client):
    alice = await make_client("alice")
    alice.send(ECHO_PEER, "is anyone there?")
    await alice.expect_error(frm=ECHO_PEER)  # Prosody: remote-server-timeout


async def test_wrong_password_fails_fast(make_client):
    await make_client("alice", password="right")
    with pytest.raises(AssertionError, match="authentication failed"):
        await make_client("alice", password="wrong", register=False)


async def test_server_iq_helpers(make_client):
    alice = await make_client("alice")
    info = await alice.disco_info("localhost")
    assert "urn:xmpp:ping" in info["disco_info"]["features"]
    assert (await alice.version("localhost"))["name"] == "Prosody"
    assert await alice.ping("localhost") >= 0
    reply = await alice.iq("localhost", "<query xmlns='urn:example:nothing'/>")
    assert reply["type"] == "error" and reply["error"]["condition"] == "service-unavailable"


# --- the echo component through the real server --------------------------------
async def test_echo_component_roundtrip(echo_component, make_client):
    echo_component()
    alice = await make_client("alice")
    alice.send(ECHO_PEER, "hello")
    msg = await alice.expect("echo: hello", frm=ECHO_PEER)
    assert msg["body"] == "echo: hello"
    assert msg["type"] == "chat"


async def test_anonymous_guest_reaches_component(echo_component, make_client):
    echo_component()
    guest = await make_client(anonymous=True)
    guest.send(f"support@{COMPONENT_JID}", "need help")
    await guest.expect("echo: need help", frm=f"support@{COMPONENT_JID}")


async def ask_presence(client, expected: str, attempts: int = 20) -> str:
    """The echo component reports the presence it recorded for us; presence has no ack,
    so ask until it matches (or give up and return the last answer)."""
    got = ""
    for _ in range(attempts):
        client.send(ECHO_PEER, "!presence")
        got = (await client.expect("presence of", frm=ECHO_PEER))["body"].rsplit(": ", 1)[1]
        if got == expected:
            break
        await asyncio.sleep(0.05)
    return got


async def test_component_presence_subscription(echo_component, make_client):
    """The flow respa relies on: component subscribes, client auto-authorizes, the
    component then sees every show change."""
    echo_component()
    agent = await make_client("agent")
    agent.send(ECHO_PEER, "hi")
    await agent.expect("echo: hi")
    sub = await agent.expect_presence("subscribe", frm=ECHO_PEER)
    assert sub["from"].bare == ECHO_PEER
    assert await ask_presence(agent, "available") == "available"
    agent.set_presence("away")
    assert await ask_presence(agent, "away") == "away"
    agent.set_presence("dnd")
    assert await ask_presence(agent, "dnd") == "dnd"


async def test_extra_component_after_restart(prosody, echo_component, make_client):
    prosody.add_component("gateway.localhost", "gw-secret")
    prosody.restart()
    echo_component("gateway.localhost")
    alice = await make_client("alice")
    alice.send("x@gateway.localhost", "via gateway")
    await alice.expect("echo: via gateway", frm="x@gateway.localhost")


# --- respa process handling (a fake respa script; no real binary needed) -----------
FAKE_RESPA = """\
#!/bin/bash
# stand-in for respa: logs like it, obeys or ignores SIGTERM as told
[ "$1" = -n ] && { echo "configuration OK"; exit 0; }
[ "$FAKE_IGNORE_TERM" = 1 ] && trap '' TERM || trap 'echo "respa: bye"; exit 0' TERM
echo "respa: args $*"
echo "respa: connected as support.localhost, ready"
[ -n "$FAKE_SAY" ] && echo "$FAKE_SAY"
while :; do sleep 0.05; done
"""


@pytest.fixture
def fake_respa(tmp_path, prosody, monkeypatch):
    script = tmp_path / "fake-respa"
    script.write_text(FAKE_RESPA)
    script.chmod(0o755)
    monkeypatch.setenv("RESPA_BIN", str(script))
    made = []

    def make(**env):
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        daemon = Respa(tmp_path / f"fake{len(made)}", prosody,
                       config={"queue support": {"agents": ["alice@localhost", "bob@localhost"]}})
        made.append(daemon)
        return daemon
    yield make
    for daemon in made:
        daemon.kill9()


def test_respa_config_and_lifecycle(fake_respa, prosody):
    daemon = fake_respa()
    daemon.start()
    assert "ready" in daemon.wait_ready()
    mode = stat.S_IMODE(os.stat(daemon.config_path).st_mode)
    assert mode == 0o600
    text = daemon.config_path.read_text()
    assert f"port = {prosody.component_port}" in text
    assert "agents = alice@localhost bob@localhost" in text
    assert f"args -c {daemon.config_path} -v" in daemon.log_text()
    daemon.restart()
    assert daemon.log_text().count("ready") == 1        # log_text() is this run only
    assert daemon.log_text(whole=True).count("ready") == 2
    assert daemon.stop() == 0
    assert daemon.problems() == []


def test_respa_check_config(fake_respa):
    daemon = fake_respa()
    res = daemon.check_config()
    assert res.returncode == 0 and res.stdout.strip() == "configuration OK"
    assert "configuration OK" in daemon.log_text(whole=True)
    assert not daemon.running


def test_respa_sanitizer_report_is_a_problem(fake_respa):
    daemon = fake_respa(FAKE_SAY="==1==ERROR: AddressSanitizer: heap-use-after-free")
    daemon.start()
    daemon.wait_for_log("AddressSanitizer")
    daemon.stop()
    assert any("AddressSanitizer" in p for p in daemon.problems())


def test_respa_ignoring_sigterm_is_a_problem(fake_respa):
    daemon = fake_respa(FAKE_IGNORE_TERM="1")
    daemon.start()
    daemon.wait_ready()
    daemon.stop(timeout=0.3)
    assert not daemon.running
    assert any("ignored SIGTERM" in p for p in daemon.problems())


def test_respa_crash_during_test_is_a_problem(fake_respa):
    daemon = fake_respa()
    daemon.start()
    daemon.wait_ready()
    os.kill(daemon.pid, 11)
    daemon.proc.wait(5)
    daemon.stop()
    assert any("signal 11" in p for p in daemon.problems())


def test_wait_ready_fails_fast_when_process_exits(tmp_path, prosody, monkeypatch):
    script = tmp_path / "dies"
    script.write_text("#!/bin/sh\necho 'config error: bad key' >&2\nexit 1\n")
    script.chmod(0o755)
    monkeypatch.setenv("RESPA_BIN", str(script))
    daemon = Respa(tmp_path / "d", prosody)
    daemon.start()
    with pytest.raises(HarnessError, match="exited with 1"):
        daemon.wait_ready(timeout=5)


def test_ini_rendering_and_merging():
    base = {"component": {"jid": "a", "port": 1}, "storage": {"database": "/x"}}
    merged = merge_sections(base, {"component": {"port": 2, "jid": None}, "storage": None,
                                   "queue q": {"agents": ["a@l", "b@l"]}})
    assert merged == {"component": {"port": 2}, "storage": None,
                      "queue q": {"agents": ["a@l", "b@l"]}}
    assert render_ini(merged) == textwrap.dedent("""\
        [component]
        port = 2

        [queue q]
        agents = a@l b@l
        """)
