"""Ad-hoc commands for queues and agents: forms that come back with what is wrong, changes
that take effect at once, what respa.conf manages, and what survives a restart."""
import asyncio

from adhoc import Commander
from desk import GREETING, QUEUE, jid
from harness import COMPONENT_JID

ADMINS = {"admin": {"jids": "admin@localhost"}}
SALES = f"sales@{COMPONENT_JID}"


async def _admin(desk, **kw):
    await desk.start(extra=ADMINS, **kw)
    return Commander(await desk.customer("admin"))


async def _agent(desk, name):
    """A user who is not an agent yet, online (and approving subscriptions)."""
    return await desk.customer(name)


async def test_queue_create_shows_what_is_wrong_and_keeps_the_form(desk):
    admin = await _admin(desk, agents=["alice"])
    r = await admin.execute("queue-create")
    assert r.status == "executing" and r.fields["name"].required
    assert r.value("strategy") == "longest-idle" and "ring-all" in r.options("strategy")
    good = {"name": "sales", "title": "Sales", "strategy": "round-robin", "mode": "auto",
            "capacity": "2", "tier_wait": "30", "offer_timeout": "20", "max_wait": "300",
            "idle_close": "1800", "hours": "always", "timezone": "Europe/Helsinki",
            "closed": "", "greeting": "Welcome to Sales.", "offline_text": ""}
    for bad, note in (({"timezone": "Mars/Olympus"}, "Time zone: unknown time zone "
                       "\"Mars/Olympus\""),
                      ({"hours": "Mon-Fri 9-5"}, "Business hours: bad time \"9\""),
                      ({"closed": "2026-02-30"}, "Closed dates: bad date \"2026-02-30\""),
                      ({"name": "Sales!"}, "Name: \"Sales!\" is not a queue name"),
                      ({"name": "support"}, "Name: there is a queue support already"),
                      ({"capacity": "lots"}, "write a whole number from 0 to 100, not "
                       "\"lots\""),
                      ({"strategy": "fastest"}, "\"fastest\" is not one of the choices"),
                      ({"name": ""}, "is required")):
        r = await admin.complete(r, **{**good, **bad})
        assert r.status == "executing", (bad, r)
        assert note in r.note("error"), (bad, r.notes)
        for var, value in {**good, **bad}.items():      # what was written comes back
            assert r.value(var) == (value or None) or r.values(var) == [value], (var, r)
        assert desk.rows("SELECT * FROM desk_queues") == []
    r = await admin.complete(r, **good)
    assert r.status == "completed" and f"customers write to {SALES}" in r.note("info")
    row = desk.rows("SELECT * FROM desk_queues")[0]
    assert (row["name"], row["title"], row["strategy"], row["capacity"], row["timezone"]) == \
        ("sales", "Sales", "round-robin", 2, "Europe/Helsinki")
    items = await admin.client.disco_items(COMPONENT_JID)
    assert (SALES, None, "Sales") in items["disco_items"]["items"]
    bob = await desk.customer("bob")
    bob.send(SALES, "hi sales")
    await bob.expect("Welcome to Sales.", frm=SALES)
    await bob.expect("You are number 1 in line", frm=SALES)   # nobody answers in sales yet


async def test_a_form_of_type_cancel_cancels_and_applies_nothing(desk):
    """XEP-0004: a submitted form of type cancel means the person gave up, whatever the
    action it comes with; it was applied (the queue was made)."""
    admin = await _admin(desk, agents=["alice"])
    good = {"name": "sales", "title": "Sales", "strategy": "round-robin", "mode": "auto",
            "capacity": "2", "tier_wait": "30", "offer_timeout": "20", "max_wait": "300",
            "idle_close": "1800", "hours": "always", "timezone": "UTC", "closed": "",
            "greeting": "Welcome to Sales.", "offline_text": ""}
    for action in ("complete", "execute", "next"):
        r = await admin.execute("queue-create")
        assert r.status == "executing"
        r2 = await admin.send("queue-create", action, r.sessionid, good, ftype="cancel")
        assert (r2.type, r2.status, r2.sessionid) == ("result", "canceled", r.sessionid), \
            (action, r2)
        assert desk.rows("SELECT * FROM desk_queues") == [], action
        again = await admin.complete(r, **good)       # the session is gone
        assert (again.type, again.specific) == ("error", "bad-sessionid"), (action, again)
    items = await admin.client.disco_items(COMPONENT_JID)
    assert SALES not in {i[0] for i in items["disco_items"]["items"]}
    r = await admin.run("queue-create", good)          # a submitted form still applies
    assert r.status == "completed"
    assert [row["name"] for row in desk.rows("SELECT * FROM desk_queues")] == ["sales"]


async def test_agents_added_by_command_get_chats(desk):
    admin = await _admin(desk, agents=["alice"])
    await admin.run("queue-create", {"name": "sales", "title": "Sales"})
    dave = await _agent(desk, "dave")
    mark = desk.r.log_mark()
    r = await admin.run("agent-add", {"jid": "Dave@localhost", "queue": "sales", "tier": "1",
                                      "capacity": "2"})
    assert r.status == "completed" and "dave@localhost is in sales at tier 1" in r.note(), r
    await dave.expect_presence("subscribe", frm=COMPONENT_JID)
    await desk.seen_as("dave", "available", since=mark)
    r = await admin.run("agent-add", {"jid": "alice@localhost", "queue": "sales", "tier": "2"})
    assert r.status == "completed", r
    assert desk.rows("SELECT jid, capacity FROM desk_agents") == [{"jid": "dave@localhost",
                                                                   "capacity": 2}]
    assert desk.rows("SELECT queue, jid, tier FROM desk_members ORDER BY jid") == [
        {"queue": "sales", "jid": "alice@localhost", "tier": 2},
        {"queue": "sales", "jid": "dave@localhost", "tier": 1}]

    bob = await desk.customer("bob")
    bob.send(SALES, "a quote please")
    header = await dave.expect("New chat #")
    conv = header["from"].bare
    await dave.expect("a quote please", frm=conv)
    dave.send(conv, "sure")
    await bob.expect("sure", frm=SALES)

    r = await admin.execute("agents")
    assert r.status == "completed" and r.columns[0] == "jid"
    d, a = r.row("jid", "dave@localhost"), r.row("jid", "alice@localhost")
    assert (d["source"], d["presence"], d["chats"], d["today"], d["queues"]) == \
        ("made by a command", "available", "1 / 2", "1", "sales:1")
    assert a["source"] == "from respa.conf" and set(a["queues"].split(", ")) == \
        {"support:1", "sales:2"}

    r = await admin.run("agent-edit", {"agent": "dave@localhost", "capacity": "5"})
    assert r.status == "completed" and "takes 5 chats" in r.note()
    assert desk.rows("SELECT capacity FROM desk_agents") == [{"capacity": 5}]
    r = await admin.run("agent-remove", {"agent": "dave@localhost", "queue": ""})
    assert r.status == "executing" and "has 1 open chat" in r.note("error")
    r = await admin.run("agent-remove", {"agent": "alice@localhost", "queue": "sales"})
    assert r.status == "completed" and "alice@localhost left sales" in r.note()
    dave.send(conv, "/close")
    await dave.expect("closed", frm=conv)
    r = await admin.run("agent-remove", {"agent": "dave@localhost", "queue": ""})
    assert r.status == "completed" and "no longer an agent" in r.note(), r
    assert desk.rows("SELECT * FROM desk_agents") == []
    assert desk.rows("SELECT * FROM desk_members") == []
    assert "dave@localhost" not in [row["jid"] for row in
                                    (await admin.execute("agents")).rows]


async def test_what_respa_conf_declares_is_not_changed_by_commands(desk):
    admin = await _admin(desk, agents=["alice"])
    r = await admin.execute("queues")
    assert r.row("name", "support")["source"] == "from respa.conf"
    cases = [
        ("queue-edit", [{"queue": "support"}], "Queue support is declared in respa.conf"),
        ("queue-delete", [{"queue": "support", "confirm": "1"}],
         "Queue support is declared in respa.conf"),
        ("agent-edit", [{"agent": "alice@localhost", "capacity": "9"}],
         "Agent alice@localhost is declared in respa.conf"),
        ("agent-remove", [{"agent": "alice@localhost", "queue": ""}],
         "Agent alice@localhost is declared in respa.conf"),
        ("agent-remove", [{"agent": "alice@localhost", "queue": "support"}],
         "Queue support is declared in respa.conf"),
        ("agent-add", [{"jid": "eve@localhost", "queue": "support"}],
         "Queue support is declared in respa.conf: its agents are listed there"),
    ]
    for node, steps, note in cases:
        r = await admin.run(node, *steps)
        assert r.status == "executing" and note in r.note("error"), (node, r)
        await admin.cancel(r)
    assert desk.rows("SELECT * FROM desk_queues") == []
    assert desk.rows("SELECT * FROM desk_agents") == []
    # pausing and resuming is runtime state: allowed for any agent
    alice = desk.agent("alice")
    r = await admin.run("agent-status", {"agent": "alice@localhost", "action": "pause",
                                         "reason": "training"})
    assert r.status == "completed", r
    await alice.expect("admin@localhost paused you: training", frm=COMPONENT_JID)
    assert desk.rows("SELECT paused, reason FROM agent_status") == [
        {"paused": 1, "reason": "training"}]
    r = await admin.run("agent-status", {"agent": "alice@localhost", "action": "ready"})
    await alice.expect("made you ready", frm=COMPONENT_JID)
    assert desk.rows("SELECT paused FROM agent_status") == [{"paused": 0}]


async def test_queue_edit_goes_back_and_forth(desk):
    admin = await _admin(desk, agents=["alice"])
    await admin.run("queue-create", {"name": "sales", "title": "Sales"})
    await admin.run("queue-create", {"name": "billing", "title": "Billing",
                                     "strategy": "least-busy"})
    r = await admin.execute("queue-edit")
    assert set(r.choices("queue")) == {"support", "sales", "billing"}
    assert r.actions == {"next"} and r.execute == "next"
    r = await admin.next(r, queue="billing")
    assert r.actions == {"prev", "complete"} and r.value("strategy") == "least-busy"
    r = await admin.prev(r)
    assert r.value("queue") == "billing"                        # kept
    r = await admin.next(r, queue="sales")
    assert r.value("title") == "Sales" and r.value("strategy") == "longest-idle"
    r = await admin.complete(r, title="Sales team", strategy="ring-all", mode="offer",
                             hours="Mon-Fri 09:00-17:00 13:00", timezone="UTC")
    assert r.status == "executing" and "Business hours" in r.note("error")
    assert r.value("title") == "Sales team" and r.value("strategy") == "ring-all"
    r = await admin.complete(r, hours="Mon-Sun 00:00-24:00", closed="12-25")
    assert r.status == "completed", r
    row = desk.rows("SELECT * FROM desk_queues WHERE name = 'sales'")[0]
    assert (row["title"], row["strategy"], row["mode"], row["hours"], row["closed"]) == \
        ("Sales team", "ring-all", "offer", "Mon-Sun 00:00-24:00", "12-25")
    q = (await admin.execute("queues")).row("name", "sales")
    assert (q["title"], q["strategy"], q["mode"], q["hours"]) == \
        ("Sales team", "ring-all", "offer", "Mon-Sun 00:00-24:00")


async def test_queue_delete_waits_for_its_chats(desk):
    admin = await _admin(desk, agents=["alice"])
    await admin.run("queue-create", {"name": "sales"})
    await admin.run("agent-add", {"jid": "alice@localhost", "queue": "sales"})
    alice = desk.agent("alice")
    bob = await desk.customer("bob")
    bob.send(SALES, "hello sales")
    conv = (await alice.expect("New chat #"))["from"].bare
    r = await admin.run("queue-delete", {"queue": "sales", "confirm": "0"})
    assert "Tick \"Yes, delete it\"" in r.note("error")
    r = await admin.complete(r, confirm="1")
    assert r.status == "executing" and "still has 1 open chat" in r.note("error")
    alice.send(conv, "/close")
    await bob.expect("This chat has ended", frm=SALES)
    r = await admin.complete(r, confirm="1")
    assert r.status == "completed" and "Queue sales deleted" in r.note(), r
    assert desk.rows("SELECT * FROM desk_queues") == []
    assert desk.rows("SELECT * FROM desk_members") == []
    bob.send(SALES, "still there?")
    await bob.expect_error("item-not-found", frm=SALES)
    # alice keeps her file queue
    carol = await desk.customer("carol")
    await desk.open_chat(carol, alice, "support please")


async def test_restart_keeps_what_commands_made_and_respa_conf_wins(desk):
    admin = await _admin(desk, agents=["alice"])
    dave = await _agent(desk, "dave")
    await admin.run("queue-create", {"name": "sales", "title": "Sales", "capacity": "1"})
    await admin.run("queue-create", {"name": "extra", "title": "Extra by command"})
    await admin.run("agent-add", {"jid": "dave@localhost", "queue": "sales", "tier": "1",
                                  "capacity": "4"})
    await admin.run("agent-add", {"jid": "alice@localhost", "queue": "sales", "tier": "3"})
    await admin.run("canned-add", {"queue": "sales", "name": "bye", "text": "Goodbye!"})
    await dave.expect_presence("subscribe", frm=COMPONENT_JID)
    await desk.seen_as("dave", "available", since=0)

    # the file now declares "extra" too, and dave as an agent of its own
    desk.r.sections["queue extra"] = {"name": "Extra from the file"}
    desk.r.sections["agent dave@localhost"] = {"capacity": 7}
    mark = desk.r.log_mark()
    await asyncio.to_thread(desk.r.restart)
    log = desk.r.log_text()
    assert log.count("queue extra is declared in") == 1
    assert log.count("agent dave@localhost is declared in") == 1
    await desk.seen_as("dave", "available", since=mark)

    admin2 = Commander(admin.client)
    queues = await admin2.execute("queues")
    sales, extra = queues.row("name", "sales"), queues.row("name", "extra")
    assert (sales["title"], sales["source"]) == ("Sales", "made by a command")
    assert set(sales["members"].split(", ")) == {"dave@localhost:1", "alice@localhost:3"}
    assert (extra["title"], extra["source"]) == ("Extra by command".replace(
        "Extra by command", "Extra from the file"), "from respa.conf")
    agents = await admin2.execute("agents")
    d = agents.row("jid", "dave@localhost")
    assert (d["source"], d["chats"], d["queues"]) == ("from respa.conf", "0 / 7", "sales:1")
    # the stored rows stay as they were: removing the file's section brings them back
    assert desk.rows("SELECT name FROM desk_queues ORDER BY name") == [
        {"name": "extra"}, {"name": "sales"}]

    bob = await desk.customer("bob")
    bob.send(SALES, "hello again")
    conv = (await dave.expect("New chat #"))["from"].bare
    dave.send(conv, "/canned bye")
    await bob.expect("Goodbye!", frm=SALES)
    alice = desk.agent("alice")
    carol = await desk.customer("carol")
    carol.send(QUEUE, "support?")
    await carol.expect(GREETING, frm=QUEUE)
    await alice.expect("New chat #")
    assert jid("dave") == "dave@localhost"
