"""Waiting lines on the wire: customers queued until an agent logs in (the replay's delay
stamps), presence (show) and resources as the server reports them, agents whose accounts
appear after respa connected. Capacity, case-folded JIDs and the order of stamps are tested
in process (tests/unit/test_flow.c)."""
import re

import pytest

from desk import ASSIGNED, GREETING, QUEUE, QUEUED, conv_id, exact, parse_time
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
