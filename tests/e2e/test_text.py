"""Valid text everywhere: a cut inside a UTF-8 character once made Prosody close the whole
component stream (not-well-formed). Long texts of multi-byte characters must come out cut
between characters, the link must hold, and text that is not UTF-8 is refused where it
comes in (respa.conf with file:line, forms with a note)."""
import asyncio
import re
import subprocess
import time

from adhoc import Commander
from desk import ASSIGNED, CLOSED, QUEUE, exact

# what respa logs when it loses the link to Prosody
LINK_LOST = re.compile(r"the server closed the stream|disconnected from|reconnecting in")


def assert_link_held(r, since):
    text = r.log_text(whole=True)[since:]
    assert not LINK_LOST.search(text), text[-2000:]


async def test_contact_of_euros_keeps_the_link(desk):
    r = await desk.start()
    alice = desk.agent("alice")
    bob = await desk.customer("bob")
    conv = await desk.open_chat(bob, alice, "hi")
    mark = len(r.log_text(whole=True))
    alice.send(conv, "/contact " + "\u20ac" * 26)     # quoted back 20 bytes: 6 and 2/3 euros
    answer = await alice.expect("Usage: !contact", frm=conv)
    assert '"' + "\u20ac" * 6 + '"' in answer["body"]
    bob.send(QUEUE, "still there?")                   # the next relay still arrives
    await alice.expect(exact("still there?"), frm=conv)
    alice.send(conv, "/contact name=" + "\u00e9" * 100)   # longer than the card holds
    assert "name= is longer than 127 bytes" in (
        await alice.expect("Nothing changed", frm=conv))["body"]
    assert_link_held(r, mark)


async def test_long_close_summary_then_the_next_chat_reaches_the_agent(desk):
    r = await desk.start()
    alice = desk.agent("alice")
    bob = await desk.customer("bob")
    conv = await desk.open_chat(bob, alice, "first")
    mark = len(r.log_text(whole=True))
    summary = "\u00e9" * 300                           # 600 bytes: the card holds 511
    alice.send(conv, "/close " + summary)
    assert (await alice.expect("closed. Summary:", frm=conv))["body"].endswith(summary)
    await bob.expect(CLOSED, frm=QUEUE)
    bob.send(QUEUE, "second")
    header = await alice.expect("New chat #")
    assert "last: " + "\u00e9" * 255 in header["body"]   # cut between characters
    await alice.expect(exact("second"), frm=header["from"].bare)
    await bob.expect(ASSIGNED, frm=QUEUE)
    assert desk.rows("SELECT summary FROM summaries")[0]["summary"] == summary   # all stored
    assert_link_held(r, mark)


async def test_bad_hours_with_accents_in_queue_edit_gets_a_note(desk):
    r = await desk.start(extra={"admin": {"jids": "admin@localhost"}})
    admin = Commander(await desk.customer("admin"))
    await admin.run("queue-create", {"name": "sales", "title": "Sales"})
    mark = len(r.log_text(whole=True))
    r1 = await admin.next(await admin.execute("queue-edit"), queue="sales")
    bad = "x" + "\u00e9" * 30                         # quoted 40 bytes: ends inside an é
    r2 = await asyncio.wait_for(admin.complete(r1, hours=bad + " 09:00-17:00"), 10)
    assert r2.status == "executing", r2
    note = r2.note("error")
    assert "Business hours" in note and '"x' + "\u00e9" * 19 + '"' in note, note
    assert r2.value("hours") == bad + " 09:00-17:00"  # what was written comes back
    r3 = await admin.complete(r2, hours="always", title="\u00e9" * 2100)   # 4200 bytes
    assert r3.status == "executing" and "at most 4096 bytes" in r3.note("error"), r3
    assert desk.rows("SELECT hours FROM desk_queues WHERE name = 'sales'")[0]["hours"] in (
        None, "", "always")
    assert_link_held(r, mark)


def test_latin1_config_is_refused_with_file_and_line(respa):
    r = respa(config={"queue support": {"agents": "alice@localhost"}}, start=False)
    text = r.write_config().read_text()
    r.raw_config = None
    lines = text.splitlines()
    at = lines.index("[queue support]") + 2            # the greeting goes after the header
    lines.insert(at - 1, "greeting = Bienvenue \u00e0 vous")
    r.config_path.write_bytes(("\n".join(lines) + "\n").encode("latin-1"))
    res = subprocess.run([str(r.binary), "-n", "-c", str(r.config_path)], capture_output=True,
                         text=True, timeout=10, env=r.env)
    assert res.returncode == 1 and res.stdout == "", res
    assert res.stderr == f"{r.config_path}:{at}: not valid UTF-8 (save the file as UTF-8)\n"
    # the same file as UTF-8 is fine
    r.config_path.write_bytes(("\n".join(lines) + "\n").encode("utf-8"))
    res = subprocess.run([str(r.binary), "-n", "-c", str(r.config_path)], capture_output=True,
                         text=True, timeout=10, env=r.env)
    assert (res.returncode, res.stdout) == (0, "configuration OK\n"), res


def test_dev_zero_config_exits_at_once(respa):
    r = respa(config={"queue support": {"agents": "alice@localhost"}}, start=False)
    start = time.monotonic()
    try:
        res = subprocess.run([str(r.binary), "-n", "-c", "/dev/zero"], capture_output=True,
                             text=True, timeout=5, env=r.env)
    except subprocess.TimeoutExpired:
        raise AssertionError("respa -n -c /dev/zero did not exit within 5 s")
    assert time.monotonic() - start < 2
    assert (res.returncode, res.stdout, res.stderr) == (
        1, "", "/dev/zero: not a regular file\n")
