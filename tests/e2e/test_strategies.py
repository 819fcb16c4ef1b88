"""Who gets the next chat: the queue's strategy (longest-idle, least-busy, round-robin,
ring-all), presence rank, tiers, capacity (the agent's and the queue's), pause and wrap-up."""
import asyncio
import re

from harness import COMPONENT_JID
from desk import ASSIGNED, CLOSED, GREETING, QUEUE, QUEUED, conv_id, exact, jid, headline

PAUSED = ("You are paused: no new chats are offered to you until you write /ready here. "
          "Your open chats stay with you.")
READY = "You are ready: new chats are offered to you again."


def headers(agent) -> list[str]:
    """Every "New chat" header the agent has received so far, claimed or not."""
    return [m["body"] for m in agent.messages.history if m["body"].startswith("New chat #")]


async def chat_goes_to(desk, customer, text: str) -> tuple[str, str]:
    """The customer's first message is given to some agent at once (auto mode): returns that
    agent's name and the c-N address, after the agent got the header and the message."""
    customer.send(QUEUE, text)
    await customer.expect(GREETING, frm=QUEUE)
    await customer.expect(exact(ASSIGNED), frm=QUEUE)
    rows = desk.rows("SELECT id, agent_jid FROM conversations WHERE customer_jid = ? "
                     "AND state = 'active'", customer.full_jid)
    assert len(rows) == 1, rows
    n, name = rows[0]["id"], rows[0]["agent_jid"].split("@")[0]
    conv = f"c-{n}@{COMPONENT_JID}"
    agent = desk.agent(name)
    await agent.expect(headline(f"New chat #{n} from {customer.jid} in Support (xmpp). "
                                "Write here to answer; /help lists the commands."), frm=conv)
    await agent.expect(exact(text), frm=conv)
    return name, conv


async def close(agent, customer, conv: str) -> None:
    agent.send(conv, "/close")
    await agent.expect("closed. Summary:", frm=conv)
    await customer.expect(CLOSED, frm=QUEUE)


async def queue_up(customer, text: str, place: int) -> None:
    customer.send(QUEUE, text)
    await customer.expect(GREETING, frm=QUEUE)
    queued = await customer.expect(QUEUED, frm=QUEUE)
    assert re.search(rf"You are number {place} in line\.", queued["body"]), queued["body"]


def states(desk) -> list[str]:
    return [r["state"] for r in desk.rows("SELECT state FROM conversations ORDER BY id")]


async def test_longest_idle_agent_gets_the_next_chat(desk):
    """The idle order comes from when each agent last got or finished a chat."""
    await desk.start(agents=["alice", "bob", "carol"], queue={"strategy": "longest-idle"},
                     capacity={"alice": 1, "bob": 1, "carol": 1})
    cs = [await desk.customer(f"cust{i}") for i in range(6)]
    # before any chat, the configured order breaks the tie
    got = [await chat_goes_to(desk, cs[i], f"question {i}") for i in range(3)]
    assert [name for name, _ in got] == ["alice", "bob", "carol"]
    # carol finishes first, then alice, then bob: that is now the idle order
    for i in (2, 0, 1):
        name, conv = got[i]
        await close(desk.agent(name), cs[i], conv)
    order = [(await chat_goes_to(desk, cs[i], f"question {i}"))[0] for i in range(3, 6)]
    assert order == ["carol", "alice", "bob"]
    await desk.agent("alice").no_message(0.2)
    assert {a: len(headers(desk.agent(a))) for a in ("alice", "bob", "carol")} == {
        "alice": 2, "bob": 2, "carol": 2}
    assert desk.active_per_agent() == {jid("alice"): 1, jid("bob"): 1, jid("carol"): 1}


async def test_least_busy_agent_wins_even_when_not_longest_idle(desk):
    await desk.start(agents=["alice", "bob"], queue={"strategy": "least-busy"})
    cs = [await desk.customer(f"cust{i}") for i in range(5)]
    # equal loads: longest idle first (alice, bob, then alice again who was idle longer)
    got = [await chat_goes_to(desk, cs[i], f"question {i}") for i in range(4)]
    assert [name for name, _ in got] == ["alice", "bob", "alice", "bob"]
    # bob finishes one: he just changed (alice is longer idle), but he has fewer chats
    await close(desk.agent("bob"), cs[1], got[1][1])
    assert desk.active_per_agent() == {jid("alice"): 2, jid("bob"): 1}
    name, _ = await chat_goes_to(desk, cs[4], "question 4")
    assert name == "bob"
    await desk.agent("alice").no_message(0.2)
    assert len(headers(desk.agent("alice"))) == 2
    assert desk.active_per_agent() == {jid("alice"): 2, jid("bob"): 2}


async def test_round_robin_gives_agents_chats_in_turn_in_configured_order(desk):
    """Closing chats does not change the turn (longest-idle or least-busy would pick others)."""
    await desk.start(agents=["bob", "carol", "alice"], queue={"strategy": "round-robin"})
    cs = [await desk.customer(f"cust{i}") for i in range(7)]
    got = [await chat_goes_to(desk, cs[i], f"question {i}") for i in range(3)]
    assert [name for name, _ in got] == ["bob", "carol", "alice"]
    # carol, then bob free up: longest-idle would now pick alice, least-busy carol
    await close(desk.agent("carol"), cs[1], got[1][1])
    await close(desk.agent("bob"), cs[0], got[0][1])
    name, conv = await chat_goes_to(desk, cs[3], "question 3")
    assert name == "bob"
    await close(desk.agent("bob"), cs[3], conv)     # bob is free again, but it is carol's turn
    order = [(await chat_goes_to(desk, cs[i], f"question {i}"))[0] for i in range(4, 7)]
    assert order == ["carol", "alice", "bob"]
    assert desk.active_per_agent() == {jid("alice"): 2, jid("bob"): 1, jid("carol"): 1}


async def test_ring_all_offers_every_free_agent_and_the_first_answer_takes_it(desk):
    await desk.start(agents=["alice", "bob", "carol"], queue={"strategy": "ring-all"},
                     capacity={"alice": 1, "bob": 1, "carol": 1})
    agents = [desk.agent(a) for a in ("alice", "bob", "carol")]
    alice, bob, carol = agents
    c1, c2, c3 = [await desk.customer(f"cust{i}") for i in range(1, 4)]

    c1.send(QUEUE, "my parcel is late")
    await c1.expect(GREETING, frm=QUEUE)
    conv = f"c-1@{COMPONENT_JID}"
    for a in agents:
        await a.expect(headline("Offer: chat #1 from cust1@localhost in Support (xmpp). "
                                "Answer here to take it, or write /accept or /reject."),
                       frm=conv)
        await a.expect(exact("my parcel is late"), frm=conv)
    assert desk.conversation(1)["state"] == "queued"    # not anyone's until answered

    bob.send(conv, "Let me track it")
    await bob.expect(exact("Chat #1 is yours."), frm=conv)
    await c1.expect(exact(ASSIGNED), frm=QUEUE)
    await c1.expect(exact("Let me track it"), frm=QUEUE)
    for a in (alice, carol):
        await a.expect(exact("Chat #1 was taken by another agent."), frm=conv)
    row = desk.conversation(1)
    assert (row["state"], row["agent_jid"]) == ("active", jid("bob"))
    assert desk.transcript(1) == [("in", c1.full_jid, "my parcel is late"),
                                  ("out", jid("bob"), "Let me track it")]

    # alice's and carol's slots are free again (bob's only one is taken)
    c2.send(QUEUE, "second question")
    conv2 = f"c-2@{COMPONENT_JID}"
    for a in (alice, carol):
        await a.expect("Offer: chat #2 from cust2@localhost", frm=conv2)
        await a.expect(exact("second question"), frm=conv2)
    alice.send(conv2, "/accept")
    await alice.expect(exact("Chat #2 is yours."), frm=conv2)
    await c2.expect(exact(ASSIGNED), frm=QUEUE)
    await carol.expect(exact("Chat #2 was taken by another agent."), frm=conv2)

    c3.send(QUEUE, "third question")
    conv3 = f"c-3@{COMPONENT_JID}"
    await carol.expect("Offer: chat #3 from cust3@localhost", frm=conv3)
    await carol.expect(exact("third question"), frm=conv3)
    carol.send(conv3, "/accept")
    await carol.expect(exact("Chat #3 is yours."), frm=conv3)
    await alice.no_message(0.3)
    await bob.no_message(0)
    rows = desk.rows("SELECT state, agent_jid FROM conversations ORDER BY id")
    assert [(r["state"], r["agent_jid"]) for r in rows] == [
        ("active", jid("bob")), ("active", jid("alice")), ("active", jid("carol"))]


async def test_agent_free_for_chat_is_chosen_over_one_merely_available(desk):
    """alice (available) is longer idle and less busy; bob (chat) still comes first."""
    await desk.start(agents=["alice", "bob"], show={"bob": "chat"},
                     queue={"strategy": "longest-idle"})
    cs = [await desk.customer(f"cust{i}") for i in range(4)]
    order = [(await chat_goes_to(desk, cs[i], f"question {i}"))[0] for i in range(4)]
    assert order == ["bob", "bob", "bob", "alice"]     # alice only once bob is full (3)
    assert desk.active_per_agent() == {jid("alice"): 1, jid("bob"): 3}


async def test_tier_two_gets_a_chat_only_after_tier_wait(desk):
    # bob is first in the configuration (longest idle) but in tier 2
    await desk.start(agents=["alice", "bob"], capacity={"alice": 1},
                     queue={"agents": "bob@localhost:2 alice@localhost", "tier_wait": 2})
    alice, bob = desk.agent("alice"), desk.agent("bob")
    c1, c2 = await desk.customer("cust1"), await desk.customer("cust2")
    name, _ = await chat_goes_to(desk, c1, "first")
    assert name == "alice"

    loop = asyncio.get_running_loop()
    start = loop.time()
    await queue_up(c2, "second", 1)                # alice is full; tier 2 is not open yet
    await bob.no_message(1.5)
    assert desk.conversation(2)["state"] == "queued"
    header = await bob.expect("New chat #2 from cust2@localhost", timeout=3)
    waited = loop.time() - start
    assert 1.9 <= waited < 3.5, waited
    await bob.expect(exact("second"), frm=header["from"].bare)
    await c2.expect(exact(ASSIGNED), frm=QUEUE)
    await alice.no_message(0)
    assert desk.active_per_agent() == {jid("alice"): 1, jid("bob"): 1}


async def test_queue_capacity_overrides_the_agents_own(desk):
    await desk.start(agents=["alice"], capacity={"alice": 3}, queue={"capacity": 1})
    alice = desk.agent("alice")
    c1, c2 = await desk.customer("cust1"), await desk.customer("cust2")
    _, conv = await chat_goes_to(desk, c1, "first")
    await queue_up(c2, "second", 1)
    await alice.no_message(0.3)
    assert desk.active_per_agent() == {jid("alice"): 1}
    assert states(desk) == ["active", "queued"]

    await close(alice, c1, conv)
    header = await alice.expect("New chat #2 from cust2@localhost")
    await alice.expect(exact("second"), frm=header["from"].bare)
    await c2.expect(exact(ASSIGNED), frm=QUEUE)
    assert desk.active_per_agent() == {jid("alice"): 1}


async def test_capacity_never_exceeded_when_many_customers_arrive_at_once(desk):
    capacity = {"alice": 1, "bob": 2, "carol": 2}
    await desk.start(agents=list(capacity), capacity=capacity)
    agents = {a: desk.agent(a) for a in capacity}
    customers = [await desk.customer(f"cust{i}") for i in range(15)]

    async def first_message(c):
        c.send(QUEUE, "help")
        await c.expect(GREETING, frm=QUEUE)
        return (await c.expect(lambda m: m["body"] == ASSIGNED or QUEUED in m["body"],
                               frm=QUEUE))["body"]

    answers = await asyncio.gather(*(first_message(c) for c in customers))
    assert answers.count(ASSIGNED) == 5
    places = sorted(int(re.search(r"You are number (\d+) in line", a).group(1))
                    for a in answers if a != ASSIGNED)
    assert places == list(range(1, 11))

    open_chats = {a: [] for a in capacity}      # c-N addresses each agent holds now

    async def new_chats(name: str, n: int) -> None:
        for _ in range(n):
            h = await agents[name].expect("New chat #")
            open_chats[name].append(h["from"].bare)

    def check_capacity() -> None:
        assert all(n <= capacity[jid_.split("@")[0]]
                   for jid_, n in desk.active_per_agent().items()), desk.active_per_agent()
        # and in what each agent was sent, in order: never more open than its capacity
        for name, agent in agents.items():
            held = 0
            for m in agent.messages.history:
                held += m["body"].startswith("New chat #") - ("closed. Summary:" in m["body"])
                assert held <= capacity[name], f"{name} held {held} chats"

    await asyncio.gather(*(new_chats(a, n) for a, n in capacity.items()))
    check_capacity()
    assert desk.active_per_agent() == {jid(a): n for a, n in capacity.items()}
    assert states(desk).count("queued") == 10

    # every agent closes all its chats at once, three times: each freed slot takes the
    # oldest waiting chat, and the agent who freed it is the only one with room
    for left_after in (5, 0, 0):
        waiting = [r["id"] for r in desk.rows(
            "SELECT id FROM conversations WHERE state = 'queued' ORDER BY id")]
        closing = {a: open_chats[a] for a in capacity}
        open_chats = {a: [] for a in capacity}
        for name, convs in closing.items():
            for conv in convs:
                agents[name].send(conv, "/close")
        for name, convs in closing.items():
            for conv in convs:
                await agents[name].expect("closed. Summary:", frm=conv)
        if waiting:
            await asyncio.gather(*(new_chats(a, n) for a, n in capacity.items()))
            got = sorted(conv_id(c) for convs in open_chats.values() for c in convs)
            assert got == waiting[:5]            # first come, first served
        check_capacity()
        assert states(desk).count("queued") == left_after
    for c in customers:
        await c.expect(CLOSED, frm=QUEUE)
    await asyncio.sleep(0.2)                       # nothing more is handed out
    check_capacity()
    assert desk.active_per_agent() == {}
    assert states(desk) == ["closed"] * 15
    assert sum(len(headers(a)) for a in agents.values()) == 15


async def test_pause_holds_through_presence_and_restart_until_ready(desk):
    r = await desk.start(agents=["alice"])
    alice = desk.agent("alice")
    alice.send(COMPONENT_JID, "/pause lunch")
    await alice.expect(exact(PAUSED), frm=COMPONENT_JID)
    await r.wait_for_log_async("agent alice@localhost paused: lunch")
    cust = await desk.customer("cust1")
    await queue_up(cust, "hello?", 1)
    await alice.no_message(0.3)

    # away and back: the client's presence does not end the pause
    for show in ("away", None):
        mark = r.log_mark()
        alice.set_presence(show)
        await desk.seen_as("alice", show or "available", since=mark)
    await alice.no_message(0.5)
    assert desk.conversation(1)["state"] == "queued"

    mark = r.log_mark()
    await asyncio.to_thread(r.restart)
    await desk.seen_as("alice", "available", since=mark)
    await alice.no_message(0.5)
    assert desk.conversation(1)["state"] == "queued"
    assert "agent alice@localhost ready" not in r.log_text()
    assert [(s["paused"], s["reason"]) for s in desk.rows(
        "SELECT paused, reason FROM agent_status WHERE jid = ?", jid("alice"))] == [
        (1, "lunch")]
    alice.send(COMPONENT_JID, "/status")
    status = await alice.expect("You are", frm=COMPONENT_JID)
    assert status["body"] == "You are available and paused, with 0 of 3 chats; paused: lunch."

    alice.send(COMPONENT_JID, "/ready")
    await alice.expect(exact(READY), frm=COMPONENT_JID)
    header = await alice.expect("New chat #1 from cust1@localhost")
    await alice.expect(exact("hello?"), frm=header["from"].bare)
    await cust.expect(exact(ASSIGNED), frm=QUEUE)
    await r.wait_for_log_async("agent alice@localhost ready", since=mark)
    alice.send(COMPONENT_JID, "/status")
    status = await alice.expect("You are", frm=COMPONENT_JID)
    assert status["body"] == "You are available and ready, with 1 of 3 chats."


async def test_wrap_up_holds_new_chats_after_a_close(desk):
    await desk.start(agents=["alice"], capacity={"alice": 1}, queue={"wrap_up": 2})
    alice = desk.agent("alice")
    c1, c2 = await desk.customer("cust1"), await desk.customer("cust2")
    _, conv = await chat_goes_to(desk, c1, "first")
    await queue_up(c2, "second", 1)

    loop = asyncio.get_running_loop()
    start = loop.time()
    await close(alice, c1, conv)
    await alice.no_message(1.5)
    assert desk.conversation(2)["state"] == "queued"
    header = await alice.expect("New chat #2 from cust2@localhost", timeout=3)
    waited = loop.time() - start
    assert 1.9 <= waited < 3.5, waited
    await alice.expect(exact("second"), frm=header["from"].bare)
    await c2.expect(exact(ASSIGNED), frm=QUEUE)
