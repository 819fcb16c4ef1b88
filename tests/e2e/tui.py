"""Driving a terminal client (profanity, poezio) in a private tmux server.

    tui = Tui(tmp_path / "tui", ["profanity", "-a", "alice@localhost"], env=env)
    tui.start()
    try:
        tui.wait_for("Connecting")
        tui.type("/msg bob@localhost hello")
        tui.wait_for(re.compile(r"me: hello"))
    finally:
        tui.stop()

Each Tui has its own tmux server (`tmux -L NAME`, a socket name of its own): stop() kills that
server by its socket and then its pid, never another tmux. wait_for() polls the screen
(`capture-pane -p`) every 50 ms up to a deadline: tests wait on what is shown, never for a
fixed time.
"""
from __future__ import annotations

import asyncio
import itertools
import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Optional, Union

from harness import HarnessError, _track, _untrack, pid_alive, terminate_pid

_names = itertools.count(1)
POLL = 0.05   # seconds between two looks at the screen


def missing(*binaries: str) -> Optional[str]:
    """The first of binaries (and tmux) not installed, or None: for pytest.mark.skipif."""
    for b in ("tmux", *binaries):
        if shutil.which(b) is None:
            return b
    return None


class Tui:
    def __init__(self, workdir: Union[str, Path], argv: list[str], env: Optional[dict] = None,
                 width: int = 200, height: int = 50):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.argv = [str(a) for a in argv]
        self.env = {**os.environ, **(env or {})}
        self.env.pop("TMUX", None)              # never talk to a tmux we run inside
        self.width, self.height = width, height
        self.socket = f"respa-e2e-{os.getpid()}-{next(_names)}"
        self.server_pid: Optional[int] = None
        self.socket_path: Optional[Path] = None

    def _tmux(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        res = subprocess.run(["tmux", "-L", self.socket, "-f", "/dev/null", *args],
                             capture_output=True, text=True, env=self.env, timeout=10)
        if check and res.returncode != 0:
            raise HarnessError(f"tmux {' '.join(args)}: {res.stderr.strip()}")
        return res

    def start(self) -> None:
        """Starts the tmux server with the client in its only pane."""
        self._tmux("new-session", "-d", "-s", "t", "-x", str(self.width), "-y",
                   str(self.height), "--", *self.argv)
        pid, path = self._tmux("display-message", "-p", "#{pid} #{socket_path}").stdout.split()
        self.server_pid, self.socket_path = int(pid), Path(path)
        _track(self.server_pid, "tmux")
        # the pane stays (dead) if the client exits: its screen says why
        self._tmux("set-option", "-g", "remain-on-exit", "on")

    def type(self, text: str, enter: bool = True) -> None:
        """Types text literally (no key names), then Enter."""
        if text:
            self._tmux("send-keys", "-t", "t", "-l", text)
        if enter:
            self._tmux("send-keys", "-t", "t", "Enter")

    def key(self, *keys: str) -> None:
        """Sends tmux key names: Enter, Escape, C-c, M-Right..."""
        self._tmux("send-keys", "-t", "t", *keys)

    def screen(self) -> str:
        """What the pane shows now, lines joined where the terminal wrapped them."""
        return self._tmux("capture-pane", "-p", "-J", "-t", "t").stdout

    def shows(self, what: Union[str, re.Pattern], text: Optional[str] = None) -> bool:
        text = self.screen() if text is None else text
        return bool(what.search(text)) if isinstance(what, re.Pattern) else what in text

    def _timed_out(self, what, timeout: float, text: str, gone: bool = False):
        state = "still on screen after" if gone else "not on screen within"
        return AssertionError(f"{self.argv[0]}: {state} {timeout}s: {what!r}\n"
                              f"--- screen ---\n{text}")

    def wait_for(self, what: Union[str, re.Pattern], timeout: float = 10.0) -> str:
        """Polls the screen until it shows what (a string or a regex); returns the screen.
        On timeout fails with the screen as it was. Blocks: from async tests (whose clients
        must go on running) use wait_for_async."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.screen()
            if self.shows(what, text):
                return text
            if time.monotonic() > deadline:
                raise self._timed_out(what, timeout, text)
            time.sleep(POLL)

    async def wait_for_async(self, what: Union[str, re.Pattern], timeout: float = 10.0,
                             gone: bool = False) -> str:
        """wait_for that lets the event loop run between looks; gone=True waits until the
        screen no longer shows what."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.screen()
            if self.shows(what, text) != gone:
                return text
            if time.monotonic() > deadline:
                raise self._timed_out(what, timeout, text, gone)
            await asyncio.sleep(POLL)

    def stop(self) -> None:
        """Kills this tmux server (and the client in it); safe to call twice."""
        if self.server_pid is None:
            return
        pid, self.server_pid = self.server_pid, None
        self._tmux("kill-server", check=False)
        if pid_alive(pid):
            terminate_pid(pid, timeout=3.0)
        _untrack(pid)
        if self.socket_path:            # a killed server leaves its socket behind
            self.socket_path.unlink(missing_ok=True)

    def diagnostics(self) -> str:
        try:
            return self.screen() if self.server_pid else "(tmux stopped)"
        except Exception as e:
            return f"(no screen: {e})"
