"""The CRM side: contacts found by what customers write, merged across channels, the card an
agent sees, returning customers, closing well, tasks of every kind, reminders on time."""
import asyncio
import re
import secrets

from adhoc import Commander
from desk import ASSIGNED, CLOSED, QUEUE, conv_id, exact, jid
from test_channels import GATEWAY, Gateway, widget_send

ALICE, CAROL = "alice@localhost", "carol@localhost"
SALES = "sales@support.localhost"


async def chat(desk, customer, agent, text):
    """A new chat from customer to agent: its c-N address."""
    customer.send(QUEUE, text)
    header = await agent.expect("New chat #")
    conv = header["from"].bare
    await agent.expect(exact(text), frm=conv)
    return conv


async def close(agent, conv, args=""):
    agent.send(conv, f"/close {args}".strip())
    return await agent.expect("closed. Summary:", frm=conv)


def contact_of(desk, conv):
    cid = desk.conversation(conv)["contact_id"]
    return desk.rows("SELECT * FROM contacts WHERE id = ?", cid)[0]


async def test_email_and_phone_written_in_the_chat_fill_the_contact(desk):
    await desk.start(extra={"crm": {"default_country": "358"}})
    alice = desk.agent("alice")
    bob = await desk.customer("bob")
    conv = await chat(desk, bob, alice, "Hi, order 12345678 from 2026-11-20 is late")
    bob.send(QUEUE, "Reach me at Bob.Smith@Example.COM or 040 123 4567.")
    await alice.expect("Reach me", frm=conv)
    contact = contact_of(desk, conv)
    assert contact["email"] == "bob.smith@example.com"
    assert contact["phone"] == "+358401234567"           # not the order number, not the date
    kinds = {(r["kind"], r["value"]) for r in desk.rows(
        "SELECT kind, value FROM identities WHERE contact_id = ?", contact["id"])}
    assert kinds == {("jid", "bob@localhost"), ("email", "bob.smith@example.com"),
                     ("phone", "+358401234567")}
    assert {r["kind"]: r["verified"] for r in desk.rows(
        "SELECT kind, verified FROM identities WHERE contact_id = ?", contact["id"])} == {
        "jid": 1, "email": 0, "phone": 0}                # written in the chat: unverified
    bob.send(QUEUE, "or work: bob@work.example.org")   # a second email: an identity, not a change
    await alice.expect("or work", frm=conv)
    assert contact_of(desk, conv)["email"] == "bob.smith@example.com"
    assert desk.rows("SELECT contact_id FROM identities WHERE value = 'bob@work.example.org'")


async def test_a_phone_written_in_the_chat_shows_a_possible_match_and_merge_links_it(desk):
    """A detail written in a chat merges nothing by itself: the agent is shown the match and
    links the contacts with /merge; an admin can undo that."""
    desk.prosody.add_component(GATEWAY, "gw-secret")
    desk.prosody.restart()
    await desk.start(extra={f"domain {GATEWAY}": {"channel": "whatsapp"},
                            "admin": {"jids": "admin@localhost"}})
    alice = desk.agent("alice")
    gw = Gateway(desk.prosody)
    await gw.start()
    try:
        gw.send("+15551234567", "Hello from WhatsApp")
        h1 = await alice.expect("New chat #")
        c1 = h1["from"].bare
        await close(alice, c1, "Asked about prices")
        wa = desk.conversation(c1)["contact_id"]

        visitor = await desk.customer(anonymous=True)
        session = secrets.token_urlsafe(16)
        widget_send(visitor, "Hi again, now on your web site", session)
        h2 = await alice.expect(lambda m: "New chat #" in m["body"] and m["from"].bare != c1)
        c2 = h2["from"].bare
        assert "\nContact: (no name);" in h2["body"]          # the card comes with the header
        assert "First contact." in h2["body"]                # not known yet
        await alice.expect(exact("Hi again, now on your web site"), frm=c2)
        widget_send(visitor, "It's me, +1 (555) 123-4567 on WhatsApp", session)
        await alice.expect("It's me", frm=c2)
        told = await alice.expect("Possible match", frm=c2)
        assert told["body"] == (f"Possible match: contact #{wa} (no name, 1 earlier chat) has "
                                f"this phone. !merge {wa} to link them.")
        web = desk.conversation(c2)["contact_id"]
        assert web != wa                                     # nothing merged by itself
        assert desk.rows("SELECT * FROM merges") == []
        assert desk.rows("SELECT contact_id, verified FROM identities WHERE kind = 'phone'") == [
            {"contact_id": wa, "verified": 1}]               # the gateway's, still
        widget_send(visitor, "+1 555 123 4567, as I said", session)   # told once per chat
        await alice.expect("as I said", frm=c2)
        await alice.no_message(0.5, frm=c2)

        alice.send(c2, "/merge 999")
        assert "There is no contact #999" in (await alice.expect("contact", frm=c2))["body"]
        alice.send(c2, f"/merge {web}")
        assert "this chat's contact already" in (await alice.expect("contact", frm=c2))["body"]
        alice.send(c2, f"/merge {wa}")
        told = await alice.expect("is merged into", frm=c2)
        rows = desk.rows("SELECT id, contact_id, channel FROM conversations ORDER BY id")
        assert [r["contact_id"] for r in rows] == [wa, wa]   # both conversations
        assert [r["channel"] for r in rows] == ["whatsapp", "web"]
        web_contact = desk.rows("SELECT contact_id FROM identities WHERE kind = 'jid' "
                                "AND value = ?", visitor.jid)[0]["contact_id"]
        assert web_contact == wa                             # identities moved
        merged = desk.rows("SELECT * FROM merges")
        assert len(merged) == 1 and (merged[0]["kept_id"], merged[0]["merged_id"]) == (wa, web)
        assert merged[0]["reason"] == f"linked by {ALICE} in chat #{conv_id(c2)}"
        assert told["body"].startswith(f"Contact #{web} is merged into #{wa} (merge "
                                       f"{merged[0]['id']}; an admin can undo it")
        assert "1 earlier conversation; last: Asked about prices" in told["body"]
        gone = desk.rows("SELECT merged_into FROM contacts WHERE id = ?", web)
        assert gone == [{"merged_into": wa}]                 # kept, so the merge can be undone
        alice.send(c2, "/history")
        hist = await alice.expect("Earlier conversations", frm=c2)
        assert f"#{conv_id(c1)} " in hist["body"] and "Asked about prices" in hist["body"]

        # a wrong merge: an admin undoes it, and each contact has its own again
        admin = Commander(await desk.customer("admin"))
        r = await admin.execute("merge-undo")
        assert list(r.choices("merge")) == [str(merged[0]["id"])]
        r = await admin.complete(r, merge=str(merged[0]["id"]))
        assert r.status == "completed", r
        assert "undone" in r.notes[0][1]
        rows = desk.rows("SELECT contact_id FROM conversations ORDER BY id")
        assert [r["contact_id"] for r in rows] == [wa, web]
        assert desk.rows("SELECT contact_id FROM identities WHERE kind = 'jid' AND value = ?",
                         visitor.jid)[0]["contact_id"] == web
        assert desk.rows("SELECT undone_at FROM merges")[0]["undone_at"] is not None
        r = await admin.execute("merge-undo")
        r = await admin.complete(r, merge=str(merged[0]["id"]))   # twice: refused, kept
        assert r.status != "completed" and "no merge" in " ".join(n for _, n in r.notes)
    finally:
        await gw.stop()


async def test_typing_another_customers_email_gets_neither_their_card_nor_their_agent(desk):
    """mallory writes bob's email: her chats stay hers (card, history, last summary, routing
    to bob's last agent); the agent sees a possible match naming only bob's contact."""
    await desk.start(agents=["alice", "carol"],
                     queue={"agents": "alice@localhost carol@localhost:2", "tier_wait": 600},
                     extra={"queue sales": {"name": "Sales", "agents": ALICE}})
    alice, carol = desk.agent("alice"), desk.agent("carol")
    bob = await desk.customer("bob")
    b = await chat(desk, bob, alice, "my order 42?")
    alice.send(b, "/contact name=Bob Smith email=bob@example.com")
    card = await alice.expect("Contact: Bob Smith", frm=b)
    assert "email bob@example.com (unverified);" in card["body"]   # written, not proven
    alice.send(b, f"/transfer {CAROL}")
    await carol.expect("Transferred chat #")
    await carol.expect(exact("my order 42?"), frm=b)           # the transcript so far
    await close(carol, b, "Bob's secret order 42 goes to Elm Street")   # his last agent: carol
    bobs = desk.conversation(b)["contact_id"]

    mallory = await desk.customer("mallory")
    mallory.send(SALES, "Hi, I am bob@example.com")
    header = await alice.expect("New chat #")
    m1 = header["from"].bare
    assert "Bob Smith" not in header["body"] and "secret" not in header["body"]
    assert header["body"].endswith("\nContact: (no name); email bob@example.com (unverified); "
                                   "phone unknown; channel xmpp. First contact.")
    await alice.expect(exact("Hi, I am bob@example.com"), frm=m1)
    told = await alice.expect("Possible match", frm=m1)
    assert told["body"] == (f"Possible match: contact #{bobs} (Bob Smith, 1 earlier chat) has "
                            f"this email. !merge {bobs} to link them.")
    assert "Elm" not in told["body"]
    await close(alice, m1)
    assert desk.conversation(m1)["contact_id"] != bobs
    assert desk.rows("SELECT * FROM merges") == []
    assert desk.rows("SELECT merged_into FROM contacts WHERE id = ?", bobs) == [
        {"merged_into": None}]

    # in bob's queue, mallory is not sent to bob's last agent, nor shown his history
    mallory.send(QUEUE, "About my order")
    header = await alice.expect("New chat #")
    assert "Bob Smith" not in header["body"] and "secret" not in header["body"]
    assert "1 earlier conversation; last: mallory@localhost wrote to Sales" in header["body"]
    await carol.no_message(0.5)


async def test_a_phone_written_in_a_chat_never_links_a_gateway_customer(desk):
    """Verified identities link at once (a gateway's phone from the JID); a number someone
    wrote in a chat does not make them that gateway customer."""
    desk.prosody.add_component(GATEWAY, "gw-secret")
    desk.prosody.restart()
    await desk.start(extra={f"domain {GATEWAY}": {"channel": "whatsapp"}})
    alice = desk.agent("alice")
    gw = Gateway(desk.prosody)
    await gw.start()
    try:
        bob = await desk.customer("bob")
        b = await chat(desk, bob, alice, "call me on +1 555 000 2222")
        await close(alice, b, "Bob wants a call")
        assert contact_of(desk, b)["phone"] == "+15550002222"

        gw.send("+15550002222", "hi from WhatsApp")
        h1 = await alice.expect(lambda m: "New chat #" in m["body"] and m["from"].bare != b)
        c1 = h1["from"].bare
        assert "First contact." in h1["body"] and "Bob wants a call" not in h1["body"]
        assert "phone +15550002222; channel whatsapp" in h1["body"]     # verified: no mark
        assert contact_of(desk, c1)["id"] != contact_of(desk, b)["id"]
        await close(alice, c1, "Asked about opening hours")

        gw.send(r"+1\20555\20000\202222", "again, written another way")   # the same phone
        h2 = await alice.expect(lambda m: "New chat #" in m["body"] and
                                m["from"].bare not in (b, c1))
        assert "1 earlier conversation; last: Asked about opening hours" in h2["body"]
        assert contact_of(desk, h2["from"].bare)["id"] == contact_of(desk, c1)["id"]
    finally:
        await gw.stop()


async def test_returning_customer_sees_the_card_and_goes_to_the_last_agent(desk):
    await desk.start(agents=["alice", "carol"])
    alice, carol = desk.agent("alice"), desk.agent("carol")
    bob = await desk.customer("bob")
    conv = await chat(desk, bob, alice, "first time")     # alice: first in config order
    alice.send(conv, "/contact name=Bob Smith company=Acme Oy email=bob@example.com")
    card = await alice.expect("Contact: Bob Smith", frm=conv)
    assert "(Acme Oy)" in card["body"] and "email bob@example.com" in card["body"]
    alice.send(conv, "/task +2d send the offer")
    await alice.expect("Task", frm=conv)
    await close(alice, conv, "unresolved #pricing Wants an offer")
    # carol is now longer idle than alice: a new customer would go to her...
    dave = await desk.customer("dave")
    d = await chat(desk, dave, carol, "someone else")
    await close(carol, d)
    # ...but bob returns to alice, whose card shows what happened before
    bob.send(QUEUE, "me again")
    header = await alice.expect("New chat #")
    card = header["body"].split("\n")[1]
    assert card.startswith("Contact: Bob Smith (Acme Oy); email bob@example.com")
    assert "1 earlier conversation; last: Wants an offer" in card
    assert "Open tasks: 1 (send the offer)" in card
    await carol.no_message(0.3)


async def test_returning_to_the_last_agent_can_be_turned_off(desk):
    await desk.start(agents=["alice", "carol"], queue={"return_to_last_agent": "no"})
    alice, carol = desk.agent("alice"), desk.agent("carol")
    bob = await desk.customer("bob")
    conv = await chat(desk, bob, alice, "first time")
    await close(alice, conv)
    bob.send(QUEUE, "me again")                        # carol is longest idle now
    await carol.expect("New chat #")


async def test_close_with_outcome_tags_and_summary(desk):
    await desk.start(queue={"reasons": "billing, shipping, returns"})
    alice = desk.agent("alice")
    bob = await desk.customer("bob")
    conv = await chat(desk, bob, alice, "my parcel is lost")
    alice.send(conv, "/help")
    assert "Contact reasons of Support: billing, shipping, returns" in (
        await alice.expect("Commands in this chat", frm=conv))["body"]
    closed = await close(alice, conv, "unresolved #shipping #lost-parcel Courier to call back")
    assert closed["body"].endswith("Summary: Courier to call back")
    await bob.expect(CLOSED, frm=QUEUE)
    s = desk.rows("SELECT * FROM summaries")[0]
    assert (s["summary"], s["resolved"], s["tags"]) == (
        "Courier to call back", 0, "shipping, lost-parcel")
    # unresolved and no task of the agent's: respa leaves them a follow-up
    tasks = desk.rows("SELECT * FROM tasks")
    assert [(t["assignee_jid"], t["kind"], t["status"]) for t in tasks] == [
        (ALICE, "follow-up", "open")]
    assert "Courier to call back" in tasks[0]["details"]


async def test_close_without_summary_writes_two_sentences_and_no_task_when_resolved(desk):
    await desk.start()
    alice = desk.agent("alice")
    bob = await desk.customer("bob")
    conv = await chat(desk, bob, alice, "How do I reset my password? I tried twice.")
    alice.send(conv, "/contact name=Bob Smith")
    await alice.expect("Contact: Bob Smith", frm=conv)
    closed = await close(alice, conv, "#account")
    summary = desk.rows("SELECT summary, resolved FROM summaries")[0]
    assert closed["body"].endswith(summary["summary"])
    assert summary["resolved"] == 1
    text = summary["summary"]
    assert text.startswith("Bob Smith (bob@localhost) wrote to Support by xmpp")
    assert "How do I reset my password?" in text and "resolved" in text and "account" in text
    assert len(re.findall(r"[.!?](\s|$)", text.replace("?", "."))) <= 3  # two sentences (+ the ask)
    assert desk.rows("SELECT * FROM tasks") == []


async def test_unresolved_close_after_a_task_makes_no_second_task(desk):
    await desk.start()
    alice = desk.agent("alice")
    bob = await desk.customer("bob")
    conv = await chat(desk, bob, alice, "complicated")
    alice.send(conv, "/callback +358 40 765 4321 +1d")
    done = await alice.expect("call back", frm=conv)
    assert "call back +358407654321, due" in done["body"]
    await close(alice, conv, "unresolved")
    tasks = desk.rows("SELECT kind, title, assignee_jid FROM tasks")
    assert tasks == [{"kind": "callback", "title": "Call back +358407654321",
                      "assignee_jid": ALICE}]


async def test_callback_uses_the_contacts_phone_and_says_when_none_is_known(desk):
    await desk.start(extra={"crm": {"default_country": "1"}})
    alice = desk.agent("alice")
    bob = await desk.customer("bob")
    conv = await chat(desk, bob, alice, "please call me")
    alice.send(conv, "/callback")
    assert "No phone number is known" in (await alice.expect("phone", frm=conv))["body"]
    bob.send(QUEUE, "my number: (555) 987-6543")     # no country code: the default one
    await alice.expect("my number", frm=conv)
    alice.send(conv, "/callback tomorrow 10:00")
    reply = await alice.expect("call back", frm=conv)
    assert "call back +15559876543, due" in reply["body"] and "10:00" in reply["body"]
    alice.send(conv, "/callback +12 tomorrow")
    assert "is not a phone number" in (await alice.expect("phone number", frm=conv))["body"]
    assert [t["kind"] for t in desk.rows("SELECT kind FROM tasks")] == ["callback"]


async def test_handoff_gives_a_colleague_a_task_with_the_summary(desk):
    await desk.start()
    sam = await desk.customer("sam")                   # a salesperson, not an agent
    alice = desk.agent("alice")
    bob = await desk.customer("bob")
    conv = await chat(desk, bob, alice, "I want 500 licences")
    alice.send(conv, "/handoff Sam@localhost +1d Quote for 500 licences")
    ok = await alice.expect("handed to sam@localhost", frm=conv)
    told = await sam.expect("hands a customer on to you")
    assert "Quote for 500 licences" in told["body"]
    assert "Summary so far: bob@localhost wrote to Support" in told["body"]
    assert "I want 500 licences" in told["body"]
    t = desk.rows("SELECT * FROM tasks")[0]
    assert (t["kind"], t["assignee_jid"], t["title"], t["created_by"]) == (
        "handoff", "sam@localhost", "Quote for 500 licences", ALICE)
    assert f"task {t['id']}" in told["body"] and f"Task {t['id']}" in ok["body"]
    alice.send(conv, "/handoff nobody do something")
    await alice.expect("Usage: !handoff", frm=conv)


async def test_due_task_reaches_its_agent_now_or_at_the_next_login(desk):
    await desk.start(agents=["alice", "carol"], online=["alice"])
    alice = desk.agent("alice")
    bob = await desk.customer("bob")
    conv = await chat(desk, bob, alice, "call me back soon")
    alice.send(conv, "/task +2s Call Bob about the invoice")
    await alice.expect("Task", frm=conv)
    due = await alice.expect("Due now:", timeout=6)
    assert "Call Bob about the invoice" in due["body"]
    assert due["from"].bare == "support.localhost"
    assert "Contact:" in due["body"]                       # the card comes along
    # a task for carol, who is offline: she hears of it when she logs in
    alice.send(conv, "/handoff carol@localhost +1s Check the contract")
    await alice.expect("handed to", frm=conv)
    await asyncio.sleep(1.5)
    carol = await desk.login("carol")
    got = await carol.expect(lambda m: "Due now:" in m["body"] and "Check the contract" in
                             m["body"], timeout=6)
    assert got
    reminded = desk.rows("SELECT title, reminded_at FROM tasks ORDER BY id")
    assert all(r["reminded_at"] for r in reminded)
    # /tasks and /done from the component's address
    carol.send("support.localhost", "/tasks")
    listing = await carol.expect("Your open tasks")
    number = re.search(r"#(\d+) handoff", listing["body"]).group(1)
    carol.send("support.localhost", f"/done {number}")
    await carol.expect(f"Task {number} is done.")
    carol.send("support.localhost", "/done 999")
    await carol.expect("You have no open task 999.")
    assert desk.rows("SELECT status FROM tasks WHERE id = ?", int(number))[0]["status"] == "done"


async def test_overdue_task_is_repeated_once_a_day(desk):
    await desk.start()
    alice = desk.agent("alice")
    bob = await desk.customer("bob")
    conv = await chat(desk, bob, alice, "x")
    alice.send(conv, "/task +1s overdue thing")
    await alice.expect("Task 1 added for you", frm=conv)
    await alice.expect("Due now:", timeout=5)
    await alice.no_message(1.5)                        # not again within the day
    # a day later (respa's clock shifted by a restart), it comes again as overdue
    desk.r.env["RESPA_TIME_OFFSET"] = str(86400 + 60)
    await asyncio.to_thread(desk.r.restart)
    again = await alice.expect("Overdue:", timeout=10)
    assert "overdue thing" in again["body"]


async def test_reminder_to_the_customer_is_sent_when_due(desk):
    await desk.start()
    alice = desk.agent("alice")
    bob = await desk.customer("bob")
    conv = await chat(desk, bob, alice, "remind me")
    alice.send(conv, "/remind +2s Your parcel leaves today.")
    ok = await alice.expect("The customer will get this message", frm=conv)
    assert ok
    got = await bob.expect(exact("Your parcel leaves today."), frm=QUEUE, timeout=6)
    assert got
    r = desk.rows("SELECT * FROM reminders")[0]
    assert r["to_jid"] == "bob@localhost" and r["sent_at"] is not None


async def test_reminder_refused_for_an_anonymous_web_visitor(desk):
    await desk.start()
    alice = desk.agent("alice")
    visitor = await desk.customer(anonymous=True)
    widget_send(visitor, "hi from the web", secrets.token_urlsafe(16))
    header = await alice.expect("New chat #")
    conv = header["from"].bare
    alice.send(conv, "/remind +1h hello later")
    said = await alice.expect("anonymous web visitor", frm=conv)
    assert "cannot be reached later" in said["body"]
    assert desk.rows("SELECT * FROM reminders") == []


async def test_contact_command_refuses_bad_values_and_changes_nothing(desk):
    await desk.start()
    alice = desk.agent("alice")
    bob = await desk.customer("bob")
    conv = await chat(desk, bob, alice, "hello")
    alice.send(conv, "/contact email=not-an-email name=Bob")
    said = await alice.expect("Nothing changed", frm=conv)
    assert "is not an email address" in said["body"]
    alice.send(conv, "/contact colour=blue")
    assert "Usage: !contact" in (await alice.expect("Usage", frm=conv))["body"]
    assert contact_of(desk, conv)["name"] is None


async def test_admin_erases_a_contact_only_once_its_chat_is_closed(desk):
    await desk.start(extra={"admin": {"jids": "admin@localhost"}})
    alice = desk.agent("alice")
    bob = await desk.customer("bob")
    carol = await desk.customer("carol")
    conv = await chat(desk, bob, alice, "secret-words-of-bob-7731")
    other = await chat(desk, carol, alice, "carol keeps her words-5512")
    admin = Commander(await desk.customer("admin"))
    r = await admin.execute("contact-erase")
    r = await admin.complete(r, contact="bob@localhost", confirm="1")
    assert r.status != "completed"                                 # refused: still open
    assert "has an open conversation" in " ".join(n for _, n in r.notes)
    await close(alice, conv)
    r = await admin.execute("contact-erase")
    r = await admin.complete(r, contact="bob@localhost", confirm="1")
    assert r.status == "completed", r
    assert "erased: 1 conversation" in r.notes[0][1]
    assert desk.rows("SELECT count(*) AS n FROM conversations WHERE id = ?",
                     conv_id(conv)) == [{"n": 0}]
    data = b"".join(p.read_bytes() for p in (desk.r.db_path,
                                              desk.r.db_path.with_name("respa.db-wal"))
                    if p.exists())
    assert b"secret-words-of-bob-7731" not in data and b"bob@localhost" not in data
    assert b"carol keeps her words-5512" in data                   # others' data stays
    assert desk.conversation(other)["state"] == "active"
    r = await admin.execute("contact-erase")
    r = await admin.complete(r, contact="bob@localhost", confirm="1")
    assert "No contact is known" in " ".join(n for _, n in r.notes)
