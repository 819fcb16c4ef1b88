"""Reload on SIGHUP: respa.conf is read again and its differences applied, with the component
link and every chat kept; a file with an error is refused whole; restart-only settings are
named and kept."""
import asyncio
import os
import signal

from desk import ASSIGNED, GREETING, QUEUE, exact
from harness import COMPONENT_JID, merge_sections

SALES = f"sales@{COMPONENT_JID}"
CLOSED_TEXT = "Support is closed right now. Your message is saved, and we will get back to you."


async def reload(r, sections=None, raw=None, done="reload: done") -> int:
    """Writes the changed file, sends SIGHUP, waits for the line `done`; returns the mark."""
    mark = r.log_mark()
    if sections:
        r.sections = merge_sections(r.sections, sections)
    r.raw_config = raw
    r.write_config()
    os.kill(r.pid, signal.SIGHUP)
    await r.wait_for_log_async(done, since=mark)
    return mark


def since(r, mark: int) -> str:
    return r.log_path.read_bytes()[mark:].decode(errors="replace")


async def test_added_queue_takes_customers_and_reconnects_nothing(desk):
    r = await desk.start(agents=["alice"])
    mark = await reload(r, {"queue sales": {"name": "Sales", "agents": "alice@localhost"}})
    assert "reload: queue sales added" in since(r, mark)
    assert "reload: agent alice@localhost added to sales" in since(r, mark)
    assert "connecting to" not in since(r, mark)   # the component link stayed
    bob = await desk.customer("bob")
    bob.send(SALES, "a quote please")
    await bob.expect("thank you for contacting Sales", frm=SALES)
    await desk.agent("alice").expect("New chat #")
    await bob.expect(ASSIGNED, frm=SALES)


async def test_removed_agent_keeps_open_chat_and_gets_no_new_one(desk):
    r = await desk.start(agents=["alice", "carol"], capacity={"alice": 5, "carol": 5})
    alice, carol = desk.agent("alice"), desk.agent("carol")
    bob = await desk.customer("bob")
    bob.send(QUEUE, "hello")
    who, conv = await first_header(alice, carol)
    await (alice if who == "alice" else carol).expect(exact("hello"), frm=conv)
    gone, stays = (alice, carol) if who == "alice" else (carol, alice)
    gone_name = who
    stays_name = "carol" if who == "alice" else "alice"
    mark = await reload(r, {"queue support": {"agents": f"{stays_name}@localhost"},
                            f"agent {gone_name}@localhost": None})
    log = since(r, mark)
    assert f"reload: agent {gone_name}@localhost removed from support" in log
    assert f"reload: agent {gone_name}@localhost removed" in log
    gone.send(conv, "still here for you")          # the open chat goes on
    await bob.expect("still here for you", frm=QUEUE)
    bob.send(QUEUE, "thanks")
    await gone.expect(exact("thanks"), frm=conv)
    dan = await desk.customer("dan")                # the next chat goes to the other agent
    dan.send(QUEUE, "new question")
    await stays.expect("New chat #")
    await gone.no_message(within=1.0)


async def first_header(alice, carol):
    """Which of the two agents got the chat, and its address."""
    done, pending = await asyncio.wait(
        [asyncio.ensure_future(alice.expect("New chat #")),
         asyncio.ensure_future(carol.expect("New chat #"))],
        return_when=asyncio.FIRST_COMPLETED, timeout=10)
    for p in pending:
        p.cancel()
    m = done.pop().result()
    return ("alice" if m["to"].bare == "alice@localhost" else "carol"), m["from"].bare


async def test_changed_greeting_is_what_new_customers_see(desk):
    r = await desk.start(agents=["alice"])
    bob = await desk.customer("bob")
    await desk.open_chat(bob, desk.agent("alice"), "before")
    mark = await reload(r, {"queue support": {"greeting": "Welcome back to Support!"}})
    assert "reload: queue support changed" in since(r, mark)
    dan = await desk.customer("dan")
    dan.send(QUEUE, "after")
    await dan.expect(exact("Welcome back to Support!"), frm=QUEUE)


async def test_bad_file_is_refused_whole_and_old_config_keeps_working(desk):
    r = await desk.start(agents=["alice"])
    good = r.sections
    mark = await reload(r, raw=(r.config_path.read_text()
                                + "[queue sales]\nagents = alice@localhost\n"
                                + "max_wait = soon\n"),
                        done="refused whole")
    log = since(r, mark)
    assert f"{r.config_path}:" in log and "max_wait" in log   # file:line
    assert "queue sales added" not in log and "reload: done" not in log
    r.raw_config, r.sections = None, good
    bob = await desk.customer("bob")
    await desk.open_chat(bob, desk.agent("alice"), "still working?")
    bob.send(SALES, "hello sales")                            # never added
    await bob.expect_error(frm=SALES)


async def test_restart_only_setting_is_refused_by_name_the_rest_applied(desk):
    r = await desk.start(agents=["alice"])
    port = r.sections["component"]["port"]
    mark = await reload(r, {"component": {"port": port + 1},
                            "limits": {"message_burst": 50}})
    log = since(r, mark)
    assert "[component] port can't change without a restart; kept" in log
    assert "reload: [limits] changed" in log
    bob = await desk.customer("bob")
    await desk.open_chat(bob, desk.agent("alice"), "the link stayed")


async def test_sighup_storm_under_load_loses_no_message(desk):
    r = await desk.start(agents=["alice"], capacity={"alice": 10})
    alice = desk.agent("alice")
    customers, convs = [], []
    for i in range(4):
        c = await desk.customer(f"cust{i}")
        convs.append(await desk.open_chat(c, alice, f"hello {i}"))
        customers.append(c)
    mark = r.log_mark()

    async def chat(i):
        for n in range(15):
            customers[i].send(QUEUE, f"m{i}-{n}")
            await asyncio.sleep(0.02)

    async def storm():
        for n in range(5):
            r.sections = merge_sections(r.sections, {"queue support": {
                "greeting": f"Hello #{n}"}})
            r.write_config()
            os.kill(r.pid, signal.SIGHUP)
            await asyncio.sleep(0.05)

    await asyncio.gather(storm(), *(chat(i) for i in range(4)))
    for i in range(4):
        for n in range(15):
            await alice.expect(exact(f"m{i}-{n}"), frm=convs[i])
    await r.wait_for_log_async("reload: done", since=mark)
    n_reloads = since(r, mark).count("SIGHUP: reloading")
    assert 1 <= n_reloads <= 5
    await desk.stored(4 + 60)
    assert "connecting to" not in since(r, mark)


async def test_removed_queue_keeps_open_chat_and_a_new_writer_is_told_closed(desk):
    r = await desk.start(agents=["alice"],
                         extra={"queue sales": {"name": "Sales", "agents": "alice@localhost"}})
    alice = desk.agent("alice")
    bob = await desk.customer("bob")
    conv = await desk.open_chat(bob, alice, "open chat in support")
    mark = await reload(r, {"queue support": None, "queue sales": {"name": "Sales"}})
    assert "reload: queue support removed" in since(r, mark)
    bob.send(QUEUE, "still there?")                 # the open chat keeps going
    await alice.expect(exact("still there?"), frm=conv)
    alice.send(conv, "yes")
    await bob.expect(exact("yes"), frm=QUEUE)
    alice.send(conv, "!transfer support")          # takes no chat, not even a transfer
    await alice.expect("Queue support was removed from the configuration", frm=conv)
    dan = await desk.customer("dan")                # a new writer: closed, and a task
    dan.send(QUEUE, "anyone?")
    told = await dan.expect(frm=QUEUE)
    assert told["body"].startswith(CLOSED_TEXT)
    await alice.no_message(within=1.0)
    tasks = desk.rows("SELECT kind, status FROM tasks")
    assert [(t["kind"], t["status"]) for t in tasks] == [("offline", "open")]
    assert GREETING not in told["body"]


async def test_queue_removed_and_added_back(desk):
    r = await desk.start(agents=["alice"],
                         extra={"queue sales": {"name": "Sales", "agents": "alice@localhost"}})
    alice = desk.agent("alice")
    bob = await desk.customer("bob")
    conv = await desk.open_chat(bob, alice, "open chat in support")
    mark = await reload(r, {"queue sales": None, "queue support": None})
    assert "reload: queue sales removed" in since(r, mark)
    dan = await desk.customer("dan")
    dan.send(SALES, "hello?")                    # no open chat: gone at once
    await dan.expect_error("item-not-found", frm=SALES)
    mark = await reload(r, {"queue sales": {"name": "Sales", "agents": "alice@localhost"},
                            "queue support": {"name": "Support",
                                              "agents": "alice@localhost"}})
    log = since(r, mark)
    assert "reload: queue sales added" in log and "reload: queue support added back" in log
    dan.send(SALES, "hello again")
    await dan.expect("thank you for contacting Sales", frm=SALES)
    await alice.expect("New chat #")
    eve = await desk.customer("eve")             # support routes again
    eve.send(QUEUE, "back?")
    await eve.expect(GREETING, frm=QUEUE)
    alice.send(conv, "the first chat never closed")
    await bob.expect(exact("the first chat never closed"), frm=QUEUE)


async def test_capacity_hook_hours_and_a_new_agent_apply(desk, tmp_path):
    """A capacity raised, a [crm] hook set, an agent added and the queue closed for today,
    all by one reload: each takes effect at once, and the open chat goes on."""
    import time
    from test_care import hook_script, saved_records
    r = await desk.start(agents=["alice"], capacity={"alice": 1})
    alice = desk.agent("alice")
    bob = await desk.customer("bob")
    conv = await desk.open_chat(bob, alice, "first question")
    dan = await desk.customer("dan")
    dan.send(QUEUE, "second question")
    await dan.expect("All our agents are busy", frm=QUEUE)      # alice is full

    desk.prosody.register("carol")
    await desk.login("carol")
    hook = hook_script(tmp_path, 'cat > "$OUT/record-$N.json"')
    mark = await reload(r, {"agent alice@localhost": {"capacity": 2},
                            "queue support": {"agents": ["alice@localhost", "carol@localhost"]},
                            "crm": {"hook": str(hook)}})
    log = since(r, mark)
    assert "reload: agent carol@localhost added to support" in log, log
    assert "reload: [crm] changed" in log, log
    await alice.expect("New chat #")               # capacity 2: dan's chat comes to alice
    await dan.expect(ASSIGNED, frm=QUEUE)

    alice.send(conv, "!close Answered")            # the hook set by the reload gets it
    deadline = time.monotonic() + 10
    while not saved_records(tmp_path):
        assert time.monotonic() < deadline, "the hook never ran"
        await asyncio.sleep(0.1)
    assert saved_records(tmp_path)[1]["id"] == int(conv.split("@")[0][2:])

    today = time.strftime("%Y-%m-%d", time.gmtime())
    mark = await reload(r, {"queue support": {"closed": today}})
    eve = await desk.customer("eve")
    eve.send(QUEUE, "are you there?")
    await eve.expect(CLOSED_TEXT, frm=QUEUE)       # closed for today, from now on
