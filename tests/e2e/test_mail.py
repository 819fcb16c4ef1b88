"""Mail: the customer's transcript by email, /handoff and task reminders by email, and the
outbox that survives a mail system that is down, a mail program that is missing or hangs,
and a respa restart. Real parts: msmtp as [mail] sendmail, talking SMTP to aiosmtpd on a
free loopback port (mailsink.py); what arrives is read with Python's email package."""
import asyncio
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from adhoc import Commander
from desk import CLOSED, GREETING, QUEUE, conv_id, exact
from mailsink import MailSink
from test_care import erase

ALICE = "alice@localhost"
TITLE = "Tuki Äänekoski"          # the queue's title: From's name and the agents' lines
TZ = "Europe/Helsinki"
QUESTION = "Would you like a copy of this chat by email to"


@pytest.fixture
def sink(tmp_path):
    s = MailSink(tmp_path)
    s.start()
    yield s
    s.stop()


def mail_conf(sink, **mail):
    return {"mail": {"sendmail": sink.sendmail, "from": "support@example.com", **mail}}


async def start(desk, sink, queue=None, extra=None, mail=None, **kw):
    return await desk.start(
        queue={"name": TITLE, "greeting": GREETING, "timezone": TZ, **(queue or {})},
        extra={**mail_conf(sink, **(mail or {})), "admin": {"jids": "admin@localhost"},
               **(extra or {})}, **kw)


async def chat(desk, customer, text, answers=(), note=None):
    """A chat answered by alice (with a private note), closed by her: its id."""
    alice = desk.agent("alice")
    conv = await desk.open_chat(customer, alice, text)
    for a in answers:
        alice.send(conv, a)
        await customer.expect(exact(a), frm=QUEUE)
    if note:
        alice.send(conv, f"/note {note}")
        await alice.expect("Note saved", frm=conv)
    alice.send(conv, "/close Answered")
    await alice.expect("closed. Summary:", frm=conv)
    await customer.expect(CLOSED, frm=QUEUE)
    return conv_id(conv)


def body(msg) -> str:
    return msg.get_content()


def head(msg) -> bytes:
    """The header block as it arrived (SMTP lines end in CR LF)."""
    return msg.raw.replace(b"\r\n", b"\n").split(b"\n\n")[0] + b"\n"


def local_hm(desk, cid, direction):
    """The local HH:MM of each message of a conversation in one direction."""
    out = []
    for row in desk.rows("SELECT created_at FROM messages WHERE conversation_id = ? AND "
                         "direction = ? ORDER BY id", cid, direction):
        t = datetime.strptime(row["created_at"], "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=ZoneInfo("UTC"))
        out.append(t.astimezone(ZoneInfo(TZ)).strftime("%H:%M"))
    return out


async def test_transcript_offered_and_sent_with_finnish_text_and_no_jid_or_note(desk, sink):
    await start(desk, sink)
    bob = await desk.customer("bob")
    cid = await chat(desk, bob, "Hei! Sähköpostini on bob@example.com, kysyn laskusta",
                     answers=["Hyvää päivää! Lasku on nyt korjattu: öljy, äes ja åra.",
                              "Toinen rivi\nja kolmas rivi"],
                     note="secret note: customer seems upset")
    q = await bob.expect(QUESTION, frm=QUEUE)
    assert "bob@example.com" in q["body"] and "yes or no" in q["body"]
    bob.send(QUEUE, "Kyllä!")
    await bob.expect("a copy of the chat is on its way to bob@example.com", frm=QUEUE)
    msg = await sink.wait_for(lambda m: m["To"].addresses[0].addr_spec == "bob@example.com")
    # the headers, read back by Python's email package
    assert msg["From"].addresses[0].display_name == TITLE
    assert msg["From"].addresses[0].addr_spec == "support@example.com"
    assert TITLE in str(msg["Subject"])
    assert msg["Date"].datetime is not None and msg["Date"].datetime.utcoffset() is not None
    assert re.fullmatch(r"<[0-9a-f]{32}@example\.com>", msg["Message-ID"])
    assert msg["MIME-Version"] == "1.0"
    assert msg.get_content_type() == "text/plain" and msg.get_content_charset() == "utf-8"
    assert msg["Content-Transfer-Encoding"] == "quoted-printable"
    assert msg.rcpt == ["bob@example.com"]
    # on the wire it is 7-bit: encoded-words in the headers, quoted-printable below
    assert all(b < 128 for b in msg.raw)
    assert b"=?UTF-8?B?" in head(msg)
    assert max(len(line) for line in msg.raw.split(b"\r\n")) <= 78
    text = body(msg)
    customer_at, agent_at = local_hm(desk, cid, "in"), local_hm(desk, cid, "out")
    assert (f"[{customer_at[0]}] You: Hei! Sähköpostini on bob@example.com, kysyn laskusta"
            in text)
    assert (f"[{agent_at[0]}] {TITLE}: Hyvää päivää! Lasku on nyt korjattu: öljy, äes ja åra."
            in text)
    assert f"[{agent_at[1]}] {TITLE}: Toinen rivi\n    ja kolmas rivi" in text
    assert f"({TZ})" in text
    assert ALICE not in text and "alice" not in msg.raw.decode()
    assert "secret note" not in text
    # the answer opened no new chat; the mail left the outbox
    assert len(desk.rows("SELECT id FROM conversations")) == 1
    await wait_rows(desk, "SELECT id FROM mail_outbox", 0)


async def wait_rows(desk, sql, n, timeout=10.0):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while len(rows := desk.rows(sql)) != n:
        assert loop.time() < deadline, f"{sql}: {rows}"
        await asyncio.sleep(0.05)
    return rows


async def test_transcript_no_another_address_and_a_reply_that_is_no_answer(desk, sink):
    await start(desk, sink)
    bob = await desk.customer("bob")
    await chat(desk, bob, "my email: bob@example.com", answers=["ok"])
    await bob.expect(QUESTION, frm=QUEUE)
    bob.send(QUEUE, "no")
    await bob.expect("no copy will be sent", frm=QUEUE)
    # another chat: the customer writes another address to send it to
    await chat(desk, bob, "again", answers=["hello again"])
    await bob.expect(QUESTION, frm=QUEUE)
    bob.send(QUEUE, "please send it to Bob.Work@Example.org")
    await bob.expect("on its way to bob.work@example.org", frm=QUEUE)
    msg = await sink.wait_for()
    assert msg.rcpt == ["bob.work@example.org"] and "hello again" in body(msg)
    assert "my email" not in body(msg)          # only this chat's lines
    # a third: the reply answers nothing, so it is a new message, as without the question
    await chat(desk, bob, "third", answers=["yes?"])
    await bob.expect(QUESTION, frm=QUEUE)
    bob.send(QUEUE, "actually I have another question")
    await bob.expect(GREETING, frm=QUEUE)
    await desk.agent("alice").expect("New chat #4")
    await desk.agent("alice").expect(exact("actually I have another question"))
    assert len(desk.rows("SELECT id FROM conversations")) == 4
    # no email known: no question
    carol = await desk.customer("carol")
    await chat(desk, carol, "no address here", answers=["fine"])
    await carol.no_message(1.0, frm=QUEUE)
    assert len(sink.messages()) == 1


async def test_transcript_always_never_and_a_name_with_quotes_and_a_line_break(desk, sink):
    await start(desk, sink, queue={"transcript": "always"})
    alice = desk.agent("alice")
    bob = await desk.customer("bob")
    conv = await desk.open_chat(bob, alice, "hello")
    # the agent fills in a name with quotes and a line break that tries to add a header
    alice.send(conv, '/contact name=Bob "Bobby" Smith\nBcc: evil@example.com '
                     'email=bob@example.com')
    await alice.expect("Contact", frm=conv)
    alice.send(conv, "answer")
    await bob.expect(exact("answer"), frm=QUEUE)
    alice.send(conv, "/close done")
    await bob.expect(CLOSED, frm=QUEUE)
    msg = await sink.wait_for()
    assert msg.rcpt == ["bob@example.com"]
    to = msg["To"].addresses[0]
    assert to.addr_spec == "bob@example.com"
    assert to.display_name == 'Bob "Bobby" Smith Bcc: evil@example.com'
    assert "Bcc" not in msg and b"\nBcc:" not in head(msg)
    await bob.no_message(0.5, frm=QUEUE)        # always: no question asked


async def test_transcript_never(desk, sink):
    await start(desk, sink, queue={"transcript": "never"})
    bob = await desk.customer("bob")
    await chat(desk, bob, "mail me at bob@example.com", answers=["sure"])
    await bob.no_message(1.0, frm=QUEUE)
    assert desk.rows("SELECT count(*) AS n FROM mail_outbox")[0]["n"] == 0


async def test_a_200_kb_transcript(desk, sink):
    await start(desk, sink, queue={"transcript": "always"},
                extra={"limits": {"message_burst": 200, "messages_per_minute": 6000}})
    alice = desk.agent("alice")
    bob = await desk.customer("bob")
    conv = await desk.open_chat(bob, alice, "bob@example.com here")
    line = "Pitkä rivi äöå " * 300                  # 5100 bytes
    for i in range(40):
        bob.send(QUEUE, f"{i:02d} {line}")
    await desk.stored(41, timeout=30)
    alice.send(conv, "read it all")
    await bob.expect(exact("read it all"), frm=QUEUE)
    alice.send(conv, "/close long")
    await bob.expect(CLOSED, frm=QUEUE)
    msg = await sink.wait_for(timeout=30)
    text = body(msg)
    assert len(text.encode()) > 200_000
    for i in range(40):
        assert f"You: {i:02d} {line.rstrip()}" in text
    assert max(len(l) for l in msg.raw.split(b"\n")) <= 78


async def test_handoff_by_email_to_a_person_and_by_xmpp_to_an_online_agent(desk, sink):
    await start(desk, sink, agents=["alice", "carol"],
                extra={"person sales-anna": {"email": "anna@example.com"},
                       "agent carol@localhost": {"email": "carol@example.com"}})
    alice, carol = desk.agent("alice"), desk.agent("carol")
    bob = await desk.customer("bob")
    conv = await desk.open_chat(bob, alice, "I want 500 licences, Äänekoski office")
    alice.send(conv, "/contact name=Bob Äijälä email=bob@example.com")
    await alice.expect("Contact", frm=conv)
    alice.send(conv, "/note internal: big deal")
    await alice.expect("Note saved", frm=conv)
    alice.send(conv, "Our sales team will call you")
    await bob.expect(exact("Our sales team will call you"), frm=QUEUE)
    # a [person] with only an email: by mail; the text tries to add a header
    alice.send(conv, "/handoff sales-anna tomorrow 10:00 Quote\nBcc: evil@example.com")
    ok = await alice.expect("handed to sales-anna", frm=conv)
    assert "they were told" in ok["body"]
    msg = await sink.wait_for()
    assert msg.rcpt == ["anna@example.com"]
    assert "Bcc" not in msg and b"\nBcc:" not in head(msg)
    assert "Quote Bcc: evil@example.com" in str(msg["Subject"])
    text = body(msg)
    task = desk.rows("SELECT * FROM tasks")[0]
    assert task["assignee_jid"] == "anna@example.com" and task["kind"] == "handoff"
    assert f"task {task['id']}, due " in text and "10:00 (Europe/Helsinki)" in text
    assert "Summary so far: Bob Äijälä (bob@localhost) wrote to" in text
    assert "Bob Äijälä" in text and "bob@example.com" in text          # the contact card
    assert "Bob Äijälä: I want 500 licences, Äänekoski office" in text  # the transcript
    assert f"{TITLE}: Our sales team will call you" in text
    assert "internal: big deal" not in text
    # carol is online: XMPP, no mail
    alice.send(conv, "/handoff carol@localhost Call Bob")
    told = await carol.expect("hands a customer on to you")
    assert "Call Bob" in told["body"] and "Our sales team will call you" in told["body"]
    await asyncio.sleep(1.0)
    assert len(sink.messages()) == 1
    # an unknown name is refused with the reason
    alice.send(conv, "/handoff nobody-here do it")
    await alice.expect('There is no colleague "nobody-here"', frm=conv)


async def test_handoff_and_reminder_by_email_to_an_offline_agent(desk, sink):
    await start(desk, sink, agents=["alice", "carol"], online=["alice"],
                extra={"agent carol@localhost": {"email": "carol@example.com"}})
    alice = desk.agent("alice")
    bob = await desk.customer("bob")
    conv = await desk.open_chat(bob, alice, "contract question")
    alice.send(conv, "/handoff carol@localhost +2s Check the contract")
    await alice.expect("handed to carol@localhost", frm=conv)
    handoff = await sink.wait_for(lambda m: "handed to you" in str(m["Subject"]))
    assert handoff.rcpt == ["carol@example.com"]
    assert "Check the contract" in body(handoff)
    due = await sink.wait_for(lambda m: str(m["Subject"]).startswith("Due now:"), timeout=15)
    assert due.rcpt == ["carol@example.com"] and "Check the contract" in body(due)
    assert desk.rows("SELECT reminded_at FROM tasks")[0]["reminded_at"]


async def test_handoff_mail_always_reaches_an_online_agent_both_ways(desk, sink):
    await start(desk, sink, agents=["alice", "carol"], mail={"handoff_mail": "always"},
                extra={"agent carol@localhost": {"email": "carol@example.com"}})
    alice, carol = desk.agent("alice"), desk.agent("carol")
    bob = await desk.customer("bob")
    conv = await desk.open_chat(bob, alice, "x")
    alice.send(conv, "/handoff carol@localhost Follow up")
    await carol.expect("hands a customer on to you")
    msg = await sink.wait_for()
    assert msg.rcpt == ["carol@example.com"]


@pytest.mark.timeout(120)
async def test_smtp_down_mail_waits_retries_and_survives_a_restart(desk, sink):
    sink.stop()                                              # the mail system is down
    r = await start(desk, sink, queue={"transcript": "always"},
                    env={"RESPA_MAIL_BACKOFF": "1"})
    bob = await desk.customer("bob")
    await chat(desk, bob, "bob@example.com", answers=["answer while SMTP is down"])
    await r.wait_for_log_async(re.compile(r"mail 1: /usr/bin/msmtp: exited \d+ \(attempt 2 of"),
                               timeout=15)
    row = desk.rows("SELECT * FROM mail_outbox")[0]
    assert row["status"] == "pending" and row["attempts"] >= 2 and row["last_error"]
    # the admin sees it waiting, with the error
    admin = Commander(await desk.customer("admin"))
    out = await admin.execute("outbox")
    assert out.status == "completed"
    seen = out.row("to", "bob@example.com")
    assert seen["status"] == "waiting" and seen["error"].startswith("exited")
    assert "1 waiting, 0 failed" in out.note()
    # respa restarts while it is still down; the server comes back: the mail goes out
    r.stop()
    r.start()
    r.wait_ready()
    sink.start()
    msg = await sink.wait_for(timeout=20)
    assert "answer while SMTP is down" in body(msg)
    await r.wait_for_log_async("mail 1 sent")
    await wait_rows(desk, "SELECT id FROM mail_outbox", 0)
    assert len(sink.messages()) == 1


@pytest.mark.timeout(120)
async def test_mail_program_hangs_fails_then_delivers(desk, sink, tmp_path):
    # run 1 hangs past [mail] timeout, run 2 exits 75, run 3 is msmtp
    count = tmp_path / "count"
    script = tmp_path / "sendmail.sh"
    script.write_text(f"""#!/bin/sh
N=$(( $(cat {count} 2>/dev/null || echo 0) + 1 ))
echo $N > {count}
case $N in
1) sleep 60 ;;
2) cat > /dev/null; exit 75 ;;
esac
exec {sink.sendmail} "$@"
""")
    script.chmod(0o755)
    r = await start(desk, sink, queue={"transcript": "always"},
                    mail={"sendmail": f"{script} -t", "timeout": 2},
                    env={"RESPA_MAIL_BACKOFF": "1"})
    bob = await desk.customer("bob")
    alice = desk.agent("alice")
    await chat(desk, bob, "bob@example.com", answers=["first"])
    # the loop goes on while the program hangs
    carol = await desk.customer("carol")
    conv = await desk.open_chat(carol, alice, "still there?")
    alice.send(conv, "yes")
    await carol.expect(exact("yes"), frm=QUEUE, timeout=2)
    await r.wait_for_log_async(re.compile(
        r"mail 1: .*sendmail\.sh: no exit within \[mail\] timeout \(2 s\): killed "
        r"\(attempt 1 of 31\); trying again in 1 s"), timeout=10)
    await r.wait_for_log_async("exited 75 (attempt 2 of 31)", timeout=10)
    msg = await sink.wait_for(timeout=15)
    assert "first" in body(msg)
    assert count.read_text().strip() == "3"


async def test_missing_mail_program_is_given_up_and_shown_failed(desk, sink):
    r = await start(desk, sink, queue={"transcript": "always"},
                    mail={"sendmail": "/nonexistent/sendmail -t -i", "retries": 1},
                    env={"RESPA_MAIL_BACKOFF": "1"})
    bob = await desk.customer("bob")
    await chat(desk, bob, "bob@example.com", answers=["x"])
    await r.wait_for_log_async(re.compile(
        r"mail 1: /nonexistent/sendmail: cannot run it: No such file or directory; giving up "
        r"after 2 attempts"), timeout=10)
    row = desk.rows("SELECT * FROM mail_outbox")[0]
    assert (row["status"], row["attempts"], row["next_at"]) == ("failed", 2, None)
    admin = Commander(await desk.customer("admin"))
    out = await admin.execute("outbox")
    seen = out.row("to", "bob@example.com")
    assert seen["status"] == "failed" and "No such file" in seen["error"]
    assert "0 waiting, 1 failed" in out.note()
    # erasing the contact takes their mail with it, and leaves nothing of it in the file
    res = erase(r, "bob@localhost")
    assert res.returncode == 0, res.stderr
    assert desk.rows("SELECT count(*) AS n FROM mail_outbox")[0]["n"] == 0
    assert b"bob@example.com" not in r.db_path.read_bytes()


async def test_mail_settings_are_checked(respa, tmp_path):
    r = respa(config={"mail": {"from": "not an address", "sendmail": "sendmail -t"},
                      "person x": {}, "queue support": {"transcript": "sometimes"}},
              start=False)
    res = r.check_config()
    assert res.returncode != 0
    out = res.stdout + res.stderr
    assert "from must be an email address" in out
    assert "sendmail must start with the absolute path of a program" in out
    assert "transcript must be offer, always or never" in out


async def test_report_command_mails_the_page_to_the_admin(desk, sink):
    """The admins' report command answers the headline figures and mails the whole page,
    as respa report writes it, attached to a mail to the admin's [person] email."""
    await start(desk, sink, extra={"person boss": {"jid": "admin@localhost",
                                                   "email": "boss@example.com"}})
    bob = await desk.customer("bob")
    await chat(desk, bob, "a question for the report", answers=["an answer"])
    admin = Commander(await desk.customer("admin"))
    r = await admin.run("report", {"period": "7d"})
    assert r.status == "completed" and r.value("total") == "1", r
    assert "mailed to boss@example.com" in r.note()
    msg = await sink.wait_for(lambda m: m["Subject"].startswith("respa report from"))
    assert msg.rcpt == ["boss@example.com"] and msg.get_content_type() == "multipart/mixed"
    text, page = list(msg.iter_parts())
    assert "is attached: respa-report-" in text.get_content()
    assert page.get_content_type() == "text/html" and page.get_content_disposition() == \
        "attachment"
    assert re.fullmatch(r"respa-report-\d{4}-\d\d-\d\d-\d{4}-\d\d-\d\d\.html",
                        page.get_filename())
    html = page.get_content()
    assert html.startswith("<!DOCTYPE html>") and html.endswith("</html>\n")
    assert re.search(r'data-fig="total"[^>]*data-v="1"', html)     # the figure answered
    assert page["Content-Transfer-Encoding"] == "base64"
    await wait_rows(desk, "SELECT id FROM mail_outbox", 0)          # sent and gone


async def test_report_command_without_an_email_says_where_the_file_is(desk, sink):
    await start(desk, sink)                # [mail] set, but respa knows no email of admin's
    admin = Commander(await desk.customer("admin"))
    r = await admin.run("report", {"period": "7d"})
    assert r.status == "completed" and r.value("total") == "0", r
    assert "respa knows no email of yours" in r.note()
    assert f"respa report -c {desk.r.config_path} -o report.html" in r.note()
    await asyncio.sleep(0.5)
    assert sink.messages() == [] and desk.rows("SELECT id FROM mail_outbox") == []


async def test_report_command_without_mail_says_where_the_file_is(desk):
    await desk.start(agents=["alice"], extra={"admin": {"jids": "admin@localhost"},
                                              "person boss": {"jid": "admin@localhost",
                                                              "email": "boss@example.com"}})
    admin = Commander(await desk.customer("admin"))
    r = await admin.run("report", {"period": "7d"})
    assert r.status == "completed" and r.value("total") == "0", r
    assert (f"run respa report -c {desk.r.config_path} -o report.html where respa runs"
            in r.note())
    assert "mailed" not in r.note()
