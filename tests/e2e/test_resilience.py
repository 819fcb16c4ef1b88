"""Chats survive the server restarting, respa restarting, and respa being killed."""
import re

import pytest

from harness import COMPONENT_JID
from desk import ASSIGNED, CLOSED, QUEUE, QUEUED, exact

pytestmark = pytest.mark.ejabberd   # also run against ejabberd (tests/run)

ALICE = "alice@localhost"
READY = re.compile(r"\bready\b")


def headers(agent) -> list[str]:
    """Every "New chat" header the agent has received so far, claimed or not."""
    return [m["body"] for m in agent.messages.history if m["body"].startswith("New chat #")]


async def restart_prosody(desk, *clients) -> None:
    """Restart Prosody; wait until respa is connected again, the clients are logged in again
    (same accounts and resources) and respa has seen each agent among them come back."""
    r, mark = desk.r, desk.r.log_mark()
    await desk.prosody.restart_async()
    for c in clients:
        await c.wait_disconnected()
        await c.start()
    await r.wait_for_log_async(READY, since=mark, timeout=15)
    for name, agent in desk.agents.items():
        if agent in clients:
            await desk.seen_as(name, "available", since=mark)
    assert r.running


async def chat_both_ways(customer, agent, conv: str, tag: str) -> None:
    customer.send(QUEUE, f"customer {tag}")
    await agent.expect(exact(f"customer {tag}"), frm=conv)
    agent.send(conv, f"agent {tag}")
    await customer.expect(exact(f"agent {tag}"), frm=QUEUE)


async def test_prosody_restart_mid_chat(desk):
    r = await desk.start(agents=["alice"], capacity={"alice": 1})
    alice = desk.agent("alice")
    bob, carol = await desk.customer("bob"), await desk.customer("carol")
    conv = await desk.open_chat(bob, alice, "before the restart")
    carol.send(QUEUE, "waiting through the restart")
    await carol.expect(QUEUED, frm=QUEUE)

    await restart_prosody(desk, alice, bob, carol)
    assert len(READY.findall(r.log_text())) == 2      # one run of respa, two connections
    await chat_both_ways(bob, alice, conv, "after the restart")
    await alice.no_message(0.2)
    assert len(headers(alice)) == 1                   # the same chat, not a new one
    assert desk.conversation(conv)["state"] == "active"
    assert [m[2] for m in desk.transcript(conv)] == [
        "before the restart", "customer after the restart", "agent after the restart"]

    alice.send(conv, "/close")                        # carol still waits in line
    await bob.expect(CLOSED, frm=QUEUE)
    header = await alice.expect(lambda m: "New chat #" in m["body"] and "carol" in m["body"])
    await alice.expect(exact("waiting through the restart"), frm=header["from"].bare)
    await carol.expect(ASSIGNED, frm=QUEUE)


async def test_respa_started_before_the_server_connects_when_it_comes_up(desk, respa):
    await desk.prosody.stop_async()
    # alice's account is made after respa connected: ejabberd drops the first request
    r = respa(config=desk.config(["alice"], extra={"routing": {"subscribe_retry": 1}}),
              wait=False)
    await r.wait_for_log_async("reconnecting in 1000 ms")     # backoff doubles
    desk.prosody.start()
    await r.wait_for_log_async(READY, timeout=15)
    desk.r = r
    desk.prosody.register("alice")
    alice = await desk.login("alice")
    await desk.seen_as("alice", "available", since=0)
    bob = await desk.customer("bob")
    await desk.open_chat(bob, alice, "hello")


async def test_sigterm_while_the_server_is_down_exits_0(desk):
    r = await desk.start(agents=["alice"])
    await desk.prosody.stop_async()
    await r.wait_for_log_async("reconnecting in")
    assert r.stop(timeout=2) == 0 and r.problems() == []


async def test_respa_restart_resumes_active_and_queued_chats(desk):
    r = await desk.start(agents=["alice"], capacity={"alice": 1})
    alice = desk.agent("alice")
    bob = await desk.customer("bob")
    carol = await desk.customer("carol")
    conv = await desk.open_chat(bob, alice, "bob's question")
    carol.send(QUEUE, "carol's question")
    await carol.expect(QUEUED, frm=QUEUE)

    r.restart()                          # SIGTERM (exit 0 is checked), start, ready
    await r.wait_for_log_async("resumed 2 open conversations", since=0)
    await desk.seen_as("alice", "available", since=0)

    await chat_both_ways(bob, alice, conv, "after respa restarted")
    assert len(headers(alice)) == 1      # the same c-N, no new header
    # the resumed chat fills alice's only slot: carol still waits
    assert [x["state"] for x in desk.rows("SELECT state FROM conversations ORDER BY id")] == [
        "active", "queued"]
    alice.send(conv, "/close")
    await bob.expect(CLOSED, frm=QUEUE)
    await alice.expect("closed. Summary:", frm=conv)
    header = await alice.expect("New chat #")       # the slot is free: carol's turn
    assert "from carol@localhost" in header["body"]
    await alice.expect(exact("carol's question"), frm=header["from"].bare)
    await carol.expect(ASSIGNED, frm=QUEUE)
    rows = desk.rows("SELECT state, agent_jid FROM conversations ORDER BY id")
    assert [(x["state"], x["agent_jid"]) for x in rows] == [("closed", ALICE), ("active", ALICE)]


async def test_respa_restart_assigns_queued_chats_to_an_agent_already_online(desk):
    r = await desk.start(agents=["alice"], show={"alice": "dnd"})
    alice = desk.agent("alice")
    carol = await desk.customer("carol")
    carol.send(QUEUE, "waiting")
    await carol.expect(QUEUED, frm=QUEUE)
    r.stop()
    alice.set_presence(None)             # available while respa is down
    r.start()
    r.wait_ready()
    header = await alice.expect("New chat #")
    assert "from carol@localhost" in header["body"]
    await alice.expect(exact("waiting"), frm=header["from"].bare)
    await carol.expect(ASSIGNED, frm=QUEUE)


async def test_kill9_after_relay_loses_nothing(desk):
    r = await desk.start(agents=["alice"])
    alice = desk.agent("alice")
    bob = await desk.customer("bob")
    conv = await desk.open_chat(bob, alice, "hello")
    bob.send(QUEUE, "my order number is 4711")
    await alice.expect(exact("my order number is 4711"), frm=conv)
    r.kill9()                            # the agent saw it: it must be on disk already
    assert [m[2] for m in desk.transcript(conv)] == ["hello", "my order number is 4711"]

    r.start()
    r.wait_ready()
    await desk.seen_as("alice", "available", since=0)
    await chat_both_ways(bob, alice, conv, "after the crash")
    assert len(headers(alice)) == 1
    assert [m[2] for m in desk.transcript(conv)] == [
        "hello", "my order number is 4711", "customer after the crash", "agent after the crash"]


async def test_kill9_after_close_keeps_the_whole_record(desk):
    r = await desk.start(agents=["alice"])
    alice = desk.agent("alice")
    bob = await desk.customer("bob")
    conv = await desk.open_chat(bob, alice, "hello")
    alice.send(conv, "/task +1d call Bob")
    await alice.expect("added for you", frm=conv)
    alice.send(conv, "/tag billing")
    await alice.expect("Tagged:", frm=conv)
    alice.send(conv, "/close sorted")
    await bob.expect(CLOSED, frm=QUEUE)      # the customer saw it: it is on disk
    r.kill9()
    row = desk.conversation(conv)
    assert row["state"] == "closed" and row["closed_at"] is not None
    summary, = desk.rows("SELECT * FROM summaries")
    assert (summary["summary"], summary["tags"]) == ("sorted", "billing")
    assert [t["title"] for t in desk.rows("SELECT title FROM tasks")] == ["call Bob"]

    r.start()
    r.wait_ready()
    assert "resumed" not in r.log_text()     # nothing open to resume
    await desk.seen_as("alice", "available", since=0)
    again = await desk.open_chat(bob, alice, "one more question")
    assert again != conv


async def test_repeated_prosody_restarts_survive_libstrophe_component_sm_crash(desk):
    """libstrophe 0.12 dereferences stream-management state it never allocates in component
    mode; respa's workaround must hold on every reconnect, with stanzas flowing each time."""
    r = await desk.start(agents=["alice"])
    alice = desk.agent("alice")
    bob = await desk.customer("bob")
    conv = await desk.open_chat(bob, alice, "hello")
    for i in range(3):
        await restart_prosody(desk, alice, bob)
        assert await bob.ping(COMPONENT_JID) >= 0
        await chat_both_ways(bob, alice, conv, f"round {i}")
    assert len(READY.findall(r.log_text())) == 4
    assert len(headers(alice)) == 1
    assert len(desk.transcript(conv)) == 1 + 2 * 3
