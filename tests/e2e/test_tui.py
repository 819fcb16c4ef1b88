"""Real terminal clients, driven in tmux: Debian's profanity (an agent answering, tagging and
closing a chat with the ! prefix; an admin reading desk-status) and poezio (an agent
submitting a form: poezio sends action next on the last step). tui.py drives them; every wait
is on what the screen shows, polled up to a deadline."""
import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest

from desk import ASSIGNED, GREETING, QUEUE
from harness import COMPONENT_JID
from tui import Tui, missing

ADMINS = {"admin": {"jids": "admin@localhost"}}

pytestmark = pytest.mark.prosody_only("the clients' accounts are set up for the test Prosody")


class Terminals:
    """The test's terminal clients; all stopped at teardown, pass or fail."""

    def __init__(self, workdir: Path, prosody):
        self.dir, self.prosody = workdir, prosody
        self.tuis: list[Tui] = []
        self.homes: list[str] = []

    def profanity(self, user: str, password: str = "pw") -> Tui:
        """profanity logged in as user@localhost, with a private HOME (its accounts file
        points at the test Prosody, no TLS)."""
        home = self.dir / f"home-{user}"
        data = home / ".local" / "share" / "profanity"
        data.mkdir(parents=True)
        accounts = data / "accounts"
        accounts.write_text(f"[{user}@localhost]\nenabled=true\njid={user}@localhost\n"
                            f"server=127.0.0.1\nport={self.prosody.c2s_port}\n"
                            f"resource=profanity\npassword={password}\ntls.policy=disable\n")
        accounts.chmod(0o600)
        env = {"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
               "XDG_DATA_HOME": str(home / ".local" / "share"), "TERM": "xterm-256color",
               "LANG": "C.UTF-8"}
        tui = Tui(self.dir / f"tui-{user}", ["profanity", "-l", "DEBUG", "-a",
                                            f"{user}@localhost"], env=env)
        self.tuis.append(tui)
        tui.start()
        return tui

    def poezio(self, user: str, password: str = "pw") -> Tui:
        """poezio logged in as user@localhost. poezio refuses to run as root: then it runs as
        nobody, with a HOME of its own under /tmp (the test's directory is root's only)."""
        as_root = os.geteuid() == 0
        home = Path(tempfile.mkdtemp(prefix="respa-poezio-"))
        self.homes.append(str(home))
        conf = home / ".config" / "poezio"
        conf.mkdir(parents=True)
        (conf / "poezio.cfg").write_text(
            f"[Poezio]\njid = {user}@localhost\npassword = {password}\n"
            f"custom_host = 127.0.0.1\ncustom_port = {self.prosody.c2s_port}\n"
            "force_encryption = false\nignore_certificate = true\nresource = poezio\n")
        argv = ["env", f"HOME={home}", "LANG=C.UTF-8", "TERM=xterm-256color", "poezio",
                "-d", str(home / "debug.log")]
        if as_root:
            shutil.chown(home, "nobody", "nogroup")
            for p in home.rglob("*"):
                shutil.chown(p, "nobody", "nogroup")
            argv = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", *argv]
        tui = Tui(self.dir / f"tui-poezio-{user}", argv, env={"LANG": "C.UTF-8"})
        self.tuis.append(tui)
        tui.start()
        return tui

    def stop(self) -> None:
        for tui in self.tuis:
            tui.stop()
        for home in self.homes:
            shutil.rmtree(home, ignore_errors=True)

    def diagnostics(self) -> str:
        return "\n".join(f"--- {t.argv[0]} screen ---\n{t.diagnostics()}" for t in self.tuis)


@pytest.fixture
def terminals(tmp_path, prosody):
    t = Terminals(tmp_path, prosody)
    yield t
    t.stop()


def _skip_unless(*binaries):
    gone = missing(*binaries)
    return pytest.mark.skipif(gone is not None, reason=f"{gone} is not installed "
                              "(scripts/install-deps installs it)")


@_skip_unless("profanity")
@pytest.mark.timeout(90)
async def test_profanity_agent_answers_tags_and_closes_a_chat(desk, terminals):
    await desk.start(agents=["alice"], online=[], extra=ADMINS)
    alice = terminals.profanity("alice")
    await alice.wait_for_async("alice@localhost/profanity logged in successfully", 20)
    await alice.wait_for_async("Received authorization request from support.localhost")
    alice.type(f"/sub allow {COMPONENT_JID}")
    await desk.seen_as("alice", "available", since=0)

    bob = await desk.customer("bob")
    bob.send(QUEUE, "where is my parcel?")
    await bob.expect(GREETING, frm=QUEUE)
    await bob.expect(ASSIGNED, frm=QUEUE)
    conv = desk.rows("SELECT id FROM conversations")[0]["id"]
    addr = f"c-{conv}@{COMPONENT_JID}"
    alice.type(f"/msg {addr}")
    await alice.wait_for_async(re.compile(rf"New chat #{conv}\b"))
    await alice.wait_for_async("where is my parcel?")

    alice.type("It left the warehouse this morning.")
    await bob.expect("It left the warehouse this morning.", frm=QUEUE)
    alice.type("!tag delivery")
    await alice.wait_for_async("Tagged: delivery")
    alice.type("!close")
    await bob.expect(lambda m: "ended" in m["body"], frm=QUEUE)
    row = desk.rows("SELECT state FROM conversations WHERE id = ?", conv)[0]
    assert row["state"] == "closed"
    tags = desk.rows("SELECT tag FROM conversation_tags WHERE conversation_id = ?", conv)
    assert [t["tag"] for t in tags] == ["delivery"]
    # nothing profanity took for its own: no "Unknown command" on screen
    assert "Unknown command" not in alice.screen()


@_skip_unless("profanity")
@pytest.mark.timeout(90)
async def test_profanity_admin_reads_desk_status(desk, terminals):
    await desk.start(agents=["alice"], online=[], extra=ADMINS)
    bob = await desk.customer("bob")
    bob.send(QUEUE, "anyone there?")
    await bob.expect("number 1 in line", frm=QUEUE)
    desk.prosody.register("admin")
    admin = terminals.profanity("admin")
    await admin.wait_for_async("admin@localhost/profanity logged in successfully", 20)
    admin.type(f"/cmd list {COMPONENT_JID}")
    await admin.wait_for_async("desk-status")
    admin.type(f"/cmd exec desk-status {COMPONENT_JID}")
    screen = await admin.wait_for_async("Form title: Queue status")
    screen = await admin.wait_for_async(re.compile(
        r"support \| Open now: yes \| Waiting: 1 \| Longest wait: \d+ s \| Active chats: 0 \| "
        r"Agents free: 0 \| Busy: 0 \| Away or paused: 0 \| Offline: 1"))
    assert re.search(r"support: #\d+ bob@localhost, waiting \d+ s", screen), screen

    # a form's error is in its instructions, which profanity shows (it shows no note)
    admin.type("/form cancel")
    admin.type(f"/cmd exec queue-create {COMPONENT_JID}")
    await admin.wait_for_async("Form title: Create a queue")
    await admin.wait_for_async("[longest-idle] longest-idle: who got a chat least recently")
    assert "(null)" not in admin.screen()
    admin.type("/field1 support")
    await admin.wait_for_async(re.compile(r"\[field1\] Name .*: support"))
    admin.type("/form submit")
    await admin.wait_for_async("Not done: Name: there is a queue support already.")


@_skip_unless("poezio", "setpriv")
@pytest.mark.timeout(90)
async def test_poezio_agent_submits_a_form(desk, terminals):
    await desk.start(agents=["alice"], online=[], extra=ADMINS)
    alice = terminals.poezio("alice")
    await alice.wait_for_async("Authentication success", 30)
    # poezio's roster tab: "/" opens the command line, what follows must come after it
    alice.type("/", enter=False)
    await alice.wait_for_async(re.compile(r"/\s*\Z"))     # the input line, at the bottom
    alice.type(f"ad-hoc {COMPONENT_JID}")
    await alice.wait_for_async("Pause (no new chats)")
    alice.key("Down")                      # the list: ready, pause, ...
    alice.key("Enter")
    await alice.wait_for_async("Reason (optional)")
    alice.type("lunch break", enter=False)
    await alice.wait_for_async("lunch break")
    alice.key("C-y")                       # poezio: send the form (action next)
    await desk.r.wait_for_log_async("command pause run by alice@localhost/")
    assert desk.rows("SELECT paused, reason FROM agent_status") == [
        {"paused": 1, "reason": "lunch break"}]
