"""A real SMTP server for the mail tests, and msmtp as respa's sendmail program.

    sink = MailSink(tmp_path)            # picks a free loopback port
    sink.start()                         # python3 -m ... aiosmtpd, our pid, stopped by pid
    conf = {"mail": {"sendmail": sink.sendmail, "from": "Support <support@example.com>"}}
    msg = await sink.wait_for(lambda m: m["To"] == "bob@example.com")   # an EmailMessage

Run as a script (`mailsink.py PORT DIR`) it is the server: aiosmtpd's Controller on
127.0.0.1:PORT, each message written whole to DIR/NNNN.eml (written aside, then renamed),
its envelope recipients to DIR/NNNN.rcpt.
"""
from __future__ import annotations

import asyncio
import email
import email.policy
import os
import signal
import sys
import time
from pathlib import Path
from typing import Callable, Optional

if __name__ != "__main__":
    from harness import Process, free_port, port_open, wait_until

MSMTP = "/usr/bin/msmtp"


class MailSink:
    def __init__(self, workdir: Path):
        self.dir = Path(workdir) / "smtp"
        self.inbox = self.dir / "inbox"
        self.inbox.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.proc = Process([sys.executable, Path(__file__).resolve(), str(self.port),
                             str(self.inbox)], self.dir / "smtp.log", name="smtp server")
        conf = self.dir / "msmtprc"
        conf.write_text(f"""defaults
auth off
tls off
logfile {self.dir / "msmtp.log"}
account default
host 127.0.0.1
port {self.port}
from support@example.com
""")
        conf.chmod(0o600)
        # respa's [mail] sendmail: words split on spaces, no shell
        self.sendmail = f"{MSMTP} -C {conf} -t -i"

    def start(self) -> None:
        self.proc.start()
        wait_until(lambda: port_open(self.port), 10, f"the SMTP server on port {self.port}")

    def stop(self) -> None:
        self.proc.stop()

    @property
    def running(self) -> bool:
        return self.proc.running

    def messages(self) -> list[email.message.EmailMessage]:
        """Every message that arrived, in order, parsed by Python's email package."""
        out = []
        for path in sorted(self.inbox.glob("*.eml")):
            with open(path, "rb") as f:
                msg = email.message_from_binary_file(f, policy=email.policy.default)
            msg.raw = path.read_bytes()
            msg.rcpt = (path.with_suffix(".rcpt")).read_text().split()
            out.append(msg)
        return out

    async def wait_for(self, match: Callable[[email.message.EmailMessage], bool] = None,
                       timeout: float = 15.0, count: int = 1) -> email.message.EmailMessage:
        """The first message (after count - 1 others match) that matches."""
        deadline = time.monotonic() + timeout
        while True:
            found = [m for m in self.messages() if match is None or match(m)]
            if len(found) >= count:
                return found[count - 1]
            assert time.monotonic() < deadline, (
                f"no mail after {timeout}s; arrived: "
                f"{[(m['To'], m['Subject']) for m in self.messages()]}")
            await asyncio.sleep(0.1)

    def diagnostics(self) -> str:
        return self.proc.diagnostics()


def _serve(port: int, inbox: Path) -> None:
    from aiosmtpd.controller import Controller

    class Handler:
        n = 0

        async def handle_DATA(self, server, session, envelope):
            Handler.n += 1
            base = inbox / f"{Handler.n:04d}"
            tmp = inbox / f".{Handler.n:04d}.tmp"
            tmp.write_bytes(envelope.original_content or envelope.content)
            base.with_suffix(".rcpt").write_text("\n".join(envelope.rcpt_tos) + "\n")
            os.rename(tmp, base.with_suffix(".eml"))
            return "250 OK"

    # data_size_limit: a 200 KB transcript, quoted-printable, fits many times over
    controller = Controller(Handler(), hostname="127.0.0.1", port=port,
                            data_size_limit=32 * 1024 * 1024)
    controller.start()
    print(f"smtp server on 127.0.0.1:{port}, pid {os.getpid()}", flush=True)
    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    while not stop:
        signal.pause()
    controller.stop()


if __name__ == "__main__":
    _serve(int(sys.argv[1]), Path(sys.argv[2]))
