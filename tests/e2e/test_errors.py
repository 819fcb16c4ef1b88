"""What respa answers when something is wrong: message errors, and the iq it serves or
refuses."""

import subprocess

import pytest

from adhoc import Commander
from harness import COMPONENT_JID, error_condition
from desk import QUEUE, QUEUE_TITLE, exact

pytestmark = pytest.mark.ejabberd   # also run against ejabberd (tests/run)

ALICE = "alice@localhost"


async def test_stranger_writing_to_a_conversation_is_forbidden(desk):
    await desk.start(agents=["alice", "bob"], online=["alice"])
    alice = desk.agent("alice")
    carol = await desk.customer("carol")
    conv = await desk.open_chat(carol, alice, "hello")
    bob = await desk.login("bob")        # another agent of the desk, logged in afterwards
    mallory = await desk.customer("mallory")

    for intruder in (mallory, bob):      # a stranger, and an agent of the desk but not this chat
        intruder.send(conv, "let me in")
        err = await intruder.expect_error("forbidden", frm=conv)
        assert err["error"]["type"] == "auth"
        assert "Only the agent assigned" in err["error"]["text"]
    carol.send(conv, "me neither?")      # the customer has the queue address, not this one
    await carol.expect_error("forbidden", frm=conv)
    await alice.no_message(0.3)
    await carol.no_message(0)
    assert [m[2] for m in desk.transcript(conv)] == ["hello"]
    assert desk.conversation(conv)["first_response_at"] is None


async def test_unknown_addresses_are_item_not_found(desk):
    await desk.start(agents=["alice"])
    alice = desk.agent("alice")
    carol = await desk.customer("carol")
    for to in (f"nosuch@{COMPONENT_JID}", f"c-999@{COMPONENT_JID}"):
        carol.send(to, "hello?")
        err = await carol.expect_error("item-not-found", frm=to)
        assert err["error"]["type"] == "cancel"
        alice.send(to, "/close")
        await alice.expect_error("item-not-found", frm=to)
    await alice.no_message(0.2)
    assert desk.rows("SELECT * FROM conversations") == []
    assert desk.rows("SELECT * FROM messages") == []


async def test_agent_writing_to_a_queue_is_not_acceptable(desk):
    await desk.start(agents=["alice", "bob"], online=["alice"])
    alice = desk.agent("alice")
    alice.send(QUEUE, "testing the queue")
    err = await alice.expect_error("not-acceptable", frm=QUEUE)
    assert "queues are for customers" in err["error"]["text"]
    # an agent who is offline in respa's eyes is still an agent, not a customer
    bob = await desk.login("bob", show="dnd")
    bob.send(QUEUE, "me too")
    await bob.expect_error("not-acceptable", frm=QUEUE)
    await alice.no_message(0.3)
    assert desk.rows("SELECT * FROM conversations") == []
    assert desk.rows("SELECT * FROM contacts") == []


async def test_body_over_max_body_is_a_policy_violation(desk):
    await desk.start(agents=["alice"], extra={"component": {"max_body": 100}})
    alice = desk.agent("alice")
    carol = await desk.customer("carol")

    carol.send(QUEUE, "x" * 101)                  # a first message: opens nothing
    err = await carol.expect_error("policy-violation", frm=QUEUE)
    assert err["error"]["type"] == "modify" and "100 bytes" in err["error"]["text"]
    await alice.no_message(0.3)
    assert desk.rows("SELECT * FROM conversations") == []

    exactly = "y" * 100                           # the limit itself is accepted
    conv = await desk.open_chat(carol, alice, exactly)
    carol.send(QUEUE, "é" * 51)                   # 102 bytes in 51 characters
    await carol.expect_error("policy-violation", frm=QUEUE)
    alice.send(conv, "z" * 101)
    await alice.expect_error("policy-violation", frm=conv)
    alice.send(conv, "/note " + "n" * 95)         # commands too
    await alice.expect_error("policy-violation", frm=conv)
    await carol.no_message(0.3)
    await alice.no_message(0)
    assert desk.transcript(conv) == [("in", carol.full_jid, exactly)]


async def test_errors_and_groupchat_messages_are_never_answered(desk):
    """Answering an error (or a room's message) could loop: respa stays silent."""
    await desk.start(agents=["alice"])
    alice = desk.agent("alice")
    carol = await desk.customer("carol")
    conv = await desk.open_chat(carol, alice, "hello")
    for to in (QUEUE, conv, f"nosuch@{COMPONENT_JID}"):
        for mtype in ("error", "groupchat", "headline"):
            carol.send(to, f"a {mtype} message", mtype=mtype)
    await carol.no_message(0.5)
    await alice.no_message(0)
    assert [m[2] for m in desk.transcript(conv)] == ["hello"]


async def test_message_to_the_domain_points_to_the_queue(desk):
    await desk.start(agents=["alice"])
    carol = await desk.customer("carol")
    carol.send(COMPONENT_JID, "hello?")
    reply = await carol.expect("customer service desk", frm=COMPONENT_JID)
    assert QUEUE in reply["body"] and QUEUE_TITLE in reply["body"]
    alice = desk.agent("alice")
    alice.send(COMPONENT_JID, "hello?")
    await alice.expect("write !help there", frm=COMPONENT_JID)
    assert desk.rows("SELECT * FROM conversations") == []


async def test_disco_ping_and_version(desk):
    await desk.start(agents=["alice"],
                     extra={"queue sales": {"name": "Sales team", "agents": ALICE}})
    carol = await desk.customer("carol")

    info = await carol.disco_info(COMPONENT_JID)
    features = set(info["disco_info"]["features"])
    assert {"http://jabber.org/protocol/disco#info", "http://jabber.org/protocol/disco#items",
            "urn:xmpp:ping", "jabber:iq:version"} <= features
    identities = info["disco_info"]["identities"]
    assert ("component", "generic") in {(i[0], i[1]) for i in identities}

    items = await carol.disco_items(COMPONENT_JID)
    assert sorted((i[0], i[2]) for i in items["disco_items"]["items"]) == [
        (f"sales@{COMPONENT_JID}", "Sales team"), (QUEUE, QUEUE_TITLE)]

    queue_info = await carol.disco_info(QUEUE)
    assert [i[3] for i in queue_info["disco_info"]["identities"]] == [QUEUE_TITLE]

    assert await carol.ping(COMPONENT_JID) >= 0
    assert await carol.ping(QUEUE) >= 0
    version = await carol.version(COMPONENT_JID)
    assert version["name"] == "respa" and version["version"]


async def test_unserved_iq_is_service_unavailable(desk):
    await desk.start(agents=["alice"])
    carol = await desk.customer("carol")
    for to, itype, payload in [
        (COMPONENT_JID, "get", "<query xmlns='jabber:iq:last'/>"),
        (COMPONENT_JID, "get", "<frob xmlns='urn:example:nothing'/>"),
        (QUEUE, "get", "<vCard xmlns='vcard-temp'/>"),
        (COMPONENT_JID, "set", "<query xmlns='jabber:iq:version'/>"),
        (COMPONENT_JID, "set", "<query xmlns='jabber:iq:register'><username>x</username></query>"),
    ]:
        reply = await carol.iq(to, payload, itype=itype)
        assert reply["type"] == "error", (to, payload)
        assert error_condition(reply) == "service-unavailable", (to, payload)
        assert reply["from"] == to
    # and respa is still fine
    assert await carol.ping(COMPONENT_JID) >= 0


DISCO_INFO = "<query xmlns='http://jabber.org/protocol/disco#info'/>"


async def test_disco_of_unknown_address_or_node_is_item_not_found(desk):
    await desk.start(agents=["alice"])
    alice = desk.agent("alice")
    carol = await desk.customer("carol")
    for to in (f"nosuch@{COMPONENT_JID}", f"c-999@{COMPONENT_JID}", f"c-x@{COMPONENT_JID}"):
        reply = await carol.iq(to, DISCO_INFO)
        assert error_condition(reply) == "item-not-found", to
    reply = await carol.iq(COMPONENT_JID,
                           "<query xmlns='http://jabber.org/protocol/disco#info' node='x'/>")
    assert error_condition(reply) == "item-not-found"

    conv = await desk.open_chat(carol, alice, "hello")     # an open conversation answers
    info = await alice.disco_info(conv)
    assert [i[3] for i in info["disco_info"]["identities"]] == ["conversation"]
    assert await alice.ping(conv) >= 0
    alice.send(conv, "/close")
    await alice.expect("closed. Summary:", frm=conv)
    reply = await alice.iq(conv, DISCO_INFO)                 # and is gone once closed
    assert error_condition(reply) == "item-not-found"


# --- a database that cannot take the write (a full disk, simulated with RLIMIT_FSIZE) -----
async def test_message_that_cannot_be_stored_is_refused_and_not_relayed(desk):
    r = await desk.start(agents=["alice"], allow_disk_full=True)
    alice = desk.agent("alice")
    bob = await desk.customer("bob")
    conv = await desk.open_chat(bob, alice, "hello")

    r.disk_full()
    bob.send(QUEUE, "written to a full disk")
    await alice.no_message(0.5)          # not relayed: the commit failed
    err = await bob.expect_error("internal-server-error", frm=QUEUE, timeout=2)
    assert err["error"]["type"] == "wait"
    alice.send(conv, "answered on a full disk")
    err = await alice.expect_error("internal-server-error", frm=conv, timeout=2)
    assert err["error"]["type"] == "wait"
    await bob.no_message(0.3)

    r.disk_full(False)                   # the disk has room again: the chat goes on
    bob.send(QUEUE, "sent again")
    await alice.expect(exact("sent again"), frm=conv)
    alice.send(conv, "answered again")
    await bob.expect(exact("answered again"), frm=QUEUE)
    assert [m[2] for m in desk.transcript(conv)] == ["hello", "sent again", "answered again"]


async def test_conversation_that_cannot_be_stored_is_not_opened(desk):
    r = await desk.start(agents=["alice"], allow_disk_full=True)
    alice = desk.agent("alice")
    bob, carol, dave = [await desk.customer(n) for n in ("bob", "carol", "dave")]
    await desk.open_chat(bob, alice, "hello")

    r.disk_full()
    carol.send(QUEUE, "carol on a full disk")
    await alice.no_message(0.5)          # no "New chat", nothing relayed
    err = await carol.expect_error("internal-server-error", frm=QUEUE, timeout=2)
    assert err["error"]["type"] == "wait"
    await carol.no_message(0)            # no greeting either

    r.disk_full(False)
    # Today the rolled-back conversation 2 stays in memory while SQLite hands id 2 to the
    # next customer: carol's and dave's chats end up sharing c-2.
    c_dave = await desk.open_chat(dave, alice, "dave here")
    c_carol = await desk.open_chat(carol, alice, "carol again")
    assert c_dave != c_carol
    alice.send(c_dave, "for dave only")
    await dave.expect(exact("for dave only"), frm=QUEUE)
    carol.send(QUEUE, "more from carol")
    await alice.expect(exact("more from carol"), frm=c_carol)
    await carol.no_message(0.3)
    await dave.no_message(0)
    assert desk.transcript(c_dave) == [("in", dave.full_jid, "dave here"),
                                       ("out", ALICE, "for dave only")]
    assert desk.transcript(c_carol) == [("in", carol.full_jid, "carol again"),
                                        ("in", carol.full_jid, "more from carol")]


def sqlite_cli(r, sql: str) -> None:
    """SQL run on respa's live database by the sqlite3 CLI, as an administrator would."""
    subprocess.run(["sqlite3", "-cmd", ".timeout 5000", str(r.db_path), sql], check=True,
                   capture_output=True, text=True, timeout=10)


async def test_pass_with_one_failed_write_sends_nothing(desk):
    """One statement that fails fails its whole pass, also a write nobody checks (when the
    chat was first answered): the answer is not relayed nor kept, its sender gets the error."""
    r = await desk.start(agents=["alice"])
    alice = desk.agent("alice")
    bob = await desk.customer("bob")
    conv = await desk.open_chat(bob, alice, "hello")

    sqlite_cli(r, "CREATE TRIGGER no_answer BEFORE UPDATE OF first_response_at ON "
                  "conversations BEGIN SELECT RAISE(ABORT, 'refused by a test'); END")
    alice.send(conv, "first answer")
    err = await alice.expect_error("internal-server-error", frm=conv, timeout=3)
    assert err["error"]["type"] == "wait"
    await bob.no_message(0.5)
    assert desk.transcript(conv) == [("in", bob.full_jid, "hello")]
    assert desk.conversation(conv)["first_response_at"] is None

    sqlite_cli(r, "DROP TRIGGER no_answer")
    alice.send(conv, "answered again")
    await bob.expect(exact("answered again"), frm=QUEUE)
    bob.send(QUEUE, "thanks")
    await alice.expect(exact("thanks"), frm=conv)
    assert [m[2] for m in desk.transcript(conv)] == ["hello", "answered again", "thanks"]
    assert desk.conversation(conv)["first_response_at"] is not None


PING = "<ping xmlns='urn:xmpp:ping'/>"


async def test_iq_of_a_pass_that_cannot_be_stored_gets_an_error(desk):
    """Every iq get/set gets exactly one reply, also when its pass's commit fails: the
    replies of a failed pass were dropped with everything else the pass would have sent."""
    r = await desk.start(agents=["alice"], extra={"admin": {"jids": "admin@localhost"}},
                         allow_disk_full=True)
    alice = desk.agent("alice")
    admin = Commander(await desk.customer("admin"))
    bob = await desk.customer("bob")
    conv = await desk.open_chat(bob, alice, "hello")
    form = await admin.execute("canned-add")          # showing a form writes nothing

    r.disk_full()
    # an ad-hoc command whose change cannot be stored: its "completed" went nowhere
    done = await admin.complete(form, queue="", name="hi", text="Hello there!")
    assert (done.type, done.error, done.error_type) == ("error", "internal-server-error",
                                                        "wait"), done
    # iqs that write nothing, read in the same pass as a message that cannot be stored
    for payload in (PING, "<query xmlns='http://jabber.org/protocol/disco#info'/>",
                    "<query xmlns='jabber:iq:version'/>"):
        bob.send(QUEUE, "written to a full disk")
        reply = await bob.iq(COMPONENT_JID, payload, timeout=3)
        assert reply["type"] in ("result", "error"), reply
        if reply["type"] == "error":
            assert error_condition(reply) == "internal-server-error", reply
            assert reply["error"]["type"] == "wait" and "try again" in reply["error"]["text"]
        await bob.expect_error("internal-server-error", frm=QUEUE, timeout=2)
    await alice.no_message(0.3, frm=conv)

    r.disk_full(False)                   # room again: the same requests go through
    assert await bob.ping(COMPONENT_JID) >= 0
    done = await admin.run("canned-add", {"queue": "", "name": "hi", "text": "Hello there!"})
    assert done.status == "completed", done
    assert [row["name"] for row in desk.rows("SELECT * FROM canned")] == ["hi"]
