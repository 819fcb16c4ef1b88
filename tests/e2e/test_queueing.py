"""Waiting lines: customers queued when no agent is free, assigned the moment one is, by
capacity and by presence (show), never above an agent's capacity."""
import re

import pytest

from desk import ASSIGNED, CLOSED, GREETING, QUEUE, QUEUED, conv_id, exact, parse_time
from harness import COMPONENT_JID

pytestmark = pytest.mark.ejabberd   # also run against ejabberd (tests/run)

ALICE, BOB = "alice@localhost", "bob@localhost"


async def queue_up(customer, text: str, place: int) -> None:
    """A customer's first message while nobody can take it: greeting, then the place."""
    customer.send(QUEUE, text)
    await customer.expect(GREETING, frm=QUEUE)
    queued = await customer.expect(QUEUED, frm=QUEUE)
    assert re.search(rf"You are number {place} in line\.( The wait is about \d+ min\.)?$",
                     queued["body"]), queued["body"]


async def test_customers_wait_in_line_until_an_agent_logs_in(desk):
    await desk.start(agents=["alice"], online=[])
    carol = await desk.customer("carol")
    dave = await desk.customer(anonymous=True)
    await queue_up(carol, "carol here", 1)
    carol.send(QUEUE, "anyone?")
    await queue_up(dave, "dave here", 2)
    await carol.no_message(0.2)          # told once, not again for each message
    await desk.stored(3)
    rows = desk.rows("SELECT * FROM conversations ORDER BY id")
    assert [(r["state"], r["agent_jid"], r["assigned_at"]) for r in rows] == [
        ("queued", None, None)] * 2

    alice = await desk.login("alice")    # approves respa's subscription, becomes available
    await desk.r.wait_for_log_async("agent alice@localhost approved the presence subscription")
    h1 = await alice.expect("New chat #")
    c1 = h1["from"].bare
    assert "from carol@localhost" in h1["body"]
    m1 = await alice.expect(exact("carol here"), frm=c1)
    m2 = await alice.expect(exact("anyone?"), frm=c1)
    h2 = await alice.expect(lambda m: "New chat #" in m["body"] and m["from"].bare != c1)
    c2 = h2["from"].bare
    assert f"from {dave.jid}" in h2["body"]
    m3 = await alice.expect(exact("dave here"), frm=c2)
    assert conv_id(c1) < conv_id(c2)
    # in order: carol's header and transcript, then dave's
    order = [alice.arrival(m) for m in (h1, m1, m2, h2, m3)]
    assert order == sorted(order)
    await carol.expect(ASSIGNED, frm=QUEUE)
    await dave.expect(ASSIGNED, frm=QUEUE)

    # the transcript carries each line's original time (XEP-0203)
    stored = desk.rows("SELECT body, created_at FROM messages ORDER BY conversation_id, id")
    assert [s["body"] for s in stored] == ["carol here", "anyone?", "dave here"]
    for msg, row in zip((m1, m2, m3), stored):
        assert msg["delay"]["stamp"] == parse_time(row["created_at"])
        assert msg["delay"]["from"] == msg["from"].bare
    rows = desk.rows("SELECT * FROM conversations ORDER BY id")
    assert [(r["state"], r["agent_jid"]) for r in rows] == [("active", ALICE)] * 2
    for r in rows:
        assert parse_time(r["created_at"]) <= parse_time(r["assigned_at"])

    alice.send(c2, "Hi Dave")
    await dave.expect(exact("Hi Dave"), frm=QUEUE)
    alice.send(c1, "Hi Carol")
    await carol.expect(exact("Hi Carol"), frm=QUEUE)


async def test_stamps_arrive_in_timeline_order(desk):
    """The arrival order of the replayed stanzas, checked on the agent's side."""
    await desk.start(agents=["alice"], online=[])
    carol = await desk.customer("carol")
    await queue_up(carol, "one", 1)
    for text in ("two", "three"):
        carol.send(QUEUE, text)
    await desk.stored(3)
    alice = await desk.login("alice")
    header = await alice.expect("New chat #")
    await alice.expect("three", frm=header["from"].bare)
    # expect() takes matches out of order; what is left must be exactly one and two, in order
    bodies = [m["body"] for m in alice.messages.items]
    assert bodies == ["one", "two"]


async def test_capacity_one_keeps_the_second_customer_waiting(desk):
    await desk.start(agents=["alice"], capacity={"alice": 1})
    alice = desk.agent("alice")
    carol = await desk.customer("carol")
    dave = await desk.customer("dave")
    c1 = await desk.open_chat(carol, alice, "first")
    await queue_up(dave, "second", 1)
    await alice.no_message(0.3)
    assert desk.active_per_agent() == {ALICE: 1}
    assert [r["state"] for r in desk.rows("SELECT state FROM conversations ORDER BY id")] == [
        "active", "queued"]

    alice.send(c1, "/close done")
    await carol.expect(CLOSED, frm=QUEUE)
    await alice.expect("closed. Summary:", frm=c1)
    h2 = await alice.expect("New chat #")
    c2 = h2["from"].bare
    assert c2 != c1 and "from dave@localhost" in h2["body"]
    await alice.expect(exact("second"), frm=c2)
    await dave.expect(ASSIGNED, frm=QUEUE)
    assert desk.active_per_agent() == {ALICE: 1}


async def test_two_agents_share_the_work_within_capacity(desk):
    await desk.start(agents=["alice", "bob"], capacity={"alice": 1, "bob": 1})
    alice, bob = desk.agent("alice"), desk.agent("bob")
    customers = [await desk.customer(name) for name in ("carol", "dave", "erin")]

    for c in customers[:2]:
        c.send(QUEUE, f"{c.jid} needs help")
        await c.expect(ASSIGNED, frm=QUEUE)
    ha = await alice.expect("New chat #")
    hb = await bob.expect("New chat #")
    assert ha["from"].bare != hb["from"].bare
    await alice.expect("needs help", frm=ha["from"].bare)
    await bob.expect("needs help", frm=hb["from"].bare)
    assert desk.active_per_agent() == {ALICE: 1, BOB: 1}

    await queue_up(customers[2], "erin needs help", 1)
    await alice.no_message(0.3)
    await bob.no_message(0)
    assert desk.active_per_agent() == {ALICE: 1, BOB: 1}

    bob.send(hb["from"].bare, "/close")
    await bob.expect("closed. Summary:")
    h3 = await bob.expect("New chat #")
    assert "from erin@localhost" in h3["body"]
    await bob.expect(exact("erin needs help"), frm=h3["from"].bare)
    await customers[2].expect(ASSIGNED, frm=QUEUE)
    await alice.no_message(0.2)
    assert desk.active_per_agent() == {ALICE: 1, BOB: 1}
    assert desk.rows("SELECT count(*) AS n FROM conversations WHERE state = 'queued'")[0]["n"] == 0


async def test_default_capacity_spreads_chats_over_agents(desk):
    """Whoever has waited longest for a chat gets the next one."""
    await desk.start(agents=["alice", "bob"])
    customers = [await desk.customer(name) for name in ("carol", "dave", "erin", "frank")]
    for c in customers:
        c.send(QUEUE, "hello")
        await c.expect(ASSIGNED, frm=QUEUE)
    assert desk.active_per_agent() == {ALICE: 2, BOB: 2}


@pytest.mark.parametrize("show", ["away", "xa", "dnd"])
async def test_agent_not_available_gets_no_chat_until_back(desk, show):
    await desk.start(agents=["alice"], show={"alice": show})
    alice = desk.agent("alice")
    carol = await desk.customer("carol")
    await queue_up(carol, "is anyone there?", 1)
    await alice.no_message(0.5)
    assert desk.conversation(1)["state"] == "queued"

    mark = desk.r.log_mark()
    alice.set_presence(None)             # back to available
    await desk.seen_as("alice", "available", since=mark)
    header = await alice.expect("New chat #")
    await alice.expect(exact("is anyone there?"), frm=header["from"].bare)
    await carol.expect(ASSIGNED, frm=QUEUE)

    # and going away again stops new chats, but not the current one
    mark = desk.r.log_mark()
    alice.set_presence(show)
    await desk.seen_as("alice", show, since=mark)
    dave = await desk.customer("dave")
    await queue_up(dave, "me too", 1)
    carol.send(QUEUE, "still here")
    await alice.expect(exact("still here"), frm=header["from"].bare)
    await alice.no_message(0.3)
    assert desk.active_per_agent() == {ALICE: 1}


async def test_free_for_chat_counts_as_available(desk):
    await desk.start(agents=["alice"], show={"alice": "chat"})
    carol = await desk.customer("carol")
    await desk.open_chat(carol, desk.agent("alice"), "hi")


async def test_one_available_resource_is_enough(desk):
    await desk.start(agents=["alice"], show={"alice": "away"})
    phone = desk.agent("alice")
    mark = desk.r.log_mark()
    desk_pc = await desk.login("alice", resource="desk")         # away + available
    await desk.seen_as("alice", "available", since=mark)

    carol = await desk.customer("carol")
    carol.send(QUEUE, "hello")
    await carol.expect(ASSIGNED, frm=QUEUE)
    header = await desk_pc.expect("New chat #")
    conv = header["from"].bare
    await desk_pc.expect(exact("hello"), frm=conv)
    desk_pc.send(conv, "answer from the desk")
    await carol.expect(exact("answer from the desk"), frm=QUEUE)
    phone.send(conv, "and from the phone")             # the same agent, another resource
    await carol.expect(exact("and from the phone"), frm=QUEUE)

    # the available resource leaves: only "away" is left, so the next customer waits
    mark = desk.r.log_mark()
    await desk_pc.stop()
    await desk.seen_as("alice", "away", since=mark)
    dave = await desk.customer("dave")
    await queue_up(dave, "my turn?", 1)
    assert desk.conversation(conv_id(conv) + 1)["state"] == "queued"

    mark = desk.r.log_mark()
    phone.set_presence(None)
    await desk.seen_as("alice", "available", since=mark)
    await dave.expect(ASSIGNED, frm=QUEUE)
    await phone.expect(lambda m: "New chat #" in m["body"] and "dave@localhost" in m["body"])
    assert desk.active_per_agent() == {ALICE: 2}


async def test_agent_going_offline_gets_no_new_chat(desk):
    await desk.start(agents=["alice"])
    alice = desk.agent("alice")
    mark = desk.r.log_mark()
    await alice.stop()
    await desk.seen_as("alice", "offline", since=mark)
    carol = await desk.customer("carol")
    await queue_up(carol, "hello?", 1)
    assert desk.conversation(1)["state"] == "queued"


async def test_agent_jids_in_the_configuration_are_case_folded(desk):
    """The server hands over alice@localhost; the file may say Alice@LocalHost."""
    desk.prosody.register("alice")
    alice = await desk.login("alice")
    desk.r = desk._respa(config={
        "queue support": {"name": "Support", "agents": "Alice@LocalHost"},
        "agent ALICE@localhost": {"capacity": 1},
    })
    await desk.seen_as("alice", "available", since=0)
    carol, dave = await desk.customer("carol"), await desk.customer("dave")
    await desk.open_chat(carol, alice, "first")
    await queue_up(dave, "second", 1)        # capacity 1 from the [agent ALICE@...] section
    alice.send(QUEUE, "agents are not customers")
    await alice.expect_error("not-acceptable", frm=QUEUE)
    assert desk.active_per_agent() == {ALICE: 1}


async def test_agent_created_after_respa_connected_is_asked_again(respa, make_client):
    """ejabberd drops respa's subscription request to an account that does not exist yet:
    respa asks agents it has not heard from again (every subscribe_retry, 1 s here)."""
    r = respa(config={"queue support": {"name": "Support", "agents": "zed@localhost"},
                      "routing": {"subscribe_retry": "1"}})
    zed = await make_client("zed")              # the account is made only now
    await r.wait_for_log_async("agent zed@localhost is available", timeout=15)
    guest = await make_client(anonymous=True)
    guest.send(QUEUE, "hello?")
    header = await zed.expect("New chat #")
    await zed.expect(exact("hello?"), frm=header["from"].bare)
    await guest.expect(ASSIGNED, frm=QUEUE)


async def test_agent_created_later_is_asked_again_when_it_writes(respa, make_client):
    """With the slow retry far off, an agent writing to respa is asked at once."""
    r = respa(config={"queue support": {"name": "Support", "agents": "zed@localhost"}})
    zed = await make_client("zed")
    zed.send(COMPONENT_JID, "/status")
    await zed.expect("You are", frm=COMPONENT_JID)
    await r.wait_for_log_async("agent zed@localhost is available", timeout=10)
    guest = await make_client(anonymous=True)
    guest.send(QUEUE, "anyone?")
    header = await zed.expect("New chat #")
    await zed.expect(exact("anyone?"), frm=header["from"].bare)
