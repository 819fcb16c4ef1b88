"""A chat changing hands: an agent's presence changes mid-chat, an agent drops offline (and
comes back within the grace period, or does not), an agent transfers the chat to a colleague
or to another queue."""
import re

import pytest

from desk import ASSIGNED, GREETING, QUEUE, QUEUED, conv_id, exact, first_line
from harness import COMPONENT_JID

ALICE, BOB = "alice@localhost", "bob@localhost"
SALES = f"sales@{COMPONENT_JID}"
DISCONNECTED = ("Your agent was disconnected. You keep your place at the front of the line, "
                "and the next free agent takes over the chat.")
TRANSFERRED = "You are being transferred to another agent, who has the chat so far."


async def queue_up(customer, text: str, place: int) -> None:
    customer.send(QUEUE, text)
    await customer.expect(GREETING, frm=QUEUE)
    queued = await customer.expect(QUEUED, frm=QUEUE)
    assert f"You are number {place} in line." in queued["body"], queued["body"]


def grace(seconds: int) -> dict:
    return {"routing": {"agent_grace": seconds}}


@pytest.mark.parametrize("show", ["away", "dnd"])
async def test_agent_keeps_the_chat_when_its_presence_changes(desk, show):
    """Away or dnd mid-chat: the chat stays (past agent_grace too), relay works both ways,
    no new chat comes."""
    await desk.start(agents=["alice"], extra=grace(1))
    alice = desk.agent("alice")
    carol = await desk.customer("carol")
    conv = await desk.open_chat(carol, alice, "my screen is blank")

    mark = desk.r.log_mark()
    alice.set_presence(show, status="in a meeting")
    await desk.seen_as("alice", show, since=mark)
    carol.send(QUEUE, "hello?")
    await alice.expect(exact("hello?"), frm=conv)
    alice.send(conv, "Still here, one moment")
    await carol.expect(exact("Still here, one moment"), frm=QUEUE)

    dave = await desk.customer("dave")
    await queue_up(dave, "me too", 1)
    await alice.no_message(1.3)               # past agent_grace: nothing moves, nothing new
    await carol.no_message(0)
    assert desk.active_per_agent() == {ALICE: 1}
    assert desk.conversation(conv)["agent_jid"] == ALICE
    assert desk.conversation(conv_id(conv) + 1)["state"] == "queued"
    carol.send(QUEUE, "ok")
    await alice.expect(exact("ok"), frm=conv)


async def test_agent_back_within_the_grace_period_keeps_its_chats(desk):
    await desk.start(agents=["alice", "bob"], extra=grace(2))
    alice, bob = desk.agent("alice"), desk.agent("bob")
    carol = await desk.customer("carol")
    conv = await desk.open_chat(carol, alice, "hi")
    alice.send(conv, "Hello Carol")
    await carol.expect(exact("Hello Carol"), frm=QUEUE)

    mark = desk.r.log_mark()
    await alice.stop()
    await desk.seen_as("alice", "offline", since=mark)
    carol.send(QUEUE, "are you there?")       # stored while alice is away
    await desk.stored(3)
    alice2 = await desk.login("alice")
    await desk.r.wait_for_log_async(
        f"agent {ALICE} is back within the grace period and keeps its chats", since=mark)

    await carol.no_message(2.5)               # past the grace: the customer is told nothing
    await bob.no_message(0)                   # and nothing moved to bob
    assert "still offline" not in desk.r.log_text()
    row = desk.conversation(conv)
    assert (row["state"], row["agent_jid"]) == ("active", ALICE)
    assert desk.active_per_agent() == {ALICE: 1}
    alice2.send(conv, "Sorry, I was disconnected")
    await carol.expect(exact("Sorry, I was disconnected"), frm=QUEUE)
    carol.send(QUEUE, "no problem")
    await alice2.expect(exact("no problem"), frm=conv)


async def test_chat_of_an_agent_gone_past_the_grace_goes_to_the_next_agent(desk):
    """Back to the front of the line, then to the next free agent with the whole transcript."""
    await desk.start(agents=["alice", "bob"], capacity={"alice": 1, "bob": 1},
                     extra=grace(1))
    alice, bob = desk.agent("alice"), desk.agent("bob")
    carol, dave, erin = [await desk.customer(n) for n in ("carol", "dave", "erin")]
    conv = await desk.open_chat(carol, alice, "my card was declined")
    n = conv_id(conv)
    dconv = await desk.open_chat(dave, bob, "dave here")
    alice.send(conv, "Which card?")
    await carol.expect(exact("Which card?"), frm=QUEUE)
    carol.send(QUEUE, "the visa")
    await alice.expect(exact("the visa"), frm=conv)
    alice.send(conv, "/note ask about the limit")
    await alice.expect("Note saved", frm=conv)
    await queue_up(erin, "erin waits", 1)     # in line before carol's chat comes back

    mark = desk.r.log_mark()
    await alice.stop()
    await desk.seen_as("alice", "offline", since=mark)
    await carol.expect(exact(DISCONNECTED), frm=QUEUE, timeout=5)
    await desk.r.wait_for_log_async(f"agent {ALICE} still offline after 1 s", since=mark)
    row = desk.conversation(conv)
    assert (row["state"], row["agent_jid"]) == ("queued", None)
    await bob.no_message(0.2)                 # bob is full

    bob.send(dconv, "/close")
    await bob.expect("closed. Summary:", frm=dconv)
    header = await bob.expect("New chat #")
    assert header["from"].bare == conv         # carol's chat first: the front of the line
    assert first_line(header["body"]) == (f"New chat #{n} from carol@localhost in Support (xmpp). "
                              "Write here to answer; /help lists the commands.")
    replay = [await bob.expect(frm=conv) for _ in range(4)]
    assert [m["body"] for m in replay] == [
        "my card was declined",
        "[answer by alice@localhost] Which card?",
        "the visa",
        "[note by alice@localhost] ask about the limit",
    ]
    assert [bob.arrival(m) for m in replay] == sorted(bob.arrival(m) for m in replay)
    assert all(m["delay"]["stamp"] is not None for m in replay)
    await carol.expect(exact(ASSIGNED), frm=QUEUE)
    bob.send(conv, "Bob here: I can see your card")
    await carol.expect(exact("Bob here: I can see your card"), frm=QUEUE)
    carol.send(QUEUE, "thanks Bob")
    await bob.expect(exact("thanks Bob"), frm=conv)

    row = desk.conversation(conv)
    assert (row["state"], row["agent_jid"]) == ("active", BOB)
    erin_row = desk.conversation(n + 2)
    assert (erin_row["state"], erin_row["agent_jid"]) == ("queued", None)
    await erin.no_message(0)


async def test_transfer_to_an_agent_with_a_note(desk):
    await desk.start(agents=["alice", "bob"])
    alice, bob = desk.agent("alice"), desk.agent("bob")
    carol = await desk.customer("carol")
    conv = await desk.open_chat(carol, alice, "I want a refund")
    n = conv_id(conv)
    alice.send(conv, "Let me get a colleague")
    await carol.expect(exact("Let me get a colleague"), frm=QUEUE)

    alice.send(conv, "/transfer Bob@localhost refund over 100 EUR")
    await alice.expect(exact(f"Chat #{n} transferred to bob@localhost."), frm=conv)
    header = await bob.expect("Transferred chat #")
    assert header["from"].bare == conv
    assert first_line(header["body"]) == (f"Transferred chat #{n} from carol@localhost in Support (xmpp). "
                              "alice@localhost handed it to you: refund over 100 EUR. "
                              "Write here to answer.")
    replay = [await bob.expect(frm=conv) for _ in range(3)]
    assert [m["body"] for m in replay] == [
        "I want a refund",
        "[answer by alice@localhost] Let me get a colleague",
        "[note by alice@localhost] refund over 100 EUR",
    ]
    await carol.expect(exact(TRANSFERRED), frm=QUEUE)

    bob.send(conv, "Hi, Bob from billing")
    await carol.expect(exact("Hi, Bob from billing"), frm=QUEUE)
    carol.send(QUEUE, "great")
    await bob.expect(exact("great"), frm=conv)
    alice.send(conv, "me again")
    await alice.expect_error("forbidden", frm=conv)
    await alice.no_message(0.3)               # nothing of carol's reaches alice any more
    await carol.no_message(0)

    row = desk.conversation(conv)
    assert (row["state"], row["agent_jid"], row["queue"]) == ("active", BOB, "support")
    assert desk.active_per_agent() == {BOB: 1}
    assert desk.transcript(conv) == [
        ("in", carol.full_jid, "I want a refund"),
        ("out", ALICE, "Let me get a colleague"),
        ("note", ALICE, "refund over 100 EUR"),
        ("out", BOB, "Hi, Bob from billing"),
        ("in", carol.full_jid, "great"),
    ]


async def test_refused_transfers_leave_the_chat_with_the_agent(desk):
    await desk.start(agents=["alice", "bob", "dan", "erin", "frank"],
                     online=["alice", "bob", "erin", "frank"], show={"erin": "away"},
                     capacity={"bob": 1})
    alice, bob, frank = desk.agent("alice"), desk.agent("bob"), desk.agent("frank")
    frank.send(COMPONENT_JID, "/pause lunch")
    await frank.expect("You are paused", frm=COMPONENT_JID)
    carol, gina = await desk.customer("carol"), await desk.customer("gina")
    conv = await desk.open_chat(carol, alice, "help")
    n = conv_id(conv)
    await desk.open_chat(gina, bob, "me too")   # bob's only slot
    usage = "Usage: /transfer AGENT-JID or QUEUE [note]"

    for command, answer in [
        ("/transfer zed@localhost", f"zed@localhost is neither an agent nor a queue here. {usage}"),
        ("/transfer billing a note", f"billing is neither an agent nor a queue here. {usage}"),
        ("/transfer dan@localhost please", "dan@localhost is offline; the chat stays with you."),
        ("/transfer bob@localhost", "bob@localhost has no free slot; the chat stays with you."),
        ("/transfer erin@localhost", "erin@localhost is not available; the chat stays with you."),
        ("/transfer frank@localhost", "frank@localhost is paused; the chat stays with you."),
        ("/transfer alice@localhost", "This chat is already yours."),
        ("/transfer", usage),
    ]:
        alice.send(conv, command)
        reply = await alice.expect(frm=conv)
        assert reply["body"] == answer, command
    await bob.no_message(0.3)                 # none of them was handed anything
    await frank.no_message(0)
    await desk.agent("erin").no_message(0)
    await carol.no_message(0)

    row = desk.conversation(conv)
    assert (row["state"], row["agent_jid"]) == ("active", ALICE)
    assert desk.transcript(conv) == [("in", carol.full_jid, "help")]      # no notes stored
    assert "transferred" not in desk.r.log_text()
    alice.send(conv, "I'll handle it myself")
    await carol.expect(exact("I'll handle it myself"), frm=QUEUE)
    carol.send(QUEUE, "ok")
    await alice.expect(exact("ok"), frm=conv)


async def test_transfer_to_another_queue(desk):
    await desk.start(agents=["alice", "bob"], queue={"agents": [ALICE]},
                     extra={"queue sales": {"name": "Sales", "agents": [BOB]}})
    alice, bob = desk.agent("alice"), desk.agent("bob")
    carol = await desk.customer("carol")
    conv = await desk.open_chat(carol, alice, "I'd like a quote")
    n = conv_id(conv)
    alice.send(conv, "Sales can help you with that")
    await carol.expect(exact("Sales can help you with that"), frm=QUEUE)

    alice.send(conv, "/transfer sales 50 licences")
    await alice.expect(exact(f"Chat #{n} transferred to the queue Sales."), frm=conv)
    await carol.expect(exact("You are being transferred to Sales. Please wait a moment."),
                       frm=QUEUE)
    header = await bob.expect("New chat #")
    assert header["from"].bare == conv
    assert first_line(header["body"]) == (f"New chat #{n} from carol@localhost in Sales (xmpp). "
                              "Write here to answer; /help lists the commands.")
    replay = [await bob.expect(frm=conv) for _ in range(3)]
    assert [m["body"] for m in replay] == [
        "I'd like a quote",
        "[answer by alice@localhost] Sales can help you with that",
        "[note by alice@localhost] transferred to sales: 50 licences",
    ]
    await carol.expect(exact(ASSIGNED), frm=QUEUE)
    row = desk.conversation(conv)
    assert (row["state"], row["agent_jid"], row["queue"], row["entry_queue"]) == (
        "active", BOB, "sales", "support")

    carol.send(QUEUE, "for 50 seats")          # still to the address she first wrote to
    await bob.expect(exact("for 50 seats"), frm=conv)
    bob.send(conv, "Here is your quote")
    reply = await carol.expect(exact("Here is your quote"))
    assert reply["from"].bare == QUEUE          # from support@, not sales@
    alice.send(conv, "anything else?")
    await alice.expect_error("forbidden", frm=conv)
    await alice.no_message(0.3)
    await carol.no_message(0)
    assert len(desk.rows("SELECT * FROM conversations")) == 1   # the same chat, no new one
    assert desk.transcript(conv)[-2:] == [("in", carol.full_jid, "for 50 seats"),
                                          ("out", BOB, "Here is your quote")]


async def test_transfer_to_a_busy_queue_waits_at_the_front_of_its_line(desk):
    await desk.start(agents=["alice", "bob"], queue={"agents": [ALICE]}, capacity={"bob": 1},
                     extra={"queue sales": {"name": "Sales", "agents": [BOB]}})
    alice, bob = desk.agent("alice"), desk.agent("bob")
    dave, erin, carol = [await desk.customer(n) for n in ("dave", "erin", "carol")]
    dave.send(SALES, "a quote please")                 # bob's only slot
    dconv = (await bob.expect("New chat #"))["from"].bare
    await dave.expect(exact(ASSIGNED), frm=SALES)
    erin.send(SALES, "me too")                         # waits in sales' line
    await erin.expect("Hello, and thank you for contacting Sales.", frm=SALES)
    await erin.expect("You are number 1 in line.", frm=SALES)
    conv = await desk.open_chat(carol, alice, "I'd like to buy more")
    n = conv_id(conv)

    alice.send(conv, "/transfer sales")
    await alice.expect(exact(f"Chat #{n} transferred to the queue Sales."), frm=conv)
    await carol.expect(exact("You are being transferred to Sales. Please wait a moment."),
                       frm=QUEUE)
    queued = await carol.expect(QUEUED, frm=QUEUE)
    assert re.search(r"You are number 1 in line\.( The wait is about \d+ min\.)?$",
                     queued["body"]), queued["body"]
    row = desk.conversation(conv)
    assert (row["state"], row["agent_jid"], row["queue"]) == ("queued", None, "sales")
    assert desk.transcript(conv)[-1] == ("note", ALICE, "transferred to sales")

    bob.send(dconv, "/close")
    await bob.expect("closed. Summary:", frm=dconv)
    header = await bob.expect("New chat #")
    assert header["from"].bare == conv                  # ahead of erin, who was there first
    await carol.expect(exact(ASSIGNED), frm=QUEUE)
    assert desk.conversation(conv)["agent_jid"] == BOB
    await erin.no_message(0.2)
    assert desk.conversation(conv_id(dconv) + 1)["state"] == "queued"
