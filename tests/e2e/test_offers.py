"""Offers (queue mode = offer) on the wire: an agent is offered a chat and takes it by
answering; an agent whose client goes offline has its offers withdrawn at once. /accept,
/reject, time-outs, missed offers and who may write during an offer are tested in process
(tests/unit/test_flow.c)."""
import asyncio

from desk import ASSIGNED, GREETING, QUEUE, QUEUE_TITLE, conv_id, exact, first_line
from harness import COMPONENT_JID

ALICE, BOB = "alice@localhost", "bob@localhost"
# long enough never to run out by accident where a test does not wait for it
OFFER = {"mode": "offer", "offer_timeout": 10}


def offer_text(n: int, customer: str) -> str:
    return (f"Offer: chat #{n} from {customer} in {QUEUE_TITLE} (xmpp). "
            "Answer here to take it, or write !accept or !reject.")


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

