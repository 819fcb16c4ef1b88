"""Limits on one customer ([limits]), the waiting line's cap (max_queue), follow-up tasks not
duplicated, ad-hoc sessions per JID, and a flood that leaves another customer's chat fast."""
import asyncio
import json
import secrets
import sys
import time
from pathlib import Path

import pytest

from adhoc import Commander
from desk import CLOSED, GREETING, QUEUE, QUEUED, exact
from harness import COMPONENT_JID, error_condition, respa_sanitized
from test_channels import widget_send

HERE = Path(__file__).resolve().parent
FULL = "so many customers are waiting right now"


def error_text(m) -> str:
    err = m.xml.find("{%s}error" % m.namespace)
    text = err.find("{urn:ietf:params:xml:ns:xmpp-stanzas}text") if err is not None else None
    return text.text if text is not None else ""


def error_type(m) -> str:
    err = m.xml.find("{%s}error" % m.namespace)
    return err.get("type") if err is not None else ""


def queue_jid(name):
    return f"{name}@{COMPONENT_JID}"


async def never_gets(client, text, within=0.5):
    """Nothing containing text reaches client within the time (other messages may)."""
    await asyncio.sleep(within)
    assert not [m for m in client.messages.items if text in m["body"]]


async def test_customer_past_max_open_is_refused_until_one_ends(desk):
    queues = {f"queue {q}": {"agents": "alice@localhost"} for q in ("billing", "sales", "tech")}
    await desk.start(agents=["alice"], capacity={"alice": 5}, extra=queues)
    alice = desk.agent("alice")
    bob = await desk.customer("bob")
    convs = []
    for q in ("support", "billing", "sales"):        # max_open_per_customer = 3 by default
        bob.send(queue_jid(q), f"question for {q}")
        convs.append((await alice.expect(f"question for {q}"))["from"].bare)
    bob.send(queue_jid("tech"), "a fourth one")
    err = await bob.expect_error("policy-violation", frm=queue_jid("tech"))
    assert error_type(err) == "cancel"
    assert "3 conversations open" in error_text(err), error_text(err)
    await never_gets(alice, "a fourth one")
    assert len(desk.rows("SELECT id FROM conversations")) == 3
    assert not desk.rows("SELECT id FROM messages WHERE body = 'a fourth one'")

    alice.send(convs[0], "/close")                     # one ends: the next one may open
    await bob.expect(CLOSED)
    bob.send(queue_jid("tech"), "now the fourth")
    await alice.expect(exact("now the fourth"))


async def test_visitor_rotating_session_tokens_opens_no_more_than_the_limit(desk):
    await desk.start(agents=["alice"], capacity={"alice": 10})
    alice = desk.agent("alice")
    guest = await desk.customer(anonymous=True)
    for i in range(10):                                # one connection, a new token each time
        widget_send(guest, f"token {i}", secrets.token_urlsafe(18))
    errors = [await guest.expect_error("policy-violation", frm=QUEUE) for _ in range(7)]
    assert all("3 conversations open" in error_text(e) for e in errors)
    for i in range(3):
        await alice.expect(exact(f"token {i}"))
    await never_gets(alice, "token ")
    rows = desk.rows("SELECT count(*) AS n FROM conversations")
    assert rows[0]["n"] == 3
    assert desk.rows("SELECT count(*) AS n FROM messages")[0]["n"] == 3

    # the site's visitor id counts as a source too: new connections, same visitor
    vid = "visitor-" + secrets.token_hex(8)
    others = [await desk.customer(anonymous=True) for _ in range(4)]
    for i, g in enumerate(others):                   # one after the other: in this order
        widget_send(g, f"visitor {i}", secrets.token_urlsafe(18), visitor_id=vid)
        if i < 3:
            await g.expect(GREETING, frm=QUEUE)
    err = await others[3].expect_error("policy-violation", frm=QUEUE)
    assert "3 conversations open" in error_text(err)


async def test_message_rate_refuses_a_burst_and_accepts_again(desk):
    await desk.start(agents=["alice"], extra={"limits": {"message_burst": 5,
                                                         "messages_per_minute": 60}})
    alice = desk.agent("alice")
    bob = await desk.customer("bob")
    conv = await desk.open_chat(bob, alice, "hi")      # the first token
    for i in range(10):
        bob.send(QUEUE, f"burst {i}")
    await bob.expect_error("policy-violation", frm=QUEUE)
    await asyncio.sleep(0.5)                           # the rest of the answers
    errors = [m for m in bob.messages.history if m["type"] == "error"]
    # the bucket held 4 more; 1 a second comes back, the test sends in well under that
    assert len(errors) >= 5, [error_text(e) for e in errors]
    assert all(error_condition(e) == "policy-violation" and error_type(e) == "wait"
               for e in errors)
    assert "faster than we can take them" in error_text(errors[0])
    accepted = [f"burst {i}" for i in range(10 - len(errors))]   # the first ones, in order
    assert 3 <= len(accepted) <= 5, (accepted, len(errors))
    for text in accepted:
        await alice.expect(exact(text), frm=conv)
    await never_gets(alice, "burst ", 0.3)
    stored = [b for _, _, b in desk.transcript(conv)]
    assert stored == ["hi"] + accepted               # nothing of the refused ones stored

    await asyncio.sleep(2.1)                           # two tokens back
    bob.send(QUEUE, "calm again")
    await alice.expect(exact("calm again"), frm=conv)


async def test_full_line_tells_the_customer_and_makes_one_task(desk):
    await desk.start(agents=["alice"], capacity={"alice": 1}, queue={"max_queue": 1})
    alice = desk.agent("alice")
    bob, carol, dave = [await desk.customer(n) for n in ("bob", "carol", "dave")]
    await desk.open_chat(bob, alice, "hi")             # alice is full
    carol.send(QUEUE, "I wait")
    await carol.expect(QUEUED, frm=QUEUE)              # one waiting: the line is at its cap
    dave.send(QUEUE, "me too")
    await dave.expect(GREETING, frm=QUEUE)
    await dave.expect(FULL, frm=QUEUE)
    await dave.no_message(0.5)                         # no "in line", no "chat has ended"
    conv = desk.rows("SELECT * FROM conversations WHERE customer_jid LIKE 'dave@%'")
    assert [(c["state"], c["close_reason"]) for c in conv] == [("closed", "queue-full")]
    assert [m["body"] for m in desk.rows("SELECT body FROM messages WHERE sender_jid LIKE "
                                         "'dave@%'")] == ["me too"]
    tasks = desk.rows("SELECT * FROM tasks")
    assert len(tasks) == 1 and tasks[0]["kind"] == "follow-up", tasks
    assert tasks[0]["assignee_jid"] == QUEUE and "Queue full" in tasks[0]["title"]

    dave.send(QUEUE, "my email is dave@example.com")   # still full: told again, no 2nd task
    await dave.expect(FULL, frm=QUEUE)
    assert len(desk.rows("SELECT id FROM conversations WHERE customer_jid LIKE 'dave@%'")) == 2
    assert len(desk.rows("SELECT id FROM tasks")) == 1
    assert desk.rows("SELECT email FROM contacts WHERE email IS NOT NULL")[0]["email"] == \
        "dave@example.com"


async def test_no_duplicate_follow_up_for_the_same_contact(desk):
    """Two widget sessions of one account wait past max_wait: one follow-up task."""
    await desk.start(agents=["alice"], online=[], queue={"max_wait": 1})
    bob = await desk.customer("bob")
    widget_send(bob, "first tab", secrets.token_urlsafe(18))
    widget_send(bob, "second tab", secrets.token_urlsafe(18))
    for _ in range(2):
        await bob.expect("no agent has been able to answer", frm=QUEUE, timeout=5)
    # both texts went out after their pass was stored: so were its tasks
    assert len(desk.rows("SELECT id FROM conversations")) == 2
    tasks = desk.rows("SELECT * FROM tasks")
    assert len(tasks) == 1, tasks
    await desk.r.wait_for_log_async("has an open follow-up task in support already")


async def test_one_jid_holds_at_most_8_command_sessions_and_admins_still_get_one(desk):
    await desk.start(agents=["alice"], extra={"admin": {"jids": "admin@localhost"}})
    alice = Commander(desk.agent("alice"))
    admin = Commander(await desk.customer("admin"))
    held = []
    for _ in range(8):
        r = await alice.execute("pause")
        assert r.status == "executing", r
        held.append(r)
    r = await alice.execute("pause")
    assert (r.type, r.error, r.error_type) == ("error", "resource-constraint", "wait"), r
    r = await admin.execute("queue-create")
    assert r.status == "executing", r
    await alice.cancel(held[0])                        # one ended: one more may start
    r = await alice.execute("pause")
    assert r.status == "executing", r


def answered_boundedly(report):
    """Refusals are answered 10 at once, then 1 a second: not a flood back."""
    n = report["errors"].get("policy-violation", 0)
    assert 10 <= n <= 10 + report["elapsed"] + 5, report


# The target, for the build that ships; AddressSanitizer makes respa several times
# slower, so its run checks the same flood against a looser bound.
P99_BOUND = 0.250 if respa_sanitized() else 0.100


def p99(values):
    values = sorted(values)
    return values[max(0, int(len(values) * 0.99) - 1)]


async def flood_while_timing(desk, flooder_args, pings=40):
    """Starts the flooder process, times the bystander bob's messages to alice while it
    floods (one every 0.2 s, as fast as the message limit lets a customer write for long);
    returns (latencies, the flooder's report)."""
    alice = desk.agent("alice")
    bob = await desk.customer("bob")
    conv = await desk.open_chat(bob, alice, "hello")
    host, port = desk.prosody.c2s_address
    proc = await asyncio.create_subprocess_exec(
        "/usr/bin/python3", str(HERE / "flood.py"), host, str(port), *flooder_args,
        stdout=asyncio.subprocess.PIPE)
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), 15)
        assert line.startswith(b"flooding"), line
        began = time.monotonic()
        latencies = []
        for i in range(pings):
            t0 = time.monotonic()
            bob.send(QUEUE, f"ping {i}")
            await alice.expect(exact(f"ping {i}"), frm=conv, timeout=10)
            latencies.append(time.monotonic() - t0)
            await asyncio.sleep(0.2)
        report = json.loads(await asyncio.wait_for(proc.stdout.readline(), 45))
        report["elapsed"] = time.monotonic() - began   # until the answers stopped coming
        await asyncio.wait_for(proc.wait(), 10)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    return latencies, report


@pytest.mark.timeout(120)
async def test_flood_of_opens_leaves_a_bystander_fast(desk):
    await desk.start(agents=["alice"], capacity={"alice": 10})
    lat, report = await flood_while_timing(
        desk, ["guest.localhost", "", QUEUE, "opens", "100000", "8"])
    print(f"flood of opens: {report}; bystander p50 {sorted(lat)[len(lat) // 2] * 1000:.1f} "
          f"ms, p99 {p99(lat) * 1000:.1f} ms, max {max(lat) * 1000:.1f} ms", file=sys.stderr)
    assert report["sent"] >= 1000, report
    answered_boundedly(report)
    opened = desk.rows("SELECT count(*) AS n FROM conversations WHERE customer_jid LIKE "
                       "'%@guest.localhost/%'")[0]["n"]
    assert opened <= 3
    assert p99(lat) < P99_BOUND, f"bystander p99 {p99(lat) * 1000:.1f} ms"


@pytest.mark.timeout(120)
async def test_flood_of_messages_leaves_a_bystander_fast(desk):
    await desk.start(agents=["alice"], capacity={"alice": 10})
    desk.prosody.register("mallory")
    lat, report = await flood_while_timing(
        desk, ["mallory@localhost", "pw", QUEUE, "messages", "100000", "8"])
    print(f"flood of messages: {report}; bystander p50 "
          f"{sorted(lat)[len(lat) // 2] * 1000:.1f} ms, p99 {p99(lat) * 1000:.1f} ms",
          file=sys.stderr)
    assert report["sent"] >= 1000, report
    stored = desk.rows("SELECT count(*) AS n FROM messages WHERE sender_jid LIKE "
                       "'mallory@%'")[0]["n"]
    # the burst (30) and 5 a second while the flood lasted (until respa had read it all)
    assert stored <= 30 + 5 * (report["elapsed"] + 1), (stored, report)
    answered_boundedly(report)
    assert p99(lat) < P99_BOUND, f"bystander p99 {p99(lat) * 1000:.1f} ms"


async def test_writing_to_the_component_address_is_rate_limited_too(desk):
    """Every message to the component's own address is answered: a flood there must not be
    answered by a flood either."""
    await desk.start(agents=["alice"])
    mallory = await desk.customer("mallory")
    for i in range(50):
        mallory.send(COMPONENT_JID, f"hello {i}")
    await asyncio.sleep(1.5)
    got = [m for m in mallory.messages.history if m["from"].bare == COMPONENT_JID]
    texts = [m for m in got if m["type"] != "error"]
    errors = [m for m in got if m["type"] == "error"]
    assert 30 <= len(texts) <= 32, len(texts)          # the burst, and what came back meanwhile
    assert "customer service desk" in texts[0]["body"]
    assert 9 <= len(errors) <= 12, len(errors)         # refusals: 10 answered, then 1 a second
    assert all(error_condition(e) == "policy-violation" for e in errors)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def read_until(conn, marker: bytes, timeout: float = 10.0) -> bytes:
    conn.settimeout(timeout)
    data = b""
    while marker not in data:
        chunk = conn.recv(4096)
        assert chunk, f"closed before {marker!r}: {data!r}"
        data += chunk
    return data


N_FLOOD = 200_000


def held_back(respa, request):
    """A stand-in server that sends N_FLOOD messages, each answered with an error, and reads
    nothing, until respa says it holds back. Returns (respa, connection, sending thread,
    respa's RSS before)."""
    import socket
    import threading

    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)   # keeps respa's output here
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    srv.settimeout(10)
    request.addfinalizer(srv.close)
    r = respa(config={"component": {"port": srv.getsockname()[1]},
                      "queue support": {"agents": "alice@localhost"}}, wait=False)
    conn, _ = srv.accept()
    request.addfinalizer(conn.close)   # also when an assertion fails: respa can stop
    read_until(conn, b"<stream:stream")
    conn.sendall(b"<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' "
                 b"xmlns:stream='http://etherx.jabber.org/streams' "
                 b"from='support.localhost' id='fake1'>")
    read_until(conn, b"</handshake>")
    conn.sendall(b"<handshake/>")
    r.wait_ready()
    before = rss_kib(r.proc.pid)
    # an agent's messages to an address that is nothing: each gets item-not-found, and agents
    # are not rate-limited
    blob = b"".join(b"<message from='alice@localhost/x' to='nothing@support.localhost' "
                    b"type='chat' id='m%d'><body>x</body></message>" % i
                    for i in range(N_FLOOD))
    conn.settimeout(None)
    def send():
        try:
            conn.sendall(blob)
        except OSError:            # respa went away (the SIGTERM test)
            pass

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    deadline = time.monotonic() + 30   # until respa holds back, or has read everything
    while sender.is_alive() and time.monotonic() < deadline and \
            "reading paused until the server takes them" not in r.log_text():
        time.sleep(0.1)
    return r, conn, sender, before


@pytest.mark.timeout(120)
def test_respa_stops_reading_while_the_server_does_not_take_its_output(respa, request):
    """respa stops reading once 2000 stanzas wait, so its memory stays flat, and reads on
    once the server takes them."""
    import threading

    r, conn, sender, before = held_back(respa, request)
    time.sleep(2)
    grown = rss_kib(r.proc.pid) - before
    assert sender.is_alive(), "respa read all 200,000 messages while its answers waited"
    if "libasan" not in Path(f"/proc/{r.proc.pid}/maps").read_text():  # ASan keeps freed memory
        assert grown < 8 * 1024, f"respa grew by {grown} KiB while the server took nothing"
    r.wait_for_log("stanzas wait to go out: reading paused until the server takes them")

    # the server reads again: so does respa, to the end
    got = [0]

    def drain():
        marker, tail = b"item-not-found xmlns", b""
        conn.settimeout(30)
        try:
            while got[0] < N_FLOOD:
                chunk = conn.recv(1 << 20)
                if not chunk:
                    return
                data = tail + chunk        # a marker cut between two reads counts once
                got[0] += data.count(marker)
                tail = data[-(len(marker) - 1):]
        except OSError:
            return

    drainer = threading.Thread(target=drain, daemon=True)
    drainer.start()
    r.wait_for_log("the server took the backlog; reading again", timeout=30)
    sender.join(60)
    drainer.join(60)
    assert not sender.is_alive()
    assert got[0] == N_FLOOD, got[0]


@pytest.mark.timeout(60)
def test_respa_held_back_still_stops_on_sigterm(respa, request):
    """Closing the stream needs libstrophe's passes: holding back must not keep respa from
    stopping while the server takes nothing."""
    import signal

    r, conn, sender, before = held_back(respa, request)
    r.wait_for_log("stanzas wait to go out: reading paused until the server takes them")
    r.proc.send_signal(signal.SIGTERM)
    assert r.proc.wait(10) == 0
