"""The customer's side of waiting: place-in-line notices, the expected wait, no answer in
time (max_wait), a chat nobody writes in (idle_close), a customer who goes away
(customer_grace), and the presence of the queue address."""
import asyncio
import re

import pytest

from desk import ASSIGNED, CLOSED, GREETING, QUEUE, conv_id, exact, parse_time

ALICE = "alice@localhost"
QUEUED_TEXT = ("All our agents are busy right now. You are in the queue, and someone will "
               "answer as soon as they are free.")
MAX_WAIT_TEXT = ("We are sorry: no agent has been able to answer yet. Please write your email "
                 "address or phone number here, and we will get back to you. If an agent "
                 "becomes free in the meantime, they will answer here.")
IDLE_TEXT = "This chat was closed because nobody wrote for a while."


async def queue_up(customer, text: str, place: int) -> None:
    """A first message while nobody can take it: the greeting, then exactly the queued
    text with the place and no estimate (there is no pace yet)."""
    customer.send(QUEUE, text)
    await customer.expect(exact(GREETING), frm=QUEUE)
    await customer.expect(exact(f"{QUEUED_TEXT} You are number {place} in line."), frm=QUEUE)


def now() -> float:
    return asyncio.get_running_loop().time()


async def test_waiting_customers_hear_their_new_place_once(desk):
    await desk.start(agents=["alice"], online=[], capacity={"alice": 1},
                     queue={"notice_interval": 1})
    carol, dave, erin = [await desk.customer(n) for n in ("carol", "dave", "erin")]
    for place, customer in enumerate((carol, dave, erin), 1):
        await queue_up(customer, f"{customer.jid} is waiting", place)

    alice = await desk.login("alice")       # capacity 1: she takes carol, the others move up
    header = await alice.expect("New chat #")
    assert "from carol@localhost" in header["body"]
    await carol.expect(exact(ASSIGNED), frm=QUEUE)
    start = now()
    await dave.expect(exact("Thank you for waiting. You are number 1 in line."), frm=QUEUE,
                      timeout=3)
    await erin.expect(exact("Thank you for waiting. You are number 2 in line."), frm=QUEUE,
                      timeout=3)
    assert now() - start < 2.5
    # the notices come every second, but only to those whose place changed
    await dave.no_message(2.2)
    await erin.no_message(0)
    await carol.no_message(0)
    assert [r["state"] for r in desk.rows("SELECT state FROM conversations ORDER BY id")] == [
        "active", "queued", "queued"]


async def test_expected_wait_is_told_once_there_is_a_pace(desk):
    """The pace comes from customers who really waited (a second or more) before an agent
    took them; with two of them, places come with "The wait is about N min."."""
    await desk.start(agents=["alice"], online=[], capacity={"alice": 1},
                     queue={"notice_interval": 1})
    carol, dave, erin = [await desk.customer(n) for n in ("carol", "dave", "erin")]
    for place, customer in enumerate((carol, dave, erin), 1):
        await queue_up(customer, f"{customer.jid} is waiting", place)
    await asyncio.sleep(1.1)                 # what makes a wait count for the pace

    alice = await desk.login("alice")
    c1 = await alice.expect(lambda m: "New chat #" in m["body"] and "carol@" in m["body"])
    alice.send(c1["from"].bare, "/close")
    c2 = await alice.expect(lambda m: "New chat #" in m["body"] and "dave@" in m["body"])
    await dave.expect(exact(ASSIGNED), frm=QUEUE)

    # erin moved from 3 to 1 (maybe by way of 2, told without an estimate then)
    told = await erin.expect(lambda m: "You are number 1 in line." in m["body"], frm=QUEUE,
                             timeout=3)
    m = re.fullmatch(r"Thank you for waiting\. You are number 1 in line\. "
                     r"The wait is about (\d+) min\.", told["body"])
    assert m, told["body"]
    assert int(m.group(1)) == 1              # two chats taken within seconds: under 1.5 min
    frank = await desk.customer("frank")
    frank.send(QUEUE, "me too")
    await frank.expect(exact(GREETING), frm=QUEUE)
    await frank.expect(exact(f"{QUEUED_TEXT} You are number 2 in line. "
                             "The wait is about 1 min."), frm=QUEUE)
    assert desk.conversation(c2["from"].bare)["agent_jid"] == ALICE


async def test_no_answer_within_max_wait_makes_one_task_for_the_queue(desk):
    await desk.start(agents=["alice"], online=[], queue={"max_wait": 2})
    bob = await desk.customer("bob")
    start = now()
    await queue_up(bob, "where is my parcel?", 1)
    await bob.expect(exact(MAX_WAIT_TEXT), frm=QUEUE, timeout=4)
    assert now() - start >= 1.0              # respa counts in whole seconds
    await desk.r.wait_for_log_async("conversation 1: no answer within 2 s; follow-up task "
                                    "for support")
    contact = desk.conversation(1)["contact_id"]
    want = [(1, contact, QUEUE, "follow-up", "open",
             "No answer in time: bob@localhost in Support (chat #1)")]

    def tasks():
        return [(t["conversation_id"], t["contact_id"], t["assignee_jid"], t["kind"],
                 t["status"], t["title"]) for t in desk.rows("SELECT * FROM tasks ORDER BY id")]
    assert tasks() == want
    bob.send(QUEUE, "bob@example.com")       # what the text asks for
    await desk.stored(2)
    await bob.no_message(2.5)                # told once: more waiting changes nothing
    assert tasks() == want
    assert desk.conversation(1)["state"] == "queued"

    alice = await desk.login("alice")        # the chat still goes to the first free agent
    header = await alice.expect("New chat #1 from bob@localhost")
    await alice.expect(exact("where is my parcel?"), frm=header["from"].bare)
    await alice.expect(exact("bob@example.com"), frm=header["from"].bare)
    await bob.expect(exact(ASSIGNED), frm=QUEUE)
    alice.send(header["from"].bare, "Sorry for the wait, Bob")
    await bob.expect(exact("Sorry for the wait, Bob"), frm=QUEUE)
    row = desk.conversation(1)
    assert (row["state"], row["agent_jid"]) == ("active", ALICE)
    assert tasks() == want


async def test_chat_nobody_writes_in_closes_after_idle_close(desk):
    """Only once an agent has answered: an unanswered chat is never closed as inactive."""
    await desk.start(agents=["alice"], queue={"idle_close": 2})
    alice = desk.agent("alice")
    bob, carol = await desk.customer("bob"), await desk.customer("carol")
    unanswered = await desk.open_chat(carol, alice, "hello? anyone?")
    conv = await desk.open_chat(bob, alice, "hi")
    alice.send(conv, "How can I help?")
    await bob.expect(exact("How can I help?"), frm=QUEUE)

    start = now()
    told = await bob.expect(exact(IDLE_TEXT), frm=QUEUE, timeout=4)
    closed = await bob.expect(CLOSED, frm=QUEUE)
    assert bob.arrival(told) < bob.arrival(closed)
    assert now() - start >= 1.0
    summary = await alice.expect("closed. Summary:", frm=conv)
    n = conv_id(conv)
    assert summary["body"].startswith(f"Chat #{n} closed. Summary: ")
    row = desk.conversation(conv)
    assert (row["state"], row["close_reason"], row["agent_jid"]) == ("closed", "inactive", ALICE)
    idle = parse_time(row["closed_at"]) - parse_time(row["first_response_at"])
    assert 2 <= idle.total_seconds() <= 3
    saved = desk.rows("SELECT * FROM summaries WHERE conversation_id = ?", n)
    assert len(saved) == 1 and saved[0]["agent_jid"] == ALICE
    assert summary["body"] == f"Chat #{n} closed. Summary: {saved[0]['summary']}"

    # carol's chat has been quiet for longer, but nobody answered her: it stays open
    await carol.no_message(1.2)
    await alice.no_message(0, frm=unanswered)
    assert desk.conversation(unanswered)["state"] == "active"
    assert desk.active_per_agent() == {ALICE: 1}


async def test_customer_who_goes_away_is_closed_after_the_grace(desk):
    await desk.start(agents=["alice"], queue={"customer_grace": 1})
    alice = desk.agent("alice")
    bob = await desk.customer("bob")
    bob.set_presence(to=QUEUE)               # as a web client does: directed presence
    await bob.expect_presence("available", frm=QUEUE)
    conv = await desk.open_chat(bob, alice, "hi")
    alice.send(conv, "Hello Bob")
    await bob.expect(exact("Hello Bob"), frm=QUEUE)

    start = now()
    bob.set_presence(ptype="unavailable", to=QUEUE)      # the tab was closed
    summary = await alice.expect("closed. Summary:", frm=conv, timeout=4)
    assert now() - start >= 0.5
    n = conv_id(conv)
    assert summary["body"].startswith(f"Chat #{n} closed. Summary: ")
    row = desk.conversation(conv)
    assert (row["state"], row["close_reason"]) == ("closed", "customer-left")
    assert len(desk.rows("SELECT * FROM summaries WHERE conversation_id = ?", n)) == 1
    assert desk.rows("SELECT * FROM tasks") == []        # an agent had answered
    await bob.no_message(0.3)                # nobody there to read a goodbye
    assert desk.active_per_agent() == {}


@pytest.mark.parametrize("back_by", ["presence", "message"])
async def test_customer_back_within_the_grace_keeps_the_chat(desk, back_by):
    await desk.start(agents=["alice"], queue={"customer_grace": 1})
    alice = desk.agent("alice")
    bob = await desk.customer("bob")
    bob.set_presence(to=QUEUE)
    conv = await desk.open_chat(bob, alice, "hi")
    alice.send(conv, "Hello Bob")
    await bob.expect(exact("Hello Bob"), frm=QUEUE)

    bob.set_presence(ptype="unavailable", to=QUEUE)
    if back_by == "presence":                # e.g. the page reloaded
        bob.set_presence(to=QUEUE)
    else:
        bob.send(QUEUE, "sorry, I am back")
        await alice.expect(exact("sorry, I am back"), frm=conv)
    await alice.no_message(1.6)              # past the grace: no "closed"
    assert desk.conversation(conv)["state"] == "active"
    bob.send(QUEUE, "still there?")
    await alice.expect(exact("still there?"), frm=conv)
    alice.send(conv, "yes")
    await bob.expect(exact("yes"), frm=QUEUE)


async def test_customer_who_left_before_an_answer_gets_a_task_for_the_queue(desk):
    """A web guest queues, then logs out: the server tells the queue it is unavailable."""
    await desk.start(agents=["alice"], online=[], queue={"customer_grace": 1})
    guest = await desk.customer(anonymous=True)
    guest.set_presence(to=QUEUE)
    await queue_up(guest, "is anyone there?", 1)
    mark = desk.r.log_mark()
    await guest.stop()
    await desk.r.wait_for_log_async("conversation 1 closed (customer-left)", since=mark,
                                    timeout=5)
    row = desk.conversation(1)
    assert (row["state"], row["close_reason"], row["agent_jid"]) == (
        "closed", "customer-left", None)
    tasks = desk.rows("SELECT * FROM tasks")
    assert [(t["conversation_id"], t["assignee_jid"], t["kind"], t["status"], t["title"])
            for t in tasks] == [(1, QUEUE, "follow-up", "open",
                                 f"Left before an answer: {guest.jid} in Support (chat #1)")]

    alice = await desk.login("alice")        # the line is empty: no chat for her,
    await desk.r.wait_for_log_async("agent alice@localhost approved the presence subscription")
    due = await alice.expect("Due now:")       # but the queue's task, as she comes online
    assert due["from"].bare == "support.localhost"
    assert f"Left before an answer: {guest.jid}" in due["body"]
    await alice.no_message(0.5)
    assert desk.rows("SELECT count(*) AS n FROM conversations")[0]["n"] == 1


async def test_an_answer_sent_after_the_customer_left_does_not_count(desk):
    """The agent answers during customer_grace, after the customer went offline: nobody got
    the answer, so the chat closes customer-left unresolved and leaves a follow-up task."""
    await desk.start(agents=["alice"], queue={"customer_grace": 2})
    alice = desk.agent("alice")
    bob = await desk.customer("bob")
    bob.set_presence(to=QUEUE)
    await bob.expect_presence("available", frm=QUEUE)
    conv = await desk.open_chat(bob, alice, "where is my parcel?")
    n = conv_id(conv)
    mark = desk.r.log_mark()
    bob.set_presence(ptype="unavailable", to=QUEUE)      # gone before any answer
    await desk.r.wait_for_log_async(f"conversation {n}: the customer went offline", since=mark)
    alice.send(conv, "Sorry for the wait! Let me check.")
    summary = await alice.expect("closed. Summary:", frm=conv, timeout=6)
    assert "not resolved" in summary["body"]
    row = desk.conversation(conv)
    assert (row["state"], row["close_reason"]) == ("closed", "customer-left")
    assert row["first_response_at"] is not None              # stored, but too late
    assert [r["resolved"] for r in desk.rows(
        "SELECT resolved FROM summaries WHERE conversation_id = ?", n)] == [0]
    tasks = desk.rows("SELECT assignee_jid, kind, title FROM tasks WHERE assignee_jid = ?",
                      QUEUE)
    assert tasks == [{"assignee_jid": QUEUE, "kind": "follow-up",
                      "title": f"Left before an answer: bob@localhost in Support (chat #{n})"}]


async def test_queue_presence_shows_free_agents_and_the_line(desk):
    await desk.start(agents=["alice"], capacity={"alice": 1})
    alice = desk.agent("alice")
    wendy = await desk.customer("wendy")
    wendy.set_presence(to=QUEUE)             # directed presence makes her a watcher

    def shown(p):
        return (p["type"], p["status"])
    assert shown(await wendy.expect_presence(frm=QUEUE)) == ("available",
                                                             "Open: an agent is free")
    mark = desk.r.log_mark()
    alice.set_presence("dnd")
    await desk.seen_as("alice", "dnd", since=mark)
    assert shown(await wendy.expect_presence(frm=QUEUE, timeout=3)) == ("away", "0 waiting")

    bob = await desk.customer("bob")
    await queue_up(bob, "help", 1)
    assert shown(await wendy.expect_presence(frm=QUEUE, timeout=3)) == ("away", "1 waiting")
    assert (await bob.expect_presence(frm=QUEUE))["type"] == "away"     # once, as he wrote
    await bob.no_message(0)

    alice.set_presence(None)                 # she takes bob: capacity 1, busy, nobody waits
    header = await alice.expect("New chat #")
    await bob.expect(exact(ASSIGNED), frm=QUEUE)
    assert shown(await wendy.expect_presence(frm=QUEUE, timeout=3)) == ("away", "0 waiting")
    alice.send(header["from"].bare, "/close")
    assert shown(await wendy.expect_presence(frm=QUEUE, timeout=3)) == (
        "available", "Open: an agent is free")
    await bob.expect(CLOSED, frm=QUEUE)
    await bob.no_message(0.3)
    assert not [p for p in bob.presences.items if p["from"].bare == QUEUE]  # he is no watcher

    # a subscription is approved and followed by the queue's presence (Prosody keeps the
    # "subscribed" for the roster, where it shows as a subscription to the queue)
    sam = await desk.customer("sam")
    sam.set_presence(ptype="subscribe", to=QUEUE)
    assert shown(await sam.expect_presence(frm=QUEUE)) == ("available", "Open: an agent is free")
    await sam.xmpp.get_roster()
    assert sam.xmpp.client_roster[QUEUE]["subscription"] == "to"

    # unavailable ends watching
    wendy.set_presence(ptype="unavailable", to=QUEUE)
    await asyncio.sleep(0.2)
    mark = desk.r.log_mark()
    alice.set_presence("dnd")
    await desk.seen_as("alice", "dnd", since=mark)
    assert shown(await sam.expect_presence(frm=QUEUE, timeout=3)) == ("away", "0 waiting")
    await asyncio.sleep(0.3)
    assert not [p for p in wendy.presences.items if p["from"].bare == QUEUE]
