"""`respa backup`: a consistent copy of the live database while respa runs and chats go on,
refused over an existing file without --force, a full disk that leaves nothing behind, and a
restore (stop, copy back, start) that resumes the open chats."""
import asyncio
import os
import resource
import shutil
import signal
import sqlite3
import subprocess
from pathlib import Path

from desk import CLOSED, QUEUE
from harness import Respa


def backup(r: Respa, out: Path, *args, limit_bytes: int = 0) -> subprocess.CompletedProcess:
    """`respa backup -c CONF [args] OUT`; limit_bytes > 0 makes files past that size fail
    to grow (RLIMIT_FSIZE, SIGXFSZ ignored), as on a full disk."""
    def full_disk():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    res = subprocess.run([str(r.binary), "backup", "-c", str(r.config_path), *args, str(out)],
                         capture_output=True, text=True, timeout=120, env=r.env,
                         preexec_fn=full_disk if limit_bytes else None)
    with open(r.log_path, "a") as log:   # teardown looks here for sanitizer reports too
        log.write(f"$ respa backup {out} => exit {res.returncode}\n{res.stderr}")
    return res


def integrity(path: Path) -> str:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        return db.execute("PRAGMA integrity_check").fetchone()[0]


def message_ids(path: Path) -> set[int]:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        return {row[0] for row in db.execute("SELECT id FROM messages")}


NO_RATE_LIMIT = {"limits": {"message_burst": 1000}}


async def test_backup_under_load_holds_every_committed_message(desk, tmp_path):
    r = await desk.start(extra=NO_RATE_LIMIT)
    alice = desk.agent("alice")
    bob = await desk.customer("bob")
    conv = await desk.open_chat(bob, alice, "hello, a question about my order")
    for i in range(40):                                   # a history to copy
        bob.send(QUEUE, f"before {i}")
        await alice.expect(f"before {i}", frm=conv)
    committed = message_ids(r.db_path)                    # all committed before the copy

    # the chat goes on, both ways, while the copy is taken
    out = tmp_path / "copy.db"
    task = asyncio.create_task(asyncio.to_thread(backup, r, out))
    n = 0
    while not task.done() or n < 20:
        bob.send(QUEUE, f"during {n}")
        alice.send(conv, f"answer {n}")
        await alice.expect(f"during {n}", frm=conv)
        await bob.expect(f"answer {n}", frm=QUEUE)
        n += 1
    res = await task
    assert res.returncode == 0, res.stderr
    assert "integrity ok" in res.stdout
    assert integrity(out) == "ok"
    assert committed <= message_ids(out)                 # nothing committed before is missing
    assert os.stat(out).st_mode & 0o777 == 0o600          # it holds every customer's data
    assert not list(tmp_path.glob("copy.db.tmp-*"))
    assert integrity(r.db_path) == "ok"

    # an existing file is not replaced unless asked
    size = out.stat().st_size
    res = backup(r, out)
    assert res.returncode == 1 and "exists; --force replaces it" in res.stderr
    assert out.stat().st_size == size
    res = backup(r, out, "--force")
    assert res.returncode == 0, res.stderr
    assert message_ids(r.db_path) == message_ids(out)     # respa is idle: the same rows

    # never over the database itself
    res = backup(r, r.db_path, "--force")
    assert res.returncode == 1 and "is the database itself" in res.stderr
    assert integrity(r.db_path) == "ok"


async def test_backup_onto_a_full_disk_leaves_nothing_and_respa_goes_on(desk, tmp_path):
    r = await desk.start()
    alice = desk.agent("alice")
    bob = await desk.customer("bob")
    conv = await desk.open_chat(bob, alice, "a long story " * 200)
    out = tmp_path / "full.db"
    res = backup(r, out, limit_bytes=8192)
    assert res.returncode == 1
    assert "respa backup:" in res.stderr and str(out) in res.stderr
    assert not out.exists() and not list(tmp_path.glob("full.db.tmp-*"))
    assert integrity(r.db_path) == "ok"
    bob.send(QUEUE, "still here?")                          # the live desk never noticed
    await alice.expect("still here?", frm=conv)


async def test_restore_stop_copy_back_start_resumes_the_chats(desk, tmp_path):
    r = await desk.start()
    alice = desk.agent("alice")
    bob = await desk.customer("bob")
    conv = await desk.open_chat(bob, alice, "please keep this")
    alice.send(conv, "kept")
    await bob.expect("kept", frm=QUEUE)
    out = tmp_path / "copy.db"
    assert backup(r, out).returncode == 0
    saved = message_ids(out)

    carol = await desk.customer("carol")          # after the backup: lost by the restore
    later = await desk.open_chat(carol, alice, "after the backup")
    assert later != conv

    # the restore, as the README says: stop, copy back (without the old -wal/-shm), start
    r.stop()
    for suffix in ("-wal", "-shm"):
        Path(f"{r.db_path}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(out, r.db_path)
    mark = r.log_mark()
    r.start()
    r.wait_ready()
    await r.wait_for_log_async("resumed 1 open conversations", since=mark)
    assert message_ids(r.db_path) == saved
    bob.send(QUEUE, "after the restore")
    await alice.expect("after the restore", frm=conv)
    alice.send(conv, "/close Restored")
    await bob.expect(CLOSED, frm=QUEUE)


def test_backup_usage_and_missing_database(respa, tmp_path):
    r = respa(start=False)
    r.write_config()
    res = subprocess.run([str(r.binary), "backup", "-c", str(r.config_path)],
                         capture_output=True, text=True, timeout=10, env=r.env)
    assert res.returncode == 2 and "usage: respa backup" in res.stderr
    res = backup(r, tmp_path / "x.db")               # respa never ran: no database yet
    assert res.returncode == 1 and "database" in res.stderr
    assert not (tmp_path / "x.db").exists()
