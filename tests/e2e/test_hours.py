"""Business hours: a contact out of hours is kept for later, the queue's opening closes those
conversations and tells the free agents, and bad hours are refused at start-up.

respa's clock is set with RESPA_TIME_OFFSET to a chosen instant of today (UTC), so the texts
are exact and the opening is seconds away, whatever the time the tests run at."""
import time
from datetime import datetime, timedelta, timezone

import pytest

from desk import ASSIGNED, GREETING, QUEUE, exact
from harness import COMPONENT_JID

ALICE = "alice@localhost"
OFFLINE_TEXT = "Support is closed right now. Your message is saved, and we will get back to you."
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")


def today_at(hour: int, minute: int = 0) -> datetime:
    return datetime.now(timezone.utc).replace(hour=hour, minute=minute, second=0,
                                              microsecond=0)


def clock_at(instant: datetime) -> dict:
    """desk.start(env=...) so that respa's clock reads `instant` now (and runs on from it)."""
    return {"RESPA_TIME_OFFSET": str(round(instant.timestamp() - time.time()))}


def spoken(day: datetime) -> str:
    """How respa names a day more than a day ahead: "Monday 7 December"."""
    return f"{DAYS[day.weekday()]} {day.day} {MONTHS[day.month - 1]}"


def offline_rows(desk) -> list[tuple]:
    return [(t["conversation_id"], t["assignee_jid"], t["kind"], t["status"], t["title"])
            for t in desk.rows("SELECT * FROM tasks ORDER BY id")]


@pytest.mark.parametrize("closed_by", ["hours", "closed-date"])
async def test_contact_out_of_hours_is_kept_as_an_offline_task(desk, closed_by):
    noon = today_at(12)
    if closed_by == "hours":                 # open on another weekday only
        opens = noon + timedelta(days=2)
        queue = {"hours": f"{DAYS[opens.weekday()][:3]} 09:00-17:00"}
        when = f"{spoken(opens)} at 09:00"
    else:                                    # open around the clock, but not today
        queue = {"closed": noon.date().isoformat()}
        when = "tomorrow at 00:00"
    await desk.start(agents=["alice"], queue=queue, env=clock_at(noon))
    alice = desk.agent("alice")
    bob = await desk.customer("bob")

    bob.send(QUEUE, "My parcel never came")
    first = await bob.expect(frm=QUEUE)      # the first thing he hears: no greeting
    assert first["body"] == f"{OFFLINE_TEXT} We open again {when} (UTC)."
    presence = await bob.expect_presence(frm=QUEUE)
    assert (presence["type"], presence["status"]) == ("xa", f"Closed; opens {when} (UTC)")
    bob.send(QUEUE, "Order 1234")            # kept with the first one
    await desk.stored(2)
    await bob.no_message(0.5)
    await alice.no_message(0)

    rows = desk.rows("SELECT * FROM conversations")
    assert [(r["id"], r["state"], r["agent_jid"], r["queue"]) for r in rows] == [
        (1, "offline", None, "support")]
    assert desk.transcript(1) == [("in", bob.full_jid, "My parcel never came"),
                                  ("in", bob.full_jid, "Order 1234")]
    assert offline_rows(desk) == [
        (1, QUEUE, "offline", "open", "Wrote while closed: bob@localhost in Support (chat #1)")]
    assert "conversation 1 in support kept for later: the queue is closed" in desk.r.log_text()


async def test_opening_closes_offline_chats_and_tells_free_agents_once(desk):
    """Bob is busy (dnd) at the opening: he hears of it when he becomes free."""
    opening = today_at(12)
    carol = await desk.customer("carol")
    await desk.start(agents=["alice", "bob"], show={"bob": "dnd"},
                     queue={"hours": f"{DAYS[opening.weekday()][:3]} 12:00-18:00"},
                     env=clock_at(opening - timedelta(seconds=4)))
    alice, bob = desk.agent("alice"), desk.agent("bob")
    carol.send(QUEUE, "Is anyone there?")
    await carol.expect(exact(f"{OFFLINE_TEXT} We open again today at 12:00 (UTC)."),
                       frm=QUEUE)
    assert desk.conversation(1)["state"] == "offline"

    await desk.r.wait_for_log_async("queue support is open; 1 contacts came while it was "
                                    "closed, 1 offline tasks open", timeout=8)
    told = ("Support is open. 1 contact who wrote while it was closed waits as follow-up "
            "tasks of the queue.")
    await alice.expect(exact(told), frm=COMPONENT_JID)
    row = desk.conversation(1)
    assert (row["state"], row["close_reason"], row["agent_jid"]) == ("closed", "offline", None)
    assert len(desk.rows("SELECT * FROM summaries WHERE conversation_id = 1")) == 1
    assert [t[1:4] for t in offline_rows(desk)] == [(QUEUE, "offline", "open")]  # stays
    await carol.no_message(0.3)              # the customer is not told
    await bob.no_message(0)                  # not free

    mark = desk.r.log_mark()
    bob.set_presence(None)
    await desk.seen_as("bob", "available", since=mark)
    await bob.expect(exact(told), frm=COMPONENT_JID)

    dave = await desk.customer("dave")       # the queue now routes as usual
    dave.send(QUEUE, "hello")
    await dave.expect(exact(GREETING), frm=QUEUE)
    await dave.expect(exact(ASSIGNED), frm=QUEUE)
    header = await alice.expect("New chat #2 from dave@localhost")
    alice.send(header["from"].bare, "/close")    # free again: but she was told already
    await alice.expect("closed. Summary:", frm=header["from"].bare)
    await alice.no_message(0.5, frm=COMPONENT_JID)
    await bob.no_message(0, frm=COMPONENT_JID)


async def test_customer_writing_again_after_the_opening_gets_a_normal_chat(desk):
    """The offline conversation ended at the opening; the new message starts a new chat."""
    opening = today_at(12)
    carol = await desk.customer("carol")
    await desk.start(agents=["alice"],
                     queue={"hours": f"{DAYS[opening.weekday()][:3]} 12:00-18:00"},
                     env=clock_at(opening - timedelta(seconds=4)))
    alice = desk.agent("alice")
    carol.send(QUEUE, "Written while closed")
    await carol.expect(OFFLINE_TEXT, frm=QUEUE)
    await desk.r.wait_for_log_async("queue support is open", timeout=8)
    await alice.expect("Support is open.", frm=COMPONENT_JID)

    carol.send(QUEUE, "Written after the opening")
    await carol.expect(exact(GREETING), frm=QUEUE)
    header = await alice.expect("New chat #2 from carol@localhost")
    await alice.expect(exact("Written after the opening"), frm=header["from"].bare)
    await carol.expect(exact(ASSIGNED), frm=QUEUE)
    alice.send(header["from"].bare, "Hello Carol")
    await carol.expect(exact("Hello Carol"), frm=QUEUE)
    rows = desk.rows("SELECT id, state, close_reason, agent_jid FROM conversations ORDER BY id")
    assert [tuple(r.values()) for r in rows] == [(1, "closed", "offline", None),
                                                 (2, "active", None, ALICE)]
    assert [t[0] for t in offline_rows(desk)] == [1]     # no second task


def test_bad_hours_closed_dates_and_time_zone_are_refused(respa):
    base = ("[component]\njid = support.localhost\nsecret = s\n"
            "[queue support]\nagents = alice@localhost\n")
    text = base + ("hours = Mon-Fri 09:00-25:00\n"        # line 6
                   "closed = 2026-02-30\n"                # line 7
                   "timezone = Mars/Olympus\n")           # line 8
    r = respa(raw_config=text, start=False)
    res = r.check_config()
    assert res.returncode == 1 and res.stdout == ""
    path = r.config_path
    assert res.stderr.splitlines() == [
        f'{path}:6: hours: bad time "25:00" (use HH:MM)',
        f'{path}:7: closed: bad date "2026-02-30"',
        f'{path}:8: unknown time zone "Mars/Olympus" (use a name such as Europe/Helsinki)',
    ]
    cases = {
        "hours = Mon-Fry 09:00-17:00": 'unknown day "Fry"',
        "hours = Mon-Fri 09:00": 'time range "09:00" has no end',
        "hours = 09:00-17:00": "days missing before",
        "hours = Mon-Fri": 'no time range after "Mon-Fri"',
        "hours = Mon 10:00-10:00": "empty time range 10:00-10:00",
        "hours = always, Mon 09:00-10:00": '"always" stands alone',
        "hours = Mon 09:00-17:00,, Tue 09:00-17:00": "empty group",
        "closed = 24.12.": 'bad date "24.12."',
        "closed = 13-01": 'bad date "13-01"',
    }
    for line, what in cases.items():
        r = respa(raw_config=base + line + "\n", start=False)
        res = r.check_config()
        assert res.returncode == 1, line
        assert res.stderr.startswith(f"{r.config_path}:6: ") and what in res.stderr, (
            line, res.stderr)
    good = base + ("hours = Mon-Fri 09:00-12:00 13:00-17:00, Sat 10:00-14:00\n"
                   "closed = 2026-12-24 12-31\ntimezone = Europe/Helsinki\n")
    res = respa(raw_config=good, start=False).check_config()
    assert (res.returncode, res.stdout) == (0, "configuration OK\n"), res.stderr


async def test_offline_chat_left_open_by_a_failed_opening_becomes_a_queued_one(desk):
    """Closing the offline conversations at the opening needs the database; when that
    fails, the conversation stays open, and the customer's next message turns it into a
    normal chat (greeting, routing) with what was written while closed."""
    opening = today_at(12)
    carol = await desk.customer("carol")
    r = await desk.start(agents=["alice"], allow_disk_full=True,
                         queue={"hours": f"{DAYS[opening.weekday()][:3]} 12:00-18:00"},
                         env=clock_at(opening - timedelta(seconds=4)))
    alice = desk.agent("alice")
    carol.send(QUEUE, "Written while closed")
    await carol.expect(OFFLINE_TEXT, frm=QUEUE)
    mark = r.log_mark()
    r.disk_full()
    await r.wait_for_log_async("queue support is open", since=mark, timeout=8)
    await r.wait_for_log_async("the database failed", since=mark)
    r.disk_full(False)
    assert desk.conversation(1)["state"] == "offline"

    carol.send(QUEUE, "Written after the opening")
    await carol.expect(exact(GREETING), frm=QUEUE)
    header = await alice.expect("New chat #1 from carol@localhost")
    await alice.expect(exact("Written while closed"), frm=header["from"].bare)
    await alice.expect(exact("Written after the opening"), frm=header["from"].bare)
    await carol.expect(exact(ASSIGNED), frm=QUEUE)
    alice.send(header["from"].bare, "Hello Carol")
    await carol.expect(exact("Hello Carol"), frm=QUEUE)
    row = desk.conversation(1)
    assert (row["state"], row["agent_jid"], row["close_reason"]) == ("active", ALICE, None)
    assert [t[:4] for t in offline_rows(desk)] == [(1, QUEUE, "offline", "open")]
