"""Who gets the next chat, on the wire: capacity under a burst of real customers, and a pause
that outlives presence changes and a restart of respa. Each strategy, presence rank, tiers,
the queue's capacity and wrap-up are tested in process (tests/unit/test_flow.c)."""
import asyncio
import re

from harness import COMPONENT_JID
from desk import ASSIGNED, CLOSED, GREETING, QUEUE, QUEUED, conv_id, exact, jid

PAUSED = ("You are paused: no new chats are offered to you until you write !ready here. "
          "Your open chats stay with you.")
READY = "You are ready: new chats are offered to you again."


def headers(agent) -> list[str]:
    """Every "New chat" header the agent has received so far, claimed or not."""
    return [m["body"] for m in agent.messages.history if m["body"].startswith("New chat #")]


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

