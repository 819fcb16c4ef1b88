"""XEP-0050 ad-hoc commands: the engine (list, sessions, next/prev/complete/cancel, errors),
who may run what, and the agents' own commands."""
import asyncio

import pytest

from adhoc import ADMIN_NODES, AGENT_NODES, NS_COMMANDS, Commander
from desk import QUEUE, exact
from harness import COMPONENT_JID

pytestmark = pytest.mark.ejabberd   # also run against ejabberd (tests/run)

ADMINS = {"admin": {"jids": "admin@localhost boss@localhost"}}


async def _roles(desk):
    """admin (admin only), alice (agent only), boss (both), a customer and a stranger."""
    await desk.start(agents=["alice", "boss"], extra=ADMINS)
    admin = Commander(await desk.customer("admin"))
    alice = Commander(desk.agent("alice"))
    boss = Commander(desk.agent("boss"))
    bob = await desk.customer("bob")
    bob.send(QUEUE, "hello")               # a customer of the desk
    await bob.expect("Hello", frm=QUEUE)
    customer = Commander(bob)
    stranger = Commander(await desk.customer(anonymous=True))
    return admin, alice, boss, customer, stranger


async def test_command_list_follows_roles(desk):
    admin, alice, boss, customer, stranger = await _roles(desk)
    assert sorted(await admin.nodes()) == sorted(ADMIN_NODES)
    assert sorted(await alice.nodes()) == sorted(AGENT_NODES)
    assert sorted(await boss.nodes()) == sorted(AGENT_NODES + ADMIN_NODES)
    assert await customer.nodes() == {}
    assert await stranger.nodes() == {}
    names = await alice.nodes()
    assert names["pause"] == "Pause (no new chats)"

    info = await admin.client.disco_info(COMPONENT_JID)
    assert NS_COMMANDS in info["disco_info"]["features"]
    info = await admin.client.disco_info(COMPONENT_JID, node="queue-create")
    assert ("automation", "command-node", None, "Create a queue") in \
        info["disco_info"]["identities"]
    assert {NS_COMMANDS, "jabber:x:data"} <= set(info["disco_info"]["features"])
    for who, node in ((stranger, "queue-create"), (alice, "queue-create"),
                      (customer, "pause")):
        reply = await who.client.iq(COMPONENT_JID, f"<query xmlns='http://jabber.org/protocol/"
                                    f"disco#info' node='{node}'/>")
        assert reply["type"] == "error" and reply["error"]["condition"] == "forbidden"
    reply = await admin.client.iq(COMPONENT_JID, "<query xmlns='http://jabber.org/protocol/"
                                  "disco#info' node='nosuch'/>")
    assert reply["error"]["condition"] == "item-not-found"


async def test_role_matrix(desk):
    """Each command, run by each role: allowed ones answer, the others are forbidden."""
    admin, alice, boss, customer, stranger = await _roles(desk)
    allowed = {"admin": set(ADMIN_NODES), "alice": set(AGENT_NODES),
               "boss": set(ADMIN_NODES + AGENT_NODES), "customer": set(), "stranger": set()}
    for name, who in (("admin", admin), ("alice", alice), ("boss", boss),
                      ("customer", customer), ("stranger", stranger)):
        for node in ADMIN_NODES + AGENT_NODES:
            if node == "ready":
                continue          # changes nothing here, but keep pauses out of the matrix
            r = await who.execute(node)
            if node in allowed[name]:
                assert r.type == "result" and r.status in ("executing", "completed"), \
                    (name, node, r)
                assert r.node == node and r.sessionid
                if r.status == "executing":
                    assert (await who.cancel(r)).status == "canceled"
            else:
                assert (r.type, r.error, r.error_type) == ("error", "forbidden", "auth"), \
                    (name, node, r)
    assert desk.r.log_text().count("command ") >= 1


async def test_bad_requests(desk):
    admin, alice, boss, customer, stranger = await _roles(desk)
    r = await admin.execute("nosuch")
    assert (r.error, r.error_type) == ("item-not-found", "cancel")
    r = await admin.send("queues", action="dance")
    assert (r.error, r.specific) == ("bad-request", "malformed-action")
    r = await admin.send("queue-create", action="next")       # no session
    assert (r.error, r.specific) == ("bad-request", "bad-sessionid")
    r = await admin.send("queue-create", action="next", sessionid="nosuch")
    assert (r.error, r.specific) == ("bad-request", "bad-sessionid")
    r = await admin.execute("queue-create")
    wrong = await admin.send("queue-edit", action="complete", sessionid=r.sessionid)
    assert wrong.specific == "bad-sessionid"                   # another command's session
    early = await admin.send("queue-edit", action="complete",
                             sessionid=(await admin.execute("queue-edit")).sessionid)
    assert (early.error, early.specific) == ("bad-request", "bad-action")
    # a command is run on the component's address, not a queue's
    reply = await admin.client.iq(QUEUE, f"<command xmlns='{NS_COMMANDS}' node='queues' "
                                  "action='execute'/>", itype="set")
    assert error_of(reply) == "item-not-found"


def error_of(iq):
    from harness import error_condition
    return error_condition(iq)


async def test_session_belongs_to_its_full_jid(desk):
    """Another admin, another resource of the same admin, or a stranger cannot continue it."""
    await desk.start(agents=["alice"], extra={"admin": {"jids": "admin@localhost "
                                                        "admin2@localhost"}})
    admin = Commander(await desk.customer("admin"))
    admin2 = Commander(await desk.customer("admin2"))
    admin_phone = Commander(await desk._make_client("admin", register=False, resource="phone"))
    stranger = Commander(await desk.customer("mallory"))
    r = await admin.execute("queue-create")
    assert r.status == "executing" and r.execute == "complete" and r.actions == {"complete"}
    for other in (admin2, admin_phone):
        taken = await other.complete(r, name="stolen")
        assert (taken.error, taken.specific, taken.error_type) == \
            ("bad-request", "bad-sessionid", "modify")
        assert (await other.cancel(r)).specific == "bad-sessionid"
    taken = await stranger.complete(r, name="stolen")
    assert taken.error == "forbidden"
    done = await admin.complete(r, name="kept")                 # still the owner's
    assert done.status == "completed", done
    assert [q["name"] for q in desk.rows("SELECT name FROM desk_queues")] == ["kept"]


async def test_cancel_ends_the_session(desk):
    await desk.start(agents=["alice"])
    alice = Commander(desk.agent("alice"))
    r = await alice.execute("pause")
    assert r.status == "executing" and r.title == "Pause"
    assert r.fields["reason"].type == "text-single"
    c = await alice.cancel(r)
    assert (c.status, c.sessionid) == ("canceled", r.sessionid)
    again = await alice.complete(r, reason="lunch")
    assert again.specific == "bad-sessionid"
    assert desk.rows("SELECT * FROM agent_status") == []


async def test_idle_session_expires(desk):
    await desk.start(agents=["alice"], extra={"admin": {"command_timeout": 1}})
    alice = Commander(desk.agent("alice"))
    r = await alice.execute("pause")
    await asyncio.sleep(1.5)
    late = await alice.complete(r, reason="lunch")
    assert (late.error, late.specific) == ("bad-request", "bad-sessionid")


async def test_agent_pauses_and_readies_by_command(desk):
    await desk.start(agents=["alice"])
    alice = desk.agent("alice")
    cmd = Commander(alice)
    r = await cmd.run("pause", {"reason": "lunch"})
    assert r.status == "completed" and "You are paused" in r.note("info")
    assert desk.rows("SELECT paused, reason FROM agent_status") == [{"paused": 1,
                                                                    "reason": "lunch"}]
    bob = await desk.customer("bob")
    bob.send(QUEUE, "anyone there?")
    await bob.expect("You are number 1 in line", frm=QUEUE)
    r = await cmd.execute("ready")                              # no form: runs at once
    assert r.status == "completed" and r.form_type is None
    assert "You are ready" in r.note("info")
    await alice.expect("New chat #")
    await alice.expect("anyone there?")
    assert desk.rows("SELECT paused FROM agent_status") == [{"paused": 0}]


async def test_agent_lists_own_chats_and_sends_canned(desk):
    await desk.start(agents=["alice", "carol"], extra=ADMINS)
    alice, carol = desk.agent("alice"), desk.agent("carol")
    admin = Commander(await desk.customer("admin"))
    r = await admin.run("canned-add", {"queue": "", "name": "hours",
                                       "text": ["We are open", "Mon-Fri 9-17."]})
    assert r.status == "completed", r
    bob = await desk.customer("bob")
    conv = await desk.open_chat(bob, alice, "when are you open?")
    dave = await desk.customer("dave")
    await desk.open_chat(dave, carol, "hi")                     # carol's, not alice's

    cmd = Commander(alice)
    r = await cmd.execute("my-chats")
    assert r.status == "completed" and r.columns[:2] == ["chat", "address"]
    assert [row["address"] for row in r.rows] == [conv]
    assert r.rows[0]["customer"] == bob.jid and r.rows[0]["state"] == "active"

    r = await cmd.execute("canned-send")
    assert list(r.choices("chat")) == [conv.split("@")[0]]
    assert list(r.choices("name")) == ["hours"]
    r = await cmd.complete(r, chat=conv.split("@")[0], name="hours")
    assert r.status == "completed", r
    await bob.expect(exact("We are open\nMon-Fri 9-17."), frm=QUEUE)
    alice.send(conv, "/canned hours")
    await bob.expect(exact("We are open\nMon-Fri 9-17."), frm=QUEUE)
    alice.send(conv, "/canned nosuch")
    await alice.expect("There is no canned response nosuch", frm=conv)
    assert [m[2] for m in desk.transcript(conv) if m[0] == "out"] == \
        ["We are open\nMon-Fri 9-17."] * 2
    assert desk.conversation(conv)["first_response_at"] is not None


async def test_agent_lists_and_completes_own_tasks(desk):
    await desk.start(agents=["alice"])
    alice = desk.agent("alice")
    bob = await desk.customer("bob")
    conv = await desk.open_chat(bob, alice, "call me")
    alice.send(conv, "/task +1h call bob back")
    await alice.expect("added for you", frm=conv)
    alice.send(conv, "/task 2020-01-01 10:00 long overdue")
    await alice.expect("added for you", frm=conv)
    cmd = Commander(alice)
    r = await cmd.execute("my-tasks")
    assert "2 open tasks, 1 overdue." in r.fixed
    labels = r.choices("done")
    assert len(labels) == 2 and any("OVERDUE" in l and "long overdue" in l
                                    for l in labels.values())
    overdue = [v for v, l in labels.items() if "OVERDUE" in l][0]
    r = await cmd.complete(r, done=[overdue])
    assert r.status == "completed" and f"#{overdue}" in r.note()
    rows = desk.rows("SELECT id, status FROM tasks ORDER BY id")
    assert {str(t["id"]): t["status"] for t in rows}[overdue] == "done"
    assert (await cmd.execute("my-tasks")).fixed == ["1 open task, 0 overdue."]
