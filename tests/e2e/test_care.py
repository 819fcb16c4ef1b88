"""Integration and data care: the [crm] hook gets each closed conversation's record (retried
when it fails, never holding up a chat), `respa export` writes a period as JSON Lines or CSV,
retention deletes old transcripts and keeps summaries, and `respa erase-contact` leaves
nothing of a contact in the database file."""
import asyncio
import csv
import io
import json
import os
import re
import stat
import subprocess
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from desk import CLOSED, QUEUE, conv_id, exact
from harness import Respa
from test_channels import GATEWAY, Gateway, gateway_desk

ALICE = "alice@localhost"
DAY = 86400


# --- helpers ------------------------------------------------------------------------------
def hook_script(tmp_path: Path, body: str, name: str = "hook.sh") -> Path:
    """An executable sh script in the test's directory. $OUT is where it writes: each run
    numbers itself (N) from $OUT/count."""
    out = tmp_path / "hook-out"
    out.mkdir(exist_ok=True)
    script = tmp_path / name
    script.write_text(f"""#!/bin/sh
OUT={out}
N=$(( $(cat "$OUT/count" 2>/dev/null || echo 0) + 1 ))
echo $N > "$OUT/count"
{body}
""")
    script.chmod(0o755)
    return script


def saved_records(tmp_path: Path) -> dict[int, dict]:
    """The records the hook saved (whole ones), by run number."""
    found = {}
    for path in (tmp_path / "hook-out").glob("record-*.json"):
        try:
            found[int(path.stem.split("-")[1])] = json.loads(path.read_text())
        except ValueError:      # still being written
            pass
    return found


async def wait_for(cond, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not (value := cond()):
        assert time.monotonic() < deadline, f"timed out after {timeout}s waiting for {what}"
        await asyncio.sleep(0.05)
    return value


def respa_cli(r: Respa, *args) -> subprocess.CompletedProcess:
    res = subprocess.run([str(r.binary), *args], capture_output=True, text=True, timeout=60,
                         env=r.env)
    with open(r.log_path, "a") as log:   # teardown looks here for sanitizer reports too
        log.write(f"$ respa {' '.join(args)} => exit {res.returncode}\n{res.stderr}")
    return res


def export(r: Respa, *args) -> subprocess.CompletedProcess:
    return respa_cli(r, "export", "-c", str(r.config_path), *args)


def export_jsonl(r: Respa, *args) -> list[dict]:
    res = export(r, *args)
    assert res.returncode == 0, res.stderr
    assert res.stdout == "" or res.stdout.endswith("\n")
    return [json.loads(line) for line in res.stdout.splitlines()]


def erase(r: Respa, contact: str) -> subprocess.CompletedProcess:
    return respa_cli(r, "erase-contact", "-c", str(r.config_path), contact)


async def chat_and_close(desk, customer, text: str, reply: str, summary: str,
                         tag: str = "billing") -> int:
    alice = desk.agent("alice")
    conv = await desk.open_chat(customer, alice, text)
    alice.send(conv, reply)
    await customer.expect(exact(reply), frm=QUEUE)
    alice.send(conv, f"/tag {tag}")
    await alice.expect("Tagged:", frm=conv)
    alice.send(conv, f"/close {summary}")
    await alice.expect(f"Chat #{conv_id(conv)} closed", frm=conv)
    await customer.expect(CLOSED, frm=QUEUE)
    return conv_id(conv)


def day(offset_days: float = 0) -> str:
    return (datetime.now(timezone.utc) + timedelta(days=offset_days)).strftime("%Y-%m-%d")


def db_bytes(r: Respa) -> bytes:
    """The database file and its WAL, as they are on disk now."""
    data = b""
    for suffix in ("", "-wal"):
        path = Path(f"{r.db_path}{suffix}")
        if path.exists():
            data += path.read_bytes()
    return data


# --- the hook -------------------------------------------------------------------------------
async def test_hook_gets_the_closed_conversations_record_as_json(desk, tmp_path):
    hook = hook_script(tmp_path, """
echo "$@" > "$OUT/args"
echo "the hook says hello"
cat > "$OUT/record-$N.json" """)
    r = await desk.start(extra={"crm": {"hook": f"{hook} --flag  two"}})
    bob = await desk.customer("bob")
    n = await chat_and_close(desk, bob, "Hi, my invoice is \"wrong\"", "Let me look, Bob",
                             "Fixed the invoice")
    records = await wait_for(lambda: saved_records(tmp_path), 10, "the hook's record")
    await r.wait_for_log_async(f"conversation {n} delivered")
    assert list(records) == [1]
    rec = records[1]
    assert rec["id"] == n and rec["state"] == "closed" and rec["close_reason"] == "agent"
    assert rec["queue"] == "support" and rec["channel"] == "xmpp"
    assert rec["agent_jid"] == ALICE and rec["customer_jid"] == bob.full_jid
    assert "Fixed the invoice" in rec["summary"] and rec["resolved"] is True
    assert rec["tags"] == ["billing"]
    assert [(m["direction"], m["from"], m["body"]) for m in rec["transcript"]] == [
        ("in", bob.full_jid, 'Hi, my invoice is "wrong"'),
        ("out", ALICE, "Let me look, Bob")]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", m["at"])
               for m in rec["transcript"])
    assert {"kind": "jid", "value": "bob@localhost"} in rec["contact"]["identities"]
    assert rec["closed_at"] and rec["created_at"] <= rec["closed_at"]
    assert isinstance(rec["tasks"], list) and rec["transcript_deleted_at"] is None
    # the same object as export's line
    assert export_jsonl(r) == [rec]
    assert desk.rows("SELECT count(*) AS n FROM hook_deliveries")[0]["n"] == 0
    assert (tmp_path / "hook-out" / "args").read_text() == "--flag two\n"
    assert "the hook says hello" in r.log_text()      # its output goes to respa's log


@pytest.mark.timeout(90)
async def test_failing_hook_is_retried_and_never_holds_up_a_chat(desk, tmp_path):
    # run 1 hangs (killed at hook_timeout), run 2 fails, run 3 takes the record
    hook = hook_script(tmp_path, """
cat > "$OUT/record-$N.json"
case $N in
1) sleep 60 ;;
2) exit 3 ;;
esac
exit 0""")
    r = await desk.start(extra={"crm": {"hook": hook, "hook_timeout": 5, "hook_retries": 4}},
                         env={"RESPA_HOOK_BACKOFF": "1"})
    alice = desk.agent("alice")
    bob, carol = await desk.customer("bob"), await desk.customer("carol")
    n = await chat_and_close(desk, bob, "first chat", "first answer", "First one")
    await wait_for(lambda: 1 in saved_records(tmp_path), 10, "the first run")

    # while the hook hangs, another chat goes on as usual
    started = time.monotonic()
    conv = await desk.open_chat(carol, alice, "are you there?")
    for i in range(3):
        alice.send(conv, f"yes {i}")
        await carol.expect(exact(f"yes {i}"), frm=QUEUE, timeout=2)
        carol.send(QUEUE, f"thanks {i}")
        await alice.expect(exact(f"thanks {i}"), frm=conv, timeout=2)
    assert time.monotonic() - started < 4
    assert "hook_timeout" not in r.log_text()      # the hook was still hanging all along

    await r.wait_for_log_async(re.compile(
        rf"conversation {n}: no exit within hook_timeout \(5 s\): killed \(attempt 1 of 5\); "
        r"trying again in 1 s"))
    await r.wait_for_log_async(f"conversation {n}: exited 3 (attempt 2 of 5)")
    await r.wait_for_log_async(f"conversation {n} delivered")
    records = saved_records(tmp_path)
    assert sorted(records) == [1, 2, 3]
    assert all(rec["id"] == n and rec["summary"] == "First one" for rec in records.values())
    assert desk.rows("SELECT count(*) AS n FROM hook_deliveries")[0]["n"] == 0
    assert not list(tmp_path.glob("hook-out/record-4.json"))


async def test_hook_deliveries_wait_across_a_restart(desk, tmp_path):
    hook = hook_script(tmp_path, 'cat > "$OUT/record-$N.json"')
    hook.chmod(0o644)                              # not executable yet
    r = await desk.start(extra={"crm": {"hook": hook, "hook_retries": 1000}},
                         env={"RESPA_HOOK_BACKOFF": "1"})
    bob = await desk.customer("bob")
    n = await chat_and_close(desk, bob, "a question", "an answer", "Answered")
    await r.wait_for_log_async(re.compile(
        rf"hook {re.escape(str(hook))}: conversation {n}: cannot run it: Permission denied "
        r"\(attempt 2 of 1001\)"))
    row = desk.rows("SELECT * FROM hook_deliveries")[0]
    assert row["conversation_id"] == n and row["status"] == "pending"
    assert row["attempts"] >= 2 and "Permission denied" in row["last_error"]
    r.stop()
    hook.chmod(0o755)
    r.start()
    r.wait_ready()
    await r.wait_for_log_async(f"conversation {n} delivered")
    assert [rec["id"] for rec in saved_records(tmp_path).values()] == [n]


async def test_a_hook_that_keeps_failing_is_given_up(desk, tmp_path):
    hook = hook_script(tmp_path, "exit 1")
    r = await desk.start(extra={"crm": {"hook": hook, "hook_retries": 1}},
                         env={"RESPA_HOOK_BACKOFF": "1"})
    bob = await desk.customer("bob")
    n = await chat_and_close(desk, bob, "hello", "hi", "Greeted")
    await r.wait_for_log_async(f"conversation {n}: exited 1; giving up after 2 attempts")
    row = desk.rows("SELECT * FROM hook_deliveries")[0]
    assert (row["status"], row["attempts"], row["next_at"]) == ("failed", 2, None)
    await asyncio.sleep(1.5)
    assert (tmp_path / "hook-out" / "count").read_text().strip() == "2"


# --- export ---------------------------------------------------------------------------------
async def test_export_a_period_as_json_lines_and_csv(desk, tmp_path):
    # one chat closed ten days ago (respa's clock shifted back), one today, one still open
    r = await desk.start(env={"RESPA_TIME_OFFSET": str(-10 * DAY)})
    alice = desk.agent("alice")
    bob, carol = await desk.customer("bob"), await desk.customer("carol")
    old = await chat_and_close(desk, bob, "old question, with a comma", "old answer",
                               "The old one", tag="shipping")
    r.env.pop("RESPA_TIME_OFFSET")
    r.restart()
    await desk.seen_as("alice", "available", since=0)
    new = await chat_and_close(desk, bob, 'new "quoted" question\nover two lines',
                               "new answer", "The new one")
    conv = await desk.open_chat(carol, alice, "still talking")
    still = conv_id(conv)

    everything = export_jsonl(r)
    assert [rec["id"] for rec in everything] == [old, new]       # closed, oldest first
    assert [rec["id"] for rec in export_jsonl(r, "--open")] == [old, new, still]
    assert [rec["id"] for rec in export_jsonl(r, "--since", day(-2))] == [new]
    assert [rec["id"] for rec in export_jsonl(r, "--until", day(-5))] == [old]
    assert [rec["id"] for rec in export_jsonl(r, "--since", day(-11), "--until", day(-9))] == \
        [old]
    assert export_jsonl(r, "--since", day(-9), "--until", day(-2)) == []
    assert [rec["id"] for rec in export_jsonl(r, "--until", day(0))] == [old, new]  # whole day
    stamp = (datetime.now(timezone.utc) - timedelta(days=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert [rec["id"] for rec in export_jsonl(r, "--since", stamp, "--open")] == [new, still]
    rec = everything[1]
    assert [m["body"] for m in rec["transcript"]] == [
        'new "quoted" question\nover two lines', "new answer"]
    assert rec["summary"] == "The new one" and rec["tags"] == ["billing"]
    assert everything[0]["tags"] == ["shipping"]

    out = tmp_path / "export.csv"
    res = export(r, "--format", "csv", "--open", "-o", str(out))
    assert res.returncode == 0 and res.stdout == "", res.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600            # customers' data
    text = out.read_bytes().decode()
    assert text.endswith("\r\n")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert [int(row["id"]) for row in rows] == [old, new, still]
    assert list(rows[0])[:5] == ["id", "queue", "entry_queue", "channel", "state"]
    for column in ("customer_jid", "agent_jid", "contact_id", "contact_phone", "summary", "tags",
                   "tasks", "transcript", "transcript_deleted_at", "resolved"):
        assert column in rows[0]
    lines = rows[1]["transcript"].split("\n")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ in bob@localhost/\S+: "
                        r'new "quoted" question', lines[0]), lines
    assert lines[1] == "over two lines" and lines[2].endswith(f" out {ALICE}: new answer")
    assert ": old question, with a comma\n" in rows[0]["transcript"]
    assert (rows[1]["summary"], rows[1]["tags"], rows[1]["resolved"]) == ("The new one",
                                                                          "billing", "1")
    assert rows[2]["state"] == "active" and rows[2]["closed_at"] == ""
    assert rows[2]["transcript"].endswith(": still talking")
    res = export(r, "--format", "csv", "--since", day(-2))
    assert [int(row["id"]) for row in csv.DictReader(io.StringIO(res.stdout, newline=""))] == \
        [new]


async def test_export_csv_neutralises_formula_cells(desk):
    # a summary (or anything a customer types) that a spreadsheet would run as a formula
    r = await desk.start()
    bob = await desk.customer("bob")
    n = await chat_and_close(desk, bob, "@SUM(A1:A9) hello", "Hi Bob",
                             '=HYPERLINK("http://evil.example","click"), refunded')

    def only_row(*args) -> dict:
        res = export(r, "--format", "csv", *args)
        assert res.returncode == 0, res.stderr
        rows = list(csv.DictReader(io.StringIO(res.stdout, newline="")))
        assert [int(row["id"]) for row in rows] == [n]
        return rows[0]

    row = only_row()
    assert row["summary"] == '\'=HYPERLINK("http://evil.example","click"), refunded'
    assert row["transcript"].split(": ", 1)[1].startswith("@SUM(A1:A9) hello")  # not a cell start
    assert row["agent_jid"] == ALICE and row["id"] == str(n)    # plain cells as they are
    raw = only_row("--raw-csv")
    assert raw["summary"] == '=HYPERLINK("http://evil.example","click"), refunded'
    res = export(r, "--raw-csv")
    assert res.returncode == 2 and "--raw-csv needs --format csv" in res.stderr


def test_export_errors(respa, tmp_path):
    r = respa()
    res = export(r, "--since", "2026-13-01")
    assert res.returncode == 2 and res.stdout == ""
    assert '--since: bad date "2026-13-01" (use YYYY-MM-DD' in res.stderr
    res = export(r, "--until", "yesterday")
    assert res.returncode == 2 and '--until: bad date "yesterday"' in res.stderr
    res = export(r, "--frobnicate")
    assert res.returncode == 2 and "unrecognized option '--frobnicate'" in res.stderr
    assert "usage: respa export" in res.stderr
    res = export(r, "--format", "xml")
    assert res.returncode == 2 and '"xml" is neither jsonl nor csv' in res.stderr
    res = export(r, "--since", "2026-11-02", "--until", "2026-11-01")
    assert res.returncode == 2 and "--until must come after --since" in res.stderr
    res = export(r, "extra")
    assert res.returncode == 2
    res = respa_cli(r, "export", "--help")
    assert res.returncode == 0 and res.stdout.startswith("usage: respa export")
    assert "exit status" in res.stdout and "--raw-csv" in res.stdout
    res = respa_cli(r, "--help")
    assert "respa export" in res.stdout and "respa erase-contact" in res.stdout
    res = export(r, "-o", str(tmp_path / "no" / "such" / "dir.jsonl"))
    assert res.returncode == 1 and "No such file or directory" in res.stderr
    assert export(r).returncode == 0                  # an empty desk: nothing, exit 0

    missing = respa(config={"storage": {"database": tmp_path / "nope.db"}}, start=False)
    missing.write_config()
    res = export(missing)
    assert res.returncode == 1 and "nope.db: unable to open database file" in res.stderr
    assert not (tmp_path / "nope.db").exists()       # read-only: nothing created
    garbage = respa(start=False)
    garbage.write_config()
    garbage.db_path.write_bytes(b"not a database " * 500)
    res = export(garbage)
    assert res.returncode == 1 and "not a database" in res.stderr


# --- retention ------------------------------------------------------------------------------
async def test_retention_deletes_old_transcripts_and_keeps_summaries(desk):
    r = await desk.start(extra={"crm": {"retention_days": 7}})
    bob, carol = await desk.customer("bob"), await desk.customer("carol")
    old = await chat_and_close(desk, bob, "an old secret question", "an old answer", "Old one")
    assert "retention" not in r.log_text()
    assert len(desk.transcript(old)) == 2

    r.env["RESPA_TIME_OFFSET"] = str(8 * DAY)           # eight days later
    r.restart()
    await r.wait_for_log_async("retention: deleted the transcripts of 1 conversation closed "
                               "before")
    await desk.seen_as("alice", "available", since=0)
    new = await chat_and_close(desk, carol, "a new question", "a new answer", "New one")
    assert desk.transcript(old) == []
    assert len(desk.transcript(new)) == 2
    row = desk.conversation(old)
    assert row["transcript_deleted_at"] is not None and row["state"] == "closed"
    assert desk.conversation(new)["transcript_deleted_at"] is None
    summary = desk.rows("SELECT * FROM summaries WHERE conversation_id = ?", old)[0]
    assert summary["summary"] == "Old one" and summary["tags"] == "billing"
    assert desk.rows("SELECT tag FROM conversation_tags WHERE conversation_id = ?", old) == \
        [{"tag": "billing"}]
    rec = [x for x in export_jsonl(r) if x["id"] == old][0]
    assert rec["transcript"] == [] and rec["summary"] == "Old one"
    assert rec["transcript_deleted_at"] == row["transcript_deleted_at"]


# --- erasure --------------------------------------------------------------------------------
async def test_erase_contact_leaves_nothing_of_them_in_the_file(desk, tmp_path):
    gw = await gateway_desk(desk)
    try:
        r, alice = desk.r, desk.agent("alice")
        phone, secret = "+15551234567", "my secret order 4711 for Springfield"
        full = f"{phone}@{GATEWAY}/bridge"
        gw.send(phone, secret)
        header = await alice.expect("New chat #")
        gone = header["from"].bare
        await alice.expect(exact(secret), frm=gone)
        alice.send(gone, "a reply about order 4711")
        await gw.expect("a reply about order 4711", to=full)
        alice.send(gone, "/close Order question")
        await gw.expect(CLOSED, to=full)
        carol = await desk.customer("carol")
        kept = await chat_and_close(desk, carol, "carol keeps her parcel text", "ok carol",
                                    "Parcel")
        dave = await desk.customer("dave")
        open_conv = await desk.open_chat(dave, alice, "dave is still chatting")

        # dave's chat is open while respa runs: refused, nothing changed
        res = erase(r, "dave@localhost")
        assert res.returncode == 4, res.stderr
        assert "open conversation" in res.stderr and "respa is running" in res.stderr
        assert "!close" in res.stderr and "stop respa" in res.stderr
        assert desk.conversation(open_conv)["contact_id"] is not None

        assert erase(r, "nobody@localhost").returncode == 3
        before = db_bytes(r)
        assert secret.encode() in before or phone.encode() in before

        res = erase(r, "+1 555 123 4567")            # as someone would write it
        assert res.returncode == 0, res.stderr
        assert re.match(r"erased contact \d+: 1 conversation, 2 messages, \d+ tasks?, "
                        r"2 identities", res.stdout), res.stdout
        data = db_bytes(r)
        for needle in (secret, "order 4711", phone, phone[1:], f"{phone}@{GATEWAY}",
                       "Order question"):
            assert needle.encode() not in data, needle
        assert b"carol keeps her parcel text" in data and b"carol@localhost" in data
        assert desk.rows("SELECT count(*) AS n FROM conversations WHERE id = ?",
                         conv_id(gone))[0]["n"] == 0
        assert desk.transcript(kept)[0][2] == "carol keeps her parcel text"

        # respa goes on: the open chat, and the erased customer writing again is a new contact
        alice.send(open_conv, "still here")
        await dave.expect(exact("still here"), frm=QUEUE)
        gw.messages.items.clear()                    # what the first chat left unclaimed
        gw.send(phone, "hello again")
        await gw.expect("An agent has joined", to=full)
        assert erase(r, phone).returncode == 4       # a new contact, with an open chat

        # with respa stopped, an open conversation is erased too and is gone after a start
        r.stop()
        res = erase(r, "dave@localhost")
        assert res.returncode == 0, res.stderr
        assert b"dave is still chatting" not in db_bytes(r)
        r.start()
        r.wait_ready()
        assert desk.rows("SELECT count(*) AS n FROM conversations WHERE id = ?",
                         conv_id(open_conv))[0]["n"] == 0
    finally:
        await gw.stop()


def test_erase_contact_usage_and_lock(respa, tmp_path):
    r = respa()
    res = respa_cli(r, "erase-contact", "-c", str(r.config_path))
    assert res.returncode == 2 and "usage: respa erase-contact" in res.stderr
    res = respa_cli(r, "erase-contact", "--help")
    assert res.returncode == 0 and "exit status" in res.stdout
    assert erase(r, "17").returncode == 3             # no contact 17
    # one respa per database: a second one is refused before it touches anything
    second = respa(raw_config=r.config_path.read_text(), wait=False,
                   workdir=tmp_path / "second")
    assert second.wait_exit() == 1
    assert "is in use by another respa" in second.log_text()
    assert r.running
