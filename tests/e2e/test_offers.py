"""Offers (queue mode = offer): an agent is offered a chat and takes it by answering or with
/accept, turns it down with /reject, or lets it time out; missed offers pause the agent; an
agent who goes offline has its offers withdrawn at once."""
import asyncio

from desk import ASSIGNED, GREETING, QUEUE, QUEUE_TITLE, conv_id, exact, first_line
from harness import COMPONENT_JID

ALICE, BOB = "alice@localhost", "bob@localhost"
# long enough never to run out by accident where a test does not wait for it
OFFER = {"mode": "offer", "offer_timeout": 10}


def offer_text(n: int, customer: str) -> str:
    return (f"Offer: chat #{n} from {customer} in {QUEUE_TITLE} (xmpp). "
            "Answer here to take it, or write /accept or /reject.")


async def offered(agent, customer: str, first: str) -> str:
    """An offer reaches the agent, then the customer's first message: returns the c-N
    address."""
    header = await agent.expect("Offer: chat #")
    conv = header["from"].bare
    assert first_line(header["body"]) == offer_text(conv_id(conv), customer)
    await agent.expect(exact(first), frm=conv)
    return conv


async def write_first(customer, text: str) -> None:
    customer.send(QUEUE, text)
    await customer.expect(GREETING, frm=QUEUE)


def routing(**keys) -> dict:
    return {"routing": keys}


async def test_answering_an_offer_takes_the_chat(desk):
    await desk.start(agents=["alice"], queue=OFFER)
    alice = desk.agent("alice")
    carol = await desk.customer("carol")
    await write_first(carol, "my parcel is late")
    conv = await offered(alice, "carol@localhost", "my parcel is late")
    n = conv_id(conv)
    await carol.no_message(0.3)              # on offer: neither queued nor assigned yet
    row = desk.conversation(conv)
    assert (row["state"], row["agent_jid"]) == ("queued", None)

    alice.send(conv, "Let me look it up")
    mine = await alice.expect(exact(f"Chat #{n} is yours."), frm=conv)
    joined = await carol.expect(exact(ASSIGNED), frm=QUEUE)
    answer = await carol.expect(exact("Let me look it up"), frm=QUEUE)
    assert carol.arrival(joined) < carol.arrival(answer)
    assert mine["type"] == "chat"
    row = desk.conversation(conv)
    assert (row["state"], row["agent_jid"]) == ("active", ALICE)
    assert row["first_response_at"] is not None
    assert desk.transcript(conv) == [("in", carol.full_jid, "my parcel is late"),
                                     ("out", ALICE, "Let me look it up")]
    carol.send(QUEUE, "thanks")
    await alice.expect(exact("thanks"), frm=conv)
    await alice.no_message(0.2)
    await carol.no_message(0)


async def test_accept_takes_the_offer_without_a_text(desk):
    await desk.start(agents=["alice"], queue=OFFER)
    alice = desk.agent("alice")
    carol = await desk.customer("carol")
    await write_first(carol, "hello")
    conv = await offered(alice, "carol@localhost", "hello")
    n = conv_id(conv)

    alice.send(conv, "/accept")
    await alice.expect(exact(f"Chat #{n} is yours."), frm=conv)
    await carol.expect(exact(ASSIGNED), frm=QUEUE)
    await carol.no_message(0.3)              # "/accept" is not relayed
    row = desk.conversation(conv)
    assert (row["state"], row["agent_jid"], row["first_response_at"]) == ("active", ALICE, None)
    assert desk.transcript(conv) == [("in", carol.full_jid, "hello")]

    alice.send(conv, "/accept")              # taken already
    await alice.expect(exact(f"Chat #{n} is already yours."), frm=conv)
    alice.send(conv, "Hi Carol")
    await carol.expect(exact("Hi Carol"), frm=QUEUE)


async def test_rejected_offer_goes_to_the_next_agent(desk):
    await desk.start(agents=["alice", "bob"], queue=OFFER)
    alice, bob = desk.agent("alice"), desk.agent("bob")
    carol = await desk.customer("carol")
    await write_first(carol, "question about my order")
    conv = await offered(alice, "carol@localhost", "question about my order")
    n = conv_id(conv)
    await bob.no_message(0.2)                # one offer at a time (not ring-all)

    alice.send(conv, "/reject")
    await alice.expect(exact(f"You turned down chat #{n}; it goes to another agent."), frm=conv)
    assert await offered(bob, "carol@localhost", "question about my order") == conv
    carol.send(QUEUE, "are you there?")
    await bob.expect(exact("are you there?"), frm=conv)
    bob.send(conv, "Bob here")
    await bob.expect(exact(f"Chat #{n} is yours."), frm=conv)
    await carol.expect(exact(ASSIGNED), frm=QUEUE)
    await carol.expect(exact("Bob here"), frm=QUEUE)
    await alice.no_message(0.3)              # nothing more for alice, e.g. the live message
    row = desk.conversation(conv)
    assert (row["state"], row["agent_jid"]) == ("active", BOB)
    alice.send(conv, "can I still?")
    await alice.expect_error("forbidden", frm=conv)


async def test_rejecting_agent_gets_the_chat_again_only_after_reject_delay(desk):
    """Even as the only free agent: not for reject_delay seconds, then it may be again."""
    await desk.start(agents=["alice"], queue=OFFER, extra=routing(reject_delay=2))
    alice = desk.agent("alice")
    carol = await desk.customer("carol")
    await write_first(carol, "hello?")
    conv = await offered(alice, "carol@localhost", "hello?")
    n = conv_id(conv)

    loop = asyncio.get_running_loop()
    alice.send(conv, "/reject")
    await alice.expect(exact(f"You turned down chat #{n}; it goes to another agent."), frm=conv)
    rejected = loop.time()
    await alice.no_message(1.4)
    assert desk.conversation(conv)["state"] == "queued"

    again = await alice.expect("Offer: chat #", frm=conv, timeout=5)
    assert loop.time() - rejected >= 1.8
    assert first_line(again["body"]) == offer_text(n, "carol@localhost")
    await alice.expect(exact("hello?"), frm=conv)
    alice.send(conv, "/accept")
    await alice.expect(exact(f"Chat #{n} is yours."), frm=conv)
    await carol.expect(exact(ASSIGNED), frm=QUEUE)
    assert desk.conversation(conv)["agent_jid"] == ALICE


async def test_unanswered_offer_moves_to_the_next_agent(desk):
    await desk.start(agents=["alice", "bob"], queue={"mode": "offer", "offer_timeout": 1})
    alice, bob = desk.agent("alice"), desk.agent("bob")
    carol = await desk.customer("carol")
    mark = desk.r.log_mark()
    await write_first(carol, "first line")
    carol.send(QUEUE, "second line")
    conv = await offered(alice, "carol@localhost", "first line")
    n = conv_id(conv)
    await alice.expect(exact("second line"), frm=conv)

    loop = asyncio.get_running_loop()
    start = loop.time()
    await alice.expect(exact(f"You did not answer chat #{n} within 1 s, so it goes to "
                             "another agent."), frm=conv, timeout=5)
    assert loop.time() - start >= 0.5
    await desk.r.wait_for_log_async(
        f"conversation {n}: offer to {ALICE} not answered (1 in a row)", since=mark)
    # bob gets it with the whole transcript, each line at its stored time
    assert await offered(bob, "carol@localhost", "first line") == conv
    second = await bob.expect(exact("second line"), frm=conv)
    assert second["delay"]["stamp"] is not None
    bob.send(conv, "Bob here, sorry for the wait")
    await bob.expect(exact(f"Chat #{n} is yours."), frm=conv)
    await carol.expect(exact(ASSIGNED), frm=QUEUE)
    await carol.expect(exact("Bob here, sorry for the wait"), frm=QUEUE)
    row = desk.conversation(conv)
    assert (row["state"], row["agent_jid"]) == ("active", BOB)
    await alice.no_message(0.2)


async def test_missed_offers_in_a_row_pause_the_agent(desk):
    await desk.start(agents=["alice"], queue={"mode": "offer", "offer_timeout": 1},
                     extra=routing(max_no_answer=2, reject_delay=1))
    alice = desk.agent("alice")
    carol = await desk.customer("carol")
    mark = desk.r.log_mark()
    await write_first(carol, "hello")
    conv = await offered(alice, "carol@localhost", "hello")
    n = conv_id(conv)
    missed = f"You did not answer chat #{n} within 1 s, so it goes to another agent."

    await alice.expect(exact(missed), frm=conv, timeout=5)
    # one miss does not pause: after reject_delay the same chat comes again
    assert await offered(alice, "carol@localhost", "hello") == conv
    await alice.expect(exact(missed), frm=conv, timeout=5)
    paused = await alice.expect(frm=COMPONENT_JID)
    assert paused["body"] == ("You are paused because you did not answer the last offers. "
                              "Write /ready here when you are back to get chats again.")
    await desk.r.wait_for_log_async(f"agent {ALICE} paused: offers not answered", since=mark)
    assert desk.rows("SELECT paused, reason FROM agent_status WHERE jid = ?", ALICE) == [
        {"paused": 1, "reason": "offers not answered"}]

    await alice.no_message(1.5)               # past reject_delay: still no offer
    assert desk.conversation(conv)["state"] == "queued"
    assert desk.r.log_text().count(f"agent {ALICE} paused") == 1
    alice.send(COMPONENT_JID, "/status")
    status = await alice.expect(frm=COMPONENT_JID)
    assert status["body"] == ("You are available and paused, with 0 of 3 chats; "
                              "paused: offers not answered.")

    alice.send(COMPONENT_JID, "/ready")
    await alice.expect(exact("You are ready: new chats are offered to you again."),
                       frm=COMPONENT_JID)
    assert await offered(alice, "carol@localhost", "hello") == conv
    alice.send(conv, "/accept")
    await alice.expect(exact(f"Chat #{n} is yours."), frm=conv)
    await carol.expect(exact(ASSIGNED), frm=QUEUE)


async def test_customer_messages_during_an_offer_reach_the_offered_agent(desk):
    await desk.start(agents=["alice"], queue=OFFER)
    alice = desk.agent("alice")
    carol = await desk.customer("carol")
    await write_first(carol, "hi")
    conv = await offered(alice, "carol@localhost", "hi")
    carol.send(QUEUE, "my order number is 1234")
    carol.send(QUEUE, "it never arrived")
    m1 = await alice.expect(exact("my order number is 1234"), frm=conv)
    m2 = await alice.expect(exact("it never arrived"), frm=conv)
    assert alice.arrival(m1) < alice.arrival(m2)
    assert m1.xml.find("{urn:xmpp:delay}delay") is None     # live, not replayed
    await alice.no_message(0.2)                             # each once

    alice.send(conv, "I see it")
    await carol.expect(exact("I see it"), frm=QUEUE)
    assert desk.transcript(conv) == [
        ("in", carol.full_jid, "hi"),
        ("in", carol.full_jid, "my order number is 1234"),
        ("in", carol.full_jid, "it never arrived"),
        ("out", ALICE, "I see it"),
    ]


async def test_offer_is_withdrawn_when_the_agent_goes_offline(desk):
    """The next agent gets it at once, and it does not count as a missed offer."""
    await desk.start(agents=["alice", "bob"], queue=OFFER, extra=routing(max_no_answer=1))
    alice, bob = desk.agent("alice"), desk.agent("bob")
    carol = await desk.customer("carol")
    await write_first(carol, "help please")
    conv = await offered(alice, "carol@localhost", "help please")
    n = conv_id(conv)

    mark = desk.r.log_mark()
    loop = asyncio.get_running_loop()
    gone = loop.time()
    await alice.stop()
    await desk.seen_as("alice", "offline", since=mark)
    assert await offered(bob, "carol@localhost", "help please") == conv
    assert loop.time() - gone < 5             # well before offer_timeout (10 s)
    bob.send(conv, "/accept")
    await bob.expect(exact(f"Chat #{n} is yours."), frm=conv)
    await carol.expect(exact(ASSIGNED), frm=QUEUE)
    assert desk.conversation(conv)["agent_jid"] == BOB
    log = desk.r.log_text()
    assert "not answered" not in log and f"agent {ALICE} paused" not in log

    # back online: not paused (with max_no_answer = 1 one miss would have paused alice)
    mark = desk.r.log_mark()
    alice2 = await desk.login("alice")
    await desk.seen_as("alice", "available", since=mark)
    alice2.send(COMPONENT_JID, "/status")
    status = await alice2.expect(frm=COMPONENT_JID)
    assert status["body"] == "You are available and ready, with 0 of 3 chats."


async def test_other_commands_during_an_offer_are_refused(desk):
    await desk.start(agents=["alice"], queue=OFFER)
    alice = desk.agent("alice")
    carol = await desk.customer("carol")
    await write_first(carol, "hello")
    conv = await offered(alice, "carol@localhost", "hello")
    n = conv_id(conv)
    refusal = (f"Chat #{n} is offered to you: answer it, or write /accept or /reject "
               "first.")

    for command in ("/close done", "/tag billing", "/note vip", "/help", "/transfer bob",
                    "/frobnicate"):
        alice.send(conv, command)
        await alice.expect(exact(refusal), frm=conv)
    await alice.no_message(0.2)
    await carol.no_message(0)
    row = desk.conversation(conv)
    assert (row["state"], row["agent_jid"]) == ("queued", None)
    assert desk.transcript(conv) == [("in", carol.full_jid, "hello")]
    assert desk.rows("SELECT * FROM conversation_tags") == []

    alice.send(conv, "/accept")              # the offer still stands
    await alice.expect(exact(f"Chat #{n} is yours."), frm=conv)
    await carol.expect(exact(ASSIGNED), frm=QUEUE)


async def test_only_the_offered_agent_may_write_to_the_chat(desk):
    await desk.start(agents=["alice", "bob"], queue=OFFER)
    alice, bob = desk.agent("alice"), desk.agent("bob")
    carol = await desk.customer("carol")
    await write_first(carol, "hello")
    conv = await offered(alice, "carol@localhost", "hello")
    n = conv_id(conv)
    mallory = await desk.customer("mallory")

    bob.send(conv, "I'll take it")           # an agent of the queue, but not offered it
    await bob.expect_error("forbidden", frm=conv)
    bob.send(conv, "/accept")
    await bob.expect_error("forbidden", frm=conv)
    mallory.send(conv, "/accept")            # not an agent at all
    await mallory.expect_error("forbidden", frm=conv)
    await carol.no_message(0.3)
    row = desk.conversation(conv)
    assert (row["state"], row["agent_jid"]) == ("queued", None)
    assert desk.transcript(conv) == [("in", carol.full_jid, "hello")]

    alice.send(conv, "Alice here")
    await alice.expect(exact(f"Chat #{n} is yours."), frm=conv)
    await carol.expect(exact(ASSIGNED), frm=QUEUE)
    await carol.expect(exact("Alice here"), frm=QUEUE)
