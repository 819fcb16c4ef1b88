"""A chat from the customer's first message to /close: relay both ways, agents' commands,
the CRM record in the database."""
import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from slixmpp.xmlstream import ET

from desk import ASSIGNED, CLOSED, GREETING, QUEUE, QUEUE_TITLE, conv_id, exact, parse_time

pytestmark = pytest.mark.ejabberd   # also run against ejabberd (tests/run)

ALICE = "alice@localhost"


async def test_registered_customer_chats_with_agent(desk):
    await desk.start(agents=["alice"])
    alice = desk.agent("alice")
    bob = await desk.customer("bob")

    bob.send(QUEUE, "Hi, my invoice is wrong")
    greeting = await bob.expect(GREETING, frm=QUEUE)
    assert greeting["type"] == "chat"
    header = await alice.expect("New chat #")
    conv = header["from"].bare
    n = conv_id(conv)
    assert header["body"].startswith(
        f"New chat #{n} from bob@localhost in {QUEUE_TITLE} (xmpp).")
    first = await alice.expect(exact("Hi, my invoice is wrong"), frm=conv)
    await bob.expect(ASSIGNED, frm=QUEUE)

    alice.send(conv, "Hello Bob, let me look")
    reply = await bob.expect(exact("Hello Bob, let me look"), frm=QUEUE)
    assert reply["type"] == "chat"
    bob.send(QUEUE, "It says 200 EUR")
    later = await alice.expect(exact("It says 200 EUR"), frm=conv)
    bob.send(QUEUE, "and it should be 100")
    await alice.expect(exact("and it should be 100"), frm=conv)
    alice.send(conv, "Fixed")
    await bob.expect(exact("Fixed"), frm=QUEUE)
    await alice.no_message(0.3)     # e.g. no second "New chat" for the same customer
    await bob.no_message(0)

    row = desk.conversation(conv)
    assert row["state"] == "active" and row["queue"] == "support"
    assert row["agent_jid"] == ALICE and row["channel"] == "xmpp"
    assert row["customer_jid"] == bob.full_jid
    created, assigned = parse_time(row["created_at"]), parse_time(row["assigned_at"])
    assert created <= assigned <= parse_time(row["first_response_at"])
    assert row["closed_at"] is None and row["close_reason"] is None
    assert desk.transcript(conv) == [
        ("in", bob.full_jid, "Hi, my invoice is wrong"),
        ("out", ALICE, "Hello Bob, let me look"),
        ("in", bob.full_jid, "It says 200 EUR"),
        ("in", bob.full_jid, "and it should be 100"),
        ("out", ALICE, "Fixed"),
    ]
    # the first message was replayed with its stored time (XEP-0203); live ones carry none
    stored = desk.rows("SELECT created_at FROM messages WHERE conversation_id = ? "
                       "ORDER BY id LIMIT 1", n)[0]["created_at"]
    assert first["delay"]["stamp"] == parse_time(stored)
    assert later.xml.find("{urn:xmpp:delay}delay") is None
    contact = desk.rows("SELECT contact_id FROM identities WHERE kind = 'jid' AND value = ?",
                        "bob@localhost")
    assert [c["contact_id"] for c in contact] == [row["contact_id"]]


async def test_anonymous_guest_chats_with_agent(desk):
    await desk.start(agents=["alice"])
    alice = desk.agent("alice")
    guest = await desk.customer(anonymous=True)
    assert guest.jid.endswith("@guest.localhost")

    conv = await desk.open_chat(guest, alice, "Do you ship to Finland?")
    alice.send(conv, "Yes, we do")
    await guest.expect(exact("Yes, we do"), frm=QUEUE)
    guest.send(QUEUE, "Great, thanks")
    await alice.expect(exact("Great, thanks"), frm=conv)

    row = desk.conversation(conv)
    assert row["customer_jid"] == guest.full_jid and row["agent_jid"] == ALICE
    assert row["state"] == "active"
    assert [m[2] for m in desk.transcript(conv)] == [
        "Do you ship to Finland?", "Yes, we do", "Great, thanks"]
    known_as = desk.rows("SELECT value FROM identities WHERE contact_id = ?", row["contact_id"])
    assert [k["value"] for k in known_as] == [guest.jid]       # the bare JID


async def test_agent_commands_reach_only_the_agent(desk):
    await desk.start(agents=["alice"])
    alice = desk.agent("alice")
    bob = await desk.customer("bob")
    conv = await desk.open_chat(bob, alice, "I was charged twice")
    n = conv_id(conv)

    alice.send(conv, "/tag billing, refund")
    assert (await alice.expect("Tagged:", frm=conv))["body"] == "Tagged: billing, refund"

    alice.send(conv, "/task +2h Check the refund went through")
    done = await alice.expect("added for you", frm=conv)
    assert re.fullmatch(r"Task \d+ added for you, due \w{3} \d{4}-\d\d-\d\d \d\d:\d\d \(UTC\): "
                        r"Check the refund went through", done["body"]), done["body"]

    alice.send(conv, "/task tomorrow 10:00 Call Bob back")
    done = await alice.expect("Call Bob back", frm=conv)
    assert re.match(r"Task \d+ added for you, due \w{3} \d{4}-\d\d-\d\d 10:00 \(UTC\)",
                    done["body"]), done["body"]

    alice.send(conv, "/note customer sounds annoyed")
    assert (await alice.expect("Note saved", frm=conv))["body"].startswith("Note saved")

    alice.send(conv, "/help")
    help_text = (await alice.expect("Commands in this chat", frm=conv))["body"]
    for usage in ("!close [resolved|unresolved] [#tag...] [summary]", "!task [due] text",
                  "!tag reason", "!note text", "!merge N", "!help"):
        assert usage in help_text

    alice.send(conv, "/frobnicate now")
    await alice.expect("Unknown command /frobnicate", frm=conv)
    assert (await alice.expect("Commands in this chat", frm=conv))["body"] == help_text

    alice.send(conv, "//shrug")                 # a literal slash for the customer
    await bob.expect(exact("/shrug"), frm=QUEUE)
    await bob.no_message(0.5)                   # none of the commands reached the customer
    await alice.no_message(0)

    assert desk.transcript(conv) == [
        ("in", bob.full_jid, "I was charged twice"),
        ("note", ALICE, "customer sounds annoyed"),
        ("out", ALICE, "/shrug"),
    ]
    tags = desk.rows("SELECT tag FROM conversation_tags WHERE conversation_id = ? ORDER BY tag", n)
    assert [t["tag"] for t in tags] == ["billing", "refund"]

    contact = desk.conversation(conv)["contact_id"]
    tasks = desk.rows("SELECT * FROM tasks ORDER BY id")
    assert [(t["conversation_id"], t["contact_id"], t["assignee_jid"], t["kind"], t["status"])
            for t in tasks] == [(n, contact, ALICE, "follow-up", "open")] * 2
    assert [t["title"] for t in tasks] == ["Check the refund went through", "Call Bob back"]
    soon, tomorrow = tasks
    assert parse_time(soon["due_at"]) - parse_time(soon["created_at"]) == timedelta(hours=2)
    made = parse_time(tomorrow["created_at"])
    assert parse_time(tomorrow["due_at"]) == (made + timedelta(days=1)).replace(
        hour=10, minute=0, second=0)
    assert desk.conversation(conv)["state"] == "active"
    assert desk.rows("SELECT * FROM summaries") == []


async def test_command_mistakes_get_usage_and_store_nothing(desk):
    await desk.start(agents=["alice"])
    alice = desk.agent("alice")
    bob = await desk.customer("bob")
    conv = await desk.open_chat(bob, alice, "hello")

    alice.send(conv, "/task +5x do something")
    await alice.expect("a relative due time looks like +30m", frm=conv)
    alice.send(conv, "/task +1d")
    await alice.expect("Usage: !task", frm=conv)
    alice.send(conv, "/note")
    await alice.expect("Usage: !note text", frm=conv)
    alice.send(conv, "/tag  ,")
    await alice.expect("Usage: !tag", frm=conv)
    await bob.no_message(0.3)
    assert desk.rows("SELECT * FROM tasks") == []
    assert desk.rows("SELECT * FROM conversation_tags") == []
    assert [m[0] for m in desk.transcript(conv)] == ["in"]


async def test_task_due_times_use_the_queue_time_zone(desk):
    zone = "Europe/Helsinki"
    await desk.start(agents=["alice"], queue={"timezone": zone})
    alice = desk.agent("alice")
    bob = await desk.customer("bob")
    conv = await desk.open_chat(bob, alice, "call me tomorrow")

    alice.send(conv, "/task tomorrow 10:00 Call at ten")
    reply = (await alice.expect("Call at ten", frm=conv))["body"]
    assert f"10:00 ({zone})" in reply
    alice.send(conv, "/task tomorrow 9:30 Call at half past nine")
    reply = (await alice.expect("half past nine", frm=conv))["body"]
    assert f"09:30 ({zone})" in reply
    alice.send(conv, "/task 2030-06-01 14:30 Summer call")
    reply = (await alice.expect("Summer call", frm=conv))["body"]
    assert f"2030-06-01 14:30 ({zone})" in reply

    tz = ZoneInfo(zone)
    tomorrow_10, tomorrow_930, summer = desk.rows("SELECT * FROM tasks ORDER BY id")
    for task, (hour, minute) in ((tomorrow_10, (10, 0)), (tomorrow_930, (9, 30))):
        made = parse_time(task["created_at"]).astimezone(tz)
        want = (made + timedelta(days=1)).replace(hour=hour, minute=minute, second=0)
        assert parse_time(task["due_at"]) == want, task
    assert summer["due_at"] == "2030-06-01T11:30:00Z"        # EEST is UTC+3


async def test_task_without_due_time_is_due_tomorrow_morning(desk):
    """Also the due word as the very last thing in the message, where a parser reading a
    byte ahead reads past the end of the text (the ASan build checks that)."""
    await desk.start(agents=["alice"])
    alice = desk.agent("alice")
    bob = await desk.customer("bob")
    conv = await desk.open_chat(bob, alice, "call me some time")

    alice.send(conv, "/task Call whenever")      # no due time: tomorrow 09:00
    reply = (await alice.expect("Call whenever", frm=conv, timeout=3))["body"]
    assert "09:00 (UTC)" in reply
    task, = desk.rows("SELECT * FROM tasks")
    made = parse_time(task["created_at"])
    assert parse_time(task["due_at"]) == (made + timedelta(days=1)).replace(
        hour=9, minute=0, second=0)
    alice.send(conv, "/task tomorrow")
    await alice.expect("Usage: !task", frm=conv)
    alice.send(conv, "/task today")
    await alice.expect('"today" needs a time', frm=conv)
    assert len(desk.rows("SELECT * FROM tasks")) == 1
    assert desk.r.sanitizer_reports() == []


async def test_task_with_a_year_out_of_range_is_refused(desk):
    """Year 0 was stored as "0-01-01T09:00:00Z"; 1970-01-01 00:00 is the instant 0, which read
    as "no due time" and became tomorrow 09:00 with the date in the title."""
    await desk.start(agents=["alice"])
    alice = desk.agent("alice")
    bob = await desk.customer("bob")
    conv = await desk.open_chat(bob, alice, "call me some time")

    for due in ("0000-01-01", "1970-01-01 00:00", "1969-07-20 20:17", "10000-01-01"):
        alice.send(conv, f"/task {due} Call Bob")
        reply = (await alice.expect("Usage: !task", frm=conv, timeout=3))["body"]
        assert "the year must be between 1971 and 9999" in reply, reply
    alice.send(conv, "/callback +358401234567 1970-01-01 00:00")
    await alice.expect("the year must be between 1971 and 9999", frm=conv)
    alice.send(conv, "/remind 1970-01-01 00:00 hello")
    await alice.expect("the year must be between 1971 and 9999", frm=conv)
    assert desk.rows("SELECT * FROM tasks") == []
    alice.send(conv, "/task 1971-01-01 00:00 Long overdue")
    await alice.expect("1971-01-01 00:00 (UTC): Long overdue", frm=conv)
    task, = desk.rows("SELECT * FROM tasks")
    assert (task["due_at"], task["title"]) == ("1971-01-01T00:00:00Z", "Long overdue")


async def test_close_with_summary_writes_the_crm_record(desk):
    await desk.start(agents=["alice"])
    alice = desk.agent("alice")
    bob = await desk.customer("bob")
    conv = await desk.open_chat(bob, alice, "I was charged twice")
    n = conv_id(conv)
    alice.send(conv, "Refund is on its way")
    await bob.expect("Refund is on its way", frm=QUEUE)
    alice.send(conv, "/tag billing, refund")
    await alice.expect("Tagged:", frm=conv)

    alice.send(conv, "/close Refunded the double charge")
    await bob.expect(CLOSED, frm=QUEUE)
    closed = await alice.expect("closed. Summary:", frm=conv)
    assert closed["body"] == f"Chat #{n} closed. Summary: Refunded the double charge"
    await bob.no_message(0.3)

    row = desk.conversation(conv)
    assert row["state"] == "closed" and row["close_reason"] == "agent"
    assert row["agent_jid"] == ALICE
    times = [parse_time(row[k]) for k in
             ("created_at", "assigned_at", "first_response_at", "closed_at")]
    assert times == sorted(times)
    summary, = desk.rows("SELECT * FROM summaries WHERE conversation_id = ?", n)
    assert summary["summary"] == "Refunded the double charge"
    assert summary["tags"] == "billing, refund"
    assert summary["resolved"] == 1 and summary["agent_jid"] == ALICE
    assert summary["created_at"] == row["closed_at"]
    assert [m[0] for m in desk.transcript(conv)] == ["in", "out"]

    # the address is gone with the chat
    alice.send(conv, "one more thing")
    await alice.expect_error("item-not-found", frm=conv)


async def test_close_without_summary_generates_one(desk):
    await desk.start(agents=["alice"])
    alice = desk.agent("alice")
    bob = await desk.customer("bob")
    conv = await desk.open_chat(bob, alice, "How do I reset my password?")
    bob.send(QUEUE, "I tried everything")
    await alice.expect("I tried everything", frm=conv)
    alice.send(conv, "/tag account")
    await alice.expect("Tagged:", frm=conv)

    alice.send(conv, "/close")
    await bob.expect(CLOSED, frm=QUEUE)
    closed = (await alice.expect("closed. Summary:", frm=conv))["body"]
    summary, = desk.rows("SELECT * FROM summaries")
    text = summary["summary"]
    assert closed.endswith(text)
    assert "bob@localhost" in text and QUEUE_TITLE in text
    assert '"How do I reset my password?"' in text
    assert ALICE in text and "tags: account" in text
    assert summary["tags"] == "account" and summary["resolved"] == 1
    row = desk.conversation(conv)
    assert row["state"] == "closed" and row["close_reason"] == "agent"
    assert row["first_response_at"] is None     # the agent never wrote to the customer


async def test_message_after_close_opens_a_new_conversation(desk):
    await desk.start(agents=["alice"])
    alice = desk.agent("alice")
    bob = await desk.customer("bob")
    first = await desk.open_chat(bob, alice, "first question")
    alice.send(first, "/close answered")
    await bob.expect(CLOSED, frm=QUEUE)
    await alice.expect("closed. Summary:", frm=first)

    second = await desk.open_chat(bob, alice, "second question")
    assert conv_id(second) > conv_id(first)
    alice.send(second, "hello again")
    await bob.expect(exact("hello again"), frm=QUEUE)
    old, new = desk.conversation(first), desk.conversation(second)
    assert old["state"] == "closed" and new["state"] == "active"
    assert old["contact_id"] == new["contact_id"]        # the same customer in the CRM
    assert [m[2] for m in desk.transcript(second)] == ["second question", "hello again"]
    assert [m[2] for m in desk.transcript(first)] == ["first question"]


async def test_customer_messages_are_never_commands(desk):
    await desk.start(agents=["alice"])
    alice = desk.agent("alice")
    bob = await desk.customer("bob")
    conv = await desk.open_chat(bob, alice, "/help")      # even the first one

    texts = ("/close", "/tag vip", "//x", "!close", "!tag vip", "!!x", "/me waves")
    for text in texts:
        bob.send(QUEUE, text)
        await alice.expect(exact(text), frm=conv)
    await bob.no_message(0.3)
    row = desk.conversation(conv)
    assert row["state"] == "active"
    assert desk.rows("SELECT * FROM conversation_tags") == []
    assert [m for m in desk.transcript(conv)] == [
        ("in", bob.full_jid, t) for t in ("/help",) + texts]


async def test_replies_follow_the_customer_to_their_latest_resource(desk, make_client):
    await desk.start(agents=["alice"])
    alice = desk.agent("alice")
    laptop = await desk.customer("bob")
    conv = await desk.open_chat(laptop, alice, "from the laptop")
    phone = await make_client("bob", register=False, resource="phone")
    phone.send(QUEUE, "now on my phone")
    await alice.expect(exact("now on my phone"), frm=conv)     # the same conversation
    alice.send(conv, "got it")
    await phone.expect(exact("got it"), frm=QUEUE)
    assert desk.conversation(conv)["customer_jid"] == "bob@localhost/phone"
    assert [m[1] for m in desk.transcript(conv)] == [laptop.full_jid, phone.full_jid, ALICE]
    await alice.no_message(0.2)                                 # no second "New chat"


async def test_queue_texts_come_from_the_configuration(desk):
    texts = {"greeting": "Moi! Tervetuloa.", "assigned_text": "Asiakaspalvelija liittyi.",
             "closed_text": "Keskustelu päättyi; kiitos!"}
    await desk.start(agents=["alice"], queue={"name": "Asiakaspalvelu",
                                              **{k: f'"{v}"' for k, v in texts.items()}})
    alice = desk.agent("alice")
    bob = await desk.customer("bob")
    bob.send(QUEUE, "hei")
    assert (await bob.expect("Moi", frm=QUEUE))["body"] == texts["greeting"]
    header = await alice.expect("New chat #")
    assert " in Asiakaspalvelu (xmpp)." in header["body"]
    assert (await bob.expect("liittyi", frm=QUEUE))["body"] == texts["assigned_text"]
    alice.send(header["from"].bare, "/close")
    assert (await bob.expect("päättyi", frm=QUEUE))["body"] == texts["closed_text"]


async def test_customer_may_subscribe_to_the_queue(desk):
    await desk.start(agents=["alice"])
    bob = await desk.customer("bob")
    bob.set_presence(ptype="subscribe", to=QUEUE)
    await bob.expect_presence("available", frm=QUEUE)       # the queue shows as online
    assert desk.rows("SELECT * FROM conversations") == []


async def test_chat_states_and_empty_bodies_open_nothing(desk):
    await desk.start(agents=["alice"])
    alice = desk.agent("alice")
    bob = await desk.customer("bob")
    typing = bob.xmpp.make_message(mto=QUEUE, mtype="chat")
    typing.append(ET.fromstring("<composing xmlns='http://jabber.org/protocol/chatstates'/>"))
    typing.send()
    bob.send(QUEUE, "")
    await bob.no_message(0.4)
    await alice.no_message(0)
    assert desk.rows("SELECT * FROM conversations") == []
    await desk.open_chat(bob, alice, "now a real question")
