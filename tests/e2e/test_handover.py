"""A chat changing hands on the wire: an agent's client goes offline past the grace period,
an agent transfers the chat to a colleague. Presence changes mid-chat, coming back within the
grace, refused transfers and transfers to queues are tested in process
(tests/unit/test_flow.c)."""
from desk import ASSIGNED, GREETING, QUEUE, QUEUED, conv_id, exact, first_line

ALICE, BOB = "alice@localhost", "bob@localhost"
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
                              "Write here to answer; !help lists the commands.")
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

