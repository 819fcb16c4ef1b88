"""Ad-hoc commands for the live desk: queue status, conversations closed and transferred by an
admin, tasks, canned responses, statistics and announcements."""
import asyncio
import datetime
import re

from adhoc import Commander
from desk import CLOSED, QUEUE, conv_id, exact
from harness import COMPONENT_JID

ADMINS = {"admin": {"jids": "admin@localhost"}}
SALES = f"sales@{COMPONENT_JID}"


async def _admin(desk, **kw):
    extra = {**ADMINS, **kw.pop("extra", {})}
    await desk.start(extra=extra, **kw)
    return Commander(await desk.customer("admin"))


async def test_queue_status_and_open_conversations(desk):
    admin = await _admin(desk, agents=["alice", "dave"], online=["alice"],
                         capacity={"alice": 1})
    alice = desk.agent("alice")
    bob, carol = await desk.customer("bob"), await desk.customer("carol")
    conv = await desk.open_chat(bob, alice, "first")
    carol.send(QUEUE, "second")
    await carol.expect("You are number 1 in line", frm=QUEUE)
    r = await admin.execute("desk-status")
    assert r.status == "completed" and r.form_type == "result"
    row = r.row("queue", "support")
    assert (row["open"], row["waiting"], row["active"], row["free"], row["busy"],
            row["away"], row["offline"]) == ("yes", "1", "1", "0", "1", "0", "1")
    assert row["longest"].endswith(" s")
    assert len(r.values("waiting")) == 1 and carol.jid in r.value("waiting")
    r = await admin.execute("conversations")
    assert [(x["queue"], x["state"], x["customer"], x["agent"]) for x in r.rows] == [
        ("support", "active", bob.jid, "alice@localhost"),
        ("support", "queued", carol.jid, "")]
    assert r.rows[0]["chat"] == conv.split("@")[0] and "2 open conversations" in r.note()


async def test_admin_closes_a_conversation_with_a_reason(desk):
    admin = await _admin(desk, agents=["alice"])
    alice = desk.agent("alice")
    bob = await desk.customer("bob")
    conv = await desk.open_chat(bob, alice, "buy cheap watches")
    node = conv.split("@")[0]
    r = await admin.execute("conversation-close")
    assert list(r.choices("chat")) == [node]
    r = await admin.complete(r, chat=node, reason="")
    assert r.status == "executing" and "Reason is required" in r.note("error")
    assert r.value("chat") == node
    r = await admin.complete(r, chat=node, reason="spam")
    assert r.status == "completed" and f"Chat #{conv_id(conv)} closed" in r.note(), r
    await bob.expect(CLOSED, frm=QUEUE)
    await alice.expect(f"admin@localhost closed chat #{conv_id(conv)}: spam", frm=conv)
    row = desk.conversation(conv)
    assert (row["state"], row["close_reason"]) == ("closed", "admin")
    assert ("note", "admin@localhost", "closed by admin@localhost: spam") in \
        desk.transcript(conv)
    r = await admin.run("conversation-close", {"chat": node, "reason": "again"})
    assert r.status == "executing" and "is not open any more" in r.note("error")


async def test_admin_transfers_a_conversation(desk):
    desk.prosody.register("carol")      # before respa asks for her presence
    admin = await _admin(desk, agents=["alice", "dave"], online=["alice", "dave"],
                         extra={"queue sales": {"name": "Sales", "agents": "carol@localhost"}})
    carol = await desk.login("carol")
    await desk.seen_as("carol", "available", since=0)
    alice, dave = desk.agent("alice"), desk.agent("dave")
    bob = await desk.customer("bob")
    bob.send(QUEUE, "my order")
    header = await desk.agents[(await _first_header(alice, dave))].expect("my order")
    conv = header["from"].bare
    holder = desk.conversation(conv)["agent_jid"]
    other = "dave@localhost" if holder == "alice@localhost" else "alice@localhost"
    held_by = desk.agent(holder.split("@")[0])
    node = conv.split("@")[0]

    r = await admin.run("conversation-transfer", {"chat": node, "to": "nobody@localhost",
                                                  "note": "vip"})
    assert r.status == "executing" and "nobody@localhost is neither an agent nor a queue" \
        in r.note("error")
    assert (r.value("to"), r.value("note")) == ("nobody@localhost", "vip")
    r = await admin.complete(r, chat=node, to=other.upper(), note="vip")
    assert r.status == "completed", r
    taker = desk.agent(other.split("@")[0])
    intro = await taker.expect("Transferred chat", frm=conv)
    assert "admin@localhost handed it to you: vip" in intro["body"]
    await held_by.expect(f"admin@localhost transferred chat #{conv_id(conv)} to {other}",
                         frm=conv)
    await bob.expect("You are being transferred to another agent", frm=QUEUE)
    assert desk.conversation(conv)["agent_jid"] == other

    r = await admin.run("conversation-transfer", {"chat": node, "to": "sales"})
    assert r.status == "completed", r
    await carol.expect("my order")
    await bob.expect("You are being transferred to Sales", frm=QUEUE)
    row = desk.conversation(conv)
    assert (row["queue"], row["agent_jid"]) == ("sales", "carol@localhost")


async def _first_header(*agents, text="New chat #"):
    """Which agent got the new chat (or offer): its name."""
    done, pending = await asyncio.wait(
        [asyncio.ensure_future(a.expect(text)) for a in agents],
        return_when=asyncio.FIRST_COMPLETED)
    for p in pending:
        p.cancel()
    msg = done.pop().result()
    return msg["to"].user


async def test_tasks_filtered_reassigned_and_done(desk):
    admin = await _admin(desk, agents=["alice", "dave"], online=["alice"])
    alice = desk.agent("alice")
    bob = await desk.customer("bob")
    conv = await desk.open_chat(bob, alice, "please call")
    for text in ("+1h call bob", "2020-01-01 10:00 overdue thing"):
        alice.send(conv, f"/task {text}")
        await alice.expect("added for you", frm=conv)
    r = await admin.run("tasks", {"queue": "nosuch"})
    assert r.status == "executing" and "\"nosuch\" is not one of the choices" in r.note("error")
    r = await admin.next(r, queue="support", assignee="ALICE@localhost", kind="follow-up",
                         overdue="0")
    assert "2 open tasks found, 1 overdue." in r.fixed
    ids = list(r.choices("done"))
    r = await admin.prev(r)
    r = await admin.next(r, queue="", assignee="", kind="", overdue="1")
    assert "1 open task found, 1 overdue." in r.fixed
    overdue = list(r.choices("done"))
    assert len(overdue) == 1 and overdue[0] in ids
    r = await admin.complete(r, done=overdue, action="reassign", to="nobody@localhost")
    assert r.status == "executing" and "neither an agent nor a queue's address" in \
        r.note("error")
    assert r.values("done") == overdue
    r = await admin.complete(r, done=overdue, action="reassign", to="dave@localhost")
    assert r.status == "completed" and "1 task reassigned to dave@localhost" in r.note()
    assert desk.rows("SELECT assignee_jid FROM tasks WHERE id = ?", int(overdue[0])) == [
        {"assignee_jid": "dave@localhost"}]
    other = [i for i in ids if i not in overdue]
    r = await admin.run("tasks", {}, {"done": other, "action": "done"})
    assert r.status == "completed" and f"#{other[0]}" in r.note()
    assert desk.rows("SELECT status FROM tasks WHERE id = ?", int(other[0])) == [
        {"status": "done"}]
    r = await admin.run("tasks", {"queue": "", "assignee": "", "kind": "", "overdue": "0"})
    assert list(r.choices("done")) == overdue


async def test_canned_responses_per_queue_and_global(desk):
    admin = await _admin(desk, agents=["alice"])
    alice = desk.agent("alice")
    r = await admin.run("canned-add", {"queue": "", "name": "hi", "text": "Hello from all"})
    assert r.status == "completed", r
    r = await admin.run("canned-add", {"queue": "support", "name": "hi",
                                       "text": "Hello from support"})
    assert r.status == "completed", r
    r = await admin.run("canned-add", {"queue": "", "name": "hi", "text": "again"})
    assert r.status == "executing" and "there is a canned response hi for every queue" in \
        r.note("error")
    r = await admin.complete(r, queue="", name="two words", text="x")
    assert "is not a short name" in r.note("error") and r.value("name") == "two words"
    await admin.cancel(r)
    r = await admin.execute("canned")
    assert [(x["queue"], x["name"], x["text"]) for x in r.rows] == [
        ("(every queue)", "hi", "Hello from all"), ("support", "hi", "Hello from support")]

    bob = await desk.customer("bob")
    conv = await desk.open_chat(bob, alice, "hi")
    alice.send(conv, "/canned hi")
    await bob.expect(exact("Hello from support"), frm=QUEUE)

    r = await admin.execute("canned-edit")
    assert set(r.choices("canned")) == {":hi", "support:hi"}
    r = await admin.next(r, canned="support:hi")
    assert r.value("text") == "Hello from support"
    r = await admin.complete(r, text=["Hello", "from support, edited"])
    assert r.status == "completed", r
    alice.send(conv, "/canned hi")
    await bob.expect(exact("Hello\nfrom support, edited"), frm=QUEUE)

    r = await admin.run("canned-delete", {"canned": "support:hi", "confirm": "1"})
    assert r.status == "completed", r
    alice.send(conv, "/canned hi")
    await bob.expect(exact("Hello from all"), frm=QUEUE)
    assert desk.rows("SELECT queue, name FROM canned") == [{"queue": "", "name": "hi"}]


async def test_statistics_for_a_period(desk):
    admin = await _admin(desk, agents=["alice", "carol"],
                         queue={"mode": "offer", "offer_timeout": 1},
                         extra={"routing": {"max_no_answer": 0, "reject_delay": 30}})
    alice, carol = desk.agent("alice"), desk.agent("carol")
    bob = await desk.customer("bob")
    bob.send(QUEUE, "invoice question")
    first = await _first_header(alice, carol, text="Offer: chat #")
    missed, taker = (alice, carol) if first == "alice" else (carol, alice)
    await missed.expect("You did not answer chat", timeout=5)
    offer = await taker.expect("Offer: chat #", timeout=5)
    conv = offer["from"].bare
    taker.send(conv, "hello, checking")
    await bob.expect("hello, checking", frm=QUEUE)
    taker.send(conv, "/tag billing")
    await taker.expect("Tagged", frm=conv)
    taker.send(conv, "/close")
    await bob.expect(CLOSED, frm=QUEUE)

    r = await admin.execute("stats")
    assert r.value("period") == "today" and r.options("period") == ["today", "7d", "30d",
                                                                   "dates"]
    r = await admin.complete(r, period="dates", **{"from": "2026-13-01", "to": ""})
    assert r.status == "executing" and "From: write a date as YYYY-MM-DD" in r.note("error")
    r = await admin.complete(r, period="dates", **{"from": "2026-11-02", "to": "2026-11-01"})
    assert "the period ends before it begins" in r.note("error")
    r = await admin.complete(r, period="today")
    assert r.status == "completed" and r.form_type == "result", r
    missed_jid = f"{'alice' if missed is alice else 'carol'}@localhost"
    assert r.value("total") == "1"
    assert r.values("contacts") == ["support / xmpp: 1"]
    assert r.value("out_of_hours") == "0 of 1 (0%)"
    assert r.value("wait").startswith("median ") and r.value("wait").endswith("(1 chat)")
    assert "90th percentile" in r.value("first_response")
    assert r.value("handling").startswith("average ")
    assert r.value("resolution") == "100% (1 of 1 chats closed by an agent)"
    assert r.values("missed") == [f"{missed_jid}: 1"]
    assert r.values("reasons") == ["billing: 1"]
    hours = r.values("by_hour")          # the queue is open around the clock
    assert len(hours) == 1 and re.fullmatch(r"\d\d: 1 \+ 0", hours[0]), hours
    today = datetime.datetime.now(datetime.timezone.utc).date()
    week = await admin.run("stats", {"period": "dates", "from": str(today),
                                     "to": str(today)})
    assert week.value("total") == "1"
    old = await admin.run("stats", {"period": "dates", "from": "2020-01-01",
                                    "to": "2020-01-31"})
    assert (old.value("total"), old.value("wait"), old.values("reasons")) == \
        ("0", "no chats", [])


async def test_statistics_leave_respa_s_own_closes_out_of_resolution(desk):
    """Bob was answered, then left: respa closed the chat (customer-left), not an agent, so
    it is neither closed nor resolved by one. The report command shows the same figures."""
    admin = await _admin(desk, agents=["alice"], queue={"customer_grace": 1})
    alice = desk.agent("alice")
    bob = await desk.customer("bob")
    bob.set_presence(to=QUEUE)
    conv = await desk.open_chat(bob, alice, "hi")
    alice.send(conv, "Hello Bob")
    await bob.expect(exact("Hello Bob"), frm=QUEUE)
    mark = desk.r.log_mark()
    bob.set_presence(ptype="unavailable", to=QUEUE)
    await desk.r.wait_for_log_async(f"conversation {conv_id(conv)} closed (customer-left)",
                                    since=mark, timeout=5)
    assert desk.rows("SELECT resolved FROM summaries") == [{"resolved": 1}]
    r = await admin.run("stats", {"period": "today"})
    assert r.value("total") == "1"
    assert r.value("resolution") == "no chats"
    assert r.value("first_response").endswith("(1 chat)")    # answered while he was there
    r = await admin.run("report", {"period": "7d"})
    assert r.status == "completed" and r.form_type == "result", r
    assert r.value("total") == "1" and r.value("resolution") == "no chats"
    assert r.value("out_of_hours") == "0 of 1 (0%)"
    assert r.values("outcomes")[0] == "answered within max wait: 1"
    assert r.value("rating") == "no ratings"
    assert r.value("tasks") == "0 created, 0 done, 0 overdue"
    assert "respa report" in r.note()


async def test_announcement_reaches_every_online_agent(desk):
    admin = await _admin(desk, agents=["alice", "carol", "dave"], online=["alice", "carol"],
                         show={"carol": "away"})
    r = await admin.run("announce", {"text": ["Team meeting at 15:00.", "Bring cake."]})
    assert r.status == "completed" and "Sent to 2 online agents." in r.note(), r
    for name in ("alice", "carol"):
        await desk.agent(name).expect(
            exact("Announcement from admin@localhost: Team meeting at 15:00.\nBring cake."),
            frm=COMPONENT_JID)
    r = await admin.run("announce", {"text": ""})
    assert r.status == "executing" and "Text is required" in r.note("error")
