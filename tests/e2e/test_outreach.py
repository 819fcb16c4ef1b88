"""Closing the loop with the customer (issue 15, items 4 to 6): the customer rates a chat an
agent closed (queue setting rating = yes) by a plain reply, a low score leaves the queue a
service-recovery task; /call sends both sides the link of a voice/video room; an agent starts
a chat with a known customer (/start WHO [QUEUE] text) by JID or, through a gateway, by phone
number."""
import asyncio
import json
import re

from desk import CLOSED, GREETING, QUEUE, conv_id, exact
from harness import COMPONENT_JID
from test_care import export_jsonl, hook_script, saved_records, wait_for
from test_channels import GATEWAY, gateway_desk

NS_WIDGET = "urn:respa:widget"
RATING_Q = "How did we do? Please rate this chat from 1 (poor) to 5 (excellent)"
THANKS = "Thank you for your rating."
LOW = "Thank you for telling us. We are sorry we did not do better"
RETRY = "Please rate with one number from 1 (poor) to 5 (excellent)."
LATE = "There is no chat to rate now"
RATING = {"rating": "yes"}


async def answered_and_closed(desk, customer, text="my invoice is wrong") -> int:
    """A chat of customer with alice: answered, then closed by her. Returns its number."""
    alice = desk.agent("alice")
    conv = await desk.open_chat(customer, alice, text)
    alice.send(conv, "Fixed it for you.")
    await customer.expect(exact("Fixed it for you."), frm=QUEUE)
    alice.send(conv, "/close")
    await alice.expect("closed. Summary:", frm=conv)
    await customer.expect(CLOSED, frm=QUEUE)
    return conv_id(conv)


def rating_row(desk, n: int) -> dict:
    rows = desk.rows("SELECT * FROM ratings WHERE conversation_id = ?", n)
    assert rows, f"no rating row for chat #{n}"
    return rows[0]


# --- rating ---------------------------------------------------------------------------------
async def test_rating_with_a_comment_is_stored_exported_and_sent_to_the_hook(desk, tmp_path):
    hook = hook_script(tmp_path, 'cat > "$OUT/record-$N.json"')
    r = await desk.start(queue=RATING, extra={"crm": {"hook": str(hook)}})
    bob = await desk.customer("bob")
    n = await answered_and_closed(desk, bob)
    question = await bob.expect(RATING_Q, frm=QUEUE)
    await r.wait_for_log_async(f"conversation {n} delivered")   # the record without a score
    # the widget's wire: buttons from <rating xmlns='urn:respa:widget' max='5'/>
    rating = question.xml.find(f"{{{NS_WIDGET}}}rating")
    assert rating is not None and rating.get("max") == "5"
    assert rating_row(desk, n)["score"] is None               # asked, not yet answered
    bob.send(QUEUE, "5 quick and friendly!")
    await bob.expect(exact(THANKS), frm=QUEUE)
    row = rating_row(desk, n)
    assert (row["score"], row["comment"]) == (5, "quick and friendly!") and row["rated_at"]
    await bob.no_message(0.5)
    assert len(desk.rows("SELECT id FROM conversations")) == 1   # the answer opened nothing
    # the hook gets the record again, now with its rating; the export has it too
    await wait_for(lambda: len(saved_records(tmp_path)) == 2, 10, "the rated record")
    rec = saved_records(tmp_path)[2]
    assert rec["id"] == n and rec["rating"]["score"] == 5 and rec["outbound"] is False
    assert rec["rating"]["comment"] == "quick and friendly!"
    assert saved_records(tmp_path)[1]["rating"] == {"score": None, "comment": None,
                                                    "asked_at": row["asked_at"],
                                                    "rated_at": None}
    assert export_jsonl(r)[0]["rating"]["score"] == 5
    # a lone number after that opens no chat: it is told why
    bob.send(QUEUE, "5")
    await bob.expect(LATE, frm=QUEUE)
    await asyncio.sleep(0.3)
    assert len(desk.rows("SELECT id FROM conversations")) == 1
    # the contact card shows the rating to the next agent
    alice = desk.agent("alice")
    bob.send(QUEUE, "one more question")
    header = await alice.expect("New chat #")
    assert "Rated 1 chat, 5.0 on average (last 5/5)." in header["body"]


async def test_low_rating_makes_a_service_recovery_task(desk):
    await desk.start(queue=RATING)
    alice = desk.agent("alice")
    bob = await desk.customer("bob")
    n = await answered_and_closed(desk, bob)
    await bob.expect(RATING_Q, frm=QUEUE)
    bob.send(QUEUE, "2 it took too long")
    await bob.expect(LOW, frm=QUEUE)
    task = desk.rows("SELECT * FROM tasks")[0]
    assert task["assignee_jid"] == QUEUE and task["kind"] == "follow-up"
    assert task["title"] == f"Service recovery: bob@localhost rated chat #{n} 2/5"
    assert task["details"] == "Comment: it took too long" and task["conversation_id"] == n
    due = await alice.expect("Due now:", frm=COMPONENT_JID)   # the queue's agents hear of it
    assert f"rated chat #{n} 2/5" in due["body"]


async def test_bad_ratings_get_a_clear_answer(desk):
    await desk.start(queue=RATING)
    bob = await desk.customer("bob")
    n = await answered_and_closed(desk, bob)
    await bob.expect(RATING_Q, frm=QUEUE)
    bob.send(QUEUE, "6")                     # out of range: asked again, nothing stored
    await bob.expect(exact(RETRY), frm=QUEUE)
    assert rating_row(desk, n)["score"] is None
    bob.send(QUEUE, "⭐⭐⭐⭐⭐")              # stars count: five of them are a 5
    await bob.expect(exact(THANKS), frm=QUEUE)
    assert rating_row(desk, n)["score"] == 5
    # words are not a rating: a new message, which opens a chat as always
    carol = await desk.customer("carol")
    m = await answered_and_closed(desk, carol, "hello")
    await carol.expect(RATING_Q, frm=QUEUE)
    carol.send(QUEUE, "five")
    await carol.expect(GREETING, frm=QUEUE)
    await desk.agent("alice").expect(exact("five"))
    assert rating_row(desk, m)["score"] is None
    assert len(desk.rows("SELECT id FROM conversations WHERE state <> 'closed'")) == 1


async def test_rating_question_outlives_a_restart_and_then_expires(desk):
    r = await desk.start(queue=RATING)
    bob = await desk.customer("bob")
    n = await answered_and_closed(desk, bob)
    await bob.expect(RATING_Q, frm=QUEUE)
    await asyncio.to_thread(r.restart)
    bob.send(QUEUE, "6")                     # still waiting after the restart: asked again
    await bob.expect(exact(RETRY), frm=QUEUE)
    # eleven minutes later (respa's clock moved by a restart) the window of 10 min is over
    r.env["RESPA_TIME_OFFSET"] = str(11 * 60)
    await asyncio.to_thread(r.restart)
    bob.send(QUEUE, "5")
    await bob.expect(LATE, frm=QUEUE)        # a lone number still opens no chat
    await bob.no_message(0.5)
    assert rating_row(desk, n)["score"] is None
    assert len(desk.rows("SELECT id FROM conversations")) == 1
    bob.send(QUEUE, "4 thanks, and another thing")   # not alone: a new message
    await bob.expect(GREETING, frm=QUEUE)
    assert len(desk.rows("SELECT id FROM conversations")) == 2


async def test_lone_number_without_a_question_opens_no_chat(desk):
    await desk.start(queue=RATING)
    bob = await desk.customer("bob")
    bob.send(QUEUE, "5")
    await bob.expect(LATE, frm=QUEUE)
    await bob.no_message(0.5)
    assert desk.rows("SELECT count(*) AS n FROM conversations")[0]["n"] == 0


# --- /call ----------------------------------------------------------------------------------
async def test_call_sends_the_same_room_link_to_both_and_records_it(desk):
    await desk.start(queue={"call_url": "https://meet.example.com/{room}"})
    alice = desk.agent("alice")
    bob = await desk.customer("bob")
    conv = await desk.open_chat(bob, alice, "can we talk?")
    alice.send(conv, "/call")
    got = await bob.expect("Your agent invites you to a voice or video call. Join here: "
                           "https://meet.example.com/", frm=QUEUE)
    url = got["body"].split()[-1]
    assert re.fullmatch(r"https://meet\.example\.com/[A-Za-z0-9_-]{22}", url), url
    mine = await alice.expect("Call link sent to the customer. Join the call:", frm=conv)
    assert mine["body"].endswith(url)
    assert ("out", "alice@localhost", got["body"]) in desk.transcript(conv)
    alice.send(conv, "/call")
    again = await bob.expect("Join here:", frm=QUEUE)
    assert again["body"].split()[-1] != url          # a new room each time


async def test_call_without_call_url_tells_the_agent(desk):
    await desk.start()
    alice = desk.agent("alice")
    bob = await desk.customer("bob")
    conv = await desk.open_chat(bob, alice, "can we talk?")
    alice.send(conv, "/call")
    await alice.expect("No call link is set up for Support: an admin sets call_url", frm=conv)
    await bob.no_message(0.5)
    assert len(desk.transcript(conv)) == 1


# --- /start ---------------------------------------------------------------------------------
async def test_start_by_jid_opens_an_outbound_chat_assigned_to_the_agent(desk):
    await desk.start(capacity={"alice": 2})
    alice = desk.agent("alice")
    bob = await desk.customer("bob")
    await answered_and_closed(desk, bob)
    alice.send(COMPONENT_JID, "/start bob@localhost Your order has shipped today.")
    ok = await alice.expect("started: write at c-", frm=COMPONENT_JID)
    n = int(re.search(r"Chat #(\d+) started", ok["body"]).group(1))
    conv = f"c-{n}@{COMPONENT_JID}"
    await alice.expect(f"Outbound chat #{n} from bob@localhost in Support (xmpp).", frm=conv)
    await bob.expect(exact("Your order has shipped today."), frm=QUEUE)
    bob.send(QUEUE, "Great, thanks!")
    await alice.expect(exact("Great, thanks!"), frm=conv)
    alice.send(conv, "You're welcome.")
    await bob.expect(exact("You're welcome."), frm=QUEUE)
    row = desk.conversation(n)
    assert row["outbound"] == 1 and row["state"] == "active"
    assert row["agent_jid"] == "alice@localhost"
    # refused, with the reason: a chat open already, an unknown contact, a queue not hers
    alice.send(COMPONENT_JID, "/start bob@localhost hello again")
    await alice.expect(f"No chat was started: contact #{row['contact_id']} has a chat open "
                       f"already (#{n}).", frm=COMPONENT_JID)
    alice.send(COMPONENT_JID, "/start stranger@localhost hi")
    await alice.expect("No chat was started: no contact is known by stranger@localhost: "
                       "respa starts chats only with customers who have written before.",
                       frm=COMPONENT_JID)
    alice.send(COMPONENT_JID, "/start #999 hi")
    await alice.expect("No chat was started: there is no contact #999.", frm=COMPONENT_JID)
    assert len(desk.rows("SELECT id FROM conversations")) == 2


async def test_start_by_phone_goes_through_the_gateway(desk):
    gw = await gateway_desk(desk)
    try:
        alice = desk.agent("alice")
        user = "+15551234567"
        full = f"{user}@{GATEWAY}/bridge"
        gw.send(user, "Hi from WhatsApp")
        header = await alice.expect("New chat #")
        conv = header["from"].bare
        await gw.expect(GREETING, to=full)
        alice.send(conv, "Hello")
        await gw.expect("Hello", to=full)
        alice.send(conv, "/close")
        await gw.expect(CLOSED, to=full)
        alice.send(COMPONENT_JID, f"/start {user} Your parcel is at the pick-up point.")
        ok = await alice.expect("started: write at c-", frm=COMPONENT_JID)
        n = int(re.search(r"Chat #(\d+) started", ok["body"]).group(1))
        got = await gw.expect("Your parcel is at the pick-up point.", to=full)
        assert got["from"].bare == QUEUE
        gw.send(user, "Thanks, on my way")
        await alice.expect(exact("Thanks, on my way"), frm=f"c-{n}@{COMPONENT_JID}")
        row = desk.conversation(n)
        assert (row["channel"], row["outbound"]) == ("whatsapp", 1)
    finally:
        await gw.stop()


async def test_start_is_refused_for_an_anonymous_web_visitor(desk):
    await desk.start(extra={"domain guest.localhost": {"channel": "web"}})
    alice = desk.agent("alice")
    guest = await desk.customer(anonymous=True)
    n = await answered_and_closed(desk, guest, "hi from the web")
    contact = desk.conversation(n)["contact_id"]
    assert desk.conversation(n)["channel"] == "web"
    alice.send(COMPONENT_JID, f"/start #{contact} are you there?")
    await alice.expect(f"No chat was started: contact #{contact} came only as an anonymous "
                       "web visitor, who cannot be reached once the page is closed.",
                       frm=COMPONENT_JID)
    await guest.no_message(0.5)


# --- the ad-hoc command and the statistics --------------------------------------------------
async def test_start_chat_command_and_stats_show_csat_and_outbound(desk):
    from adhoc import Commander
    await desk.start(queue=RATING, capacity={"alice": 3},
                     extra={"admin": {"jids": "admin@localhost"}})
    alice = desk.agent("alice")
    bob, carol = await desk.customer("bob"), await desk.customer("carol")
    for who, answer in ((bob, "5"), (carol, "2 meh")):
        await answered_and_closed(desk, who)
        await who.expect(RATING_Q, frm=QUEUE)
        who.send(QUEUE, answer)
        await who.expect("Thank you", frm=QUEUE)
    agent = Commander(alice)
    r = await agent.execute("start-chat")
    assert r.options("queue") == ["support"] and r.value("queue") == "support"
    r = await agent.complete(r, who="nobody@localhost", queue="support", text="hi")
    assert "No chat was started: no contact is known by nobody@localhost" in r.note("error")
    r = await agent.complete(r, who="Bob@localhost", queue="support", text="About your order")
    assert r.status == "completed", r
    assert re.match(r"Chat #3 started: write at c-3@", r.note("info")), r.notes
    await bob.expect(exact("About your order"), frm=QUEUE)
    await alice.expect("Outbound chat #3 from bob@localhost", frm=f"c-3@{COMPONENT_JID}")
    admin = Commander(await desk.customer("admin"))
    s = await admin.run("stats", {"period": "today"})
    assert s.value("csat") == "50% rated 4 or 5 (1 of 2 ratings; 2 asked)"
    assert s.value("outbound") == "1"
    assert s.value("total") == "2"                     # contacts: the outbound chat is none
    assert s.value("wait").endswith("(2 chats)")      # the outbound chat had no wait


async def test_rating_during_the_hooks_run_sends_the_record_again(desk, tmp_path):
    # the program reads its record when it starts: a rating that comes while it runs must
    # not be lost, so the record goes once more
    hook = hook_script(tmp_path, 'sleep 1.5; cat > "$OUT/record-$N.json"')
    r = await desk.start(queue=RATING, extra={"crm": {"hook": str(hook)}})
    bob = await desk.customer("bob")
    n = await answered_and_closed(desk, bob)
    await bob.expect(RATING_Q, frm=QUEUE)
    await wait_for(lambda: (tmp_path / "hook-out" / "count").exists(), 5, "the hook to start")
    bob.send(QUEUE, "4")
    await bob.expect(exact(THANKS), frm=QUEUE)
    records = await wait_for(lambda: len(saved_records(tmp_path)) == 2 and
                             saved_records(tmp_path), 10, "the record sent again")
    assert records[1]["rating"]["score"] is None and records[2]["rating"]["score"] == 4
    assert records[2]["id"] == n
    await wait_for(lambda: desk.rows("SELECT count(*) AS n FROM hook_deliveries")[0]["n"] == 0,
                   5, "the delivery done")
    assert r.log_text().count(f"conversation {n} delivered") == 2
