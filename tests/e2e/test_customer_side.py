"""The customer's side on the wire: coming back within customer_grace by presence or by a
message, leaving before an answer, and the presence of the queue address. Place-in-line
notices, the expected wait, max_wait, idle_close and the grace running out are tested in
process (tests/unit/test_flow.c)."""
import asyncio

import pytest

from desk import ASSIGNED, CLOSED, GREETING, QUEUE, conv_id, exact

QUEUED_TEXT = ("All our agents are busy right now. You are in the queue, and someone will "
               "answer as soon as they are free.")


async def queue_up(customer, text: str, place: int) -> None:
    """A first message while nobody can take it: the greeting, then exactly the queued
    text with the place and no estimate (there is no pace yet)."""
    customer.send(QUEUE, text)
    await customer.expect(exact(GREETING), frm=QUEUE)
    await customer.expect(exact(f"{QUEUED_TEXT} You are number {place} in line."), frm=QUEUE)


def now() -> float:
    return asyncio.get_running_loop().time()


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
    assert shown(await wendy.expect_presence(frm=QUEUE, timeout=3)) == ("away", "Open: every agent is busy")

    bob = await desk.customer("bob")
    await queue_up(bob, "help", 1)
    assert shown(await wendy.expect_presence(frm=QUEUE, timeout=3)) == ("away", "1 waiting")
    assert (await bob.expect_presence(frm=QUEUE))["type"] == "away"     # once, as he wrote
    await bob.no_message(0)

    alice.set_presence(None)                 # she takes bob: capacity 1, busy, nobody waits
    header = await alice.expect("New chat #")
    await bob.expect(exact(ASSIGNED), frm=QUEUE)
    assert shown(await wendy.expect_presence(frm=QUEUE, timeout=3)) == ("away", "Open: every agent is busy")
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
    assert shown(await sam.expect_presence(frm=QUEUE, timeout=3)) == ("away", "Open: every agent is busy")
    await asyncio.sleep(0.3)
    assert not [p for p in wendy.presences.items if p["from"].bare == QUEUE]
