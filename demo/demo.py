"""The respa demo: Prosody, respa and a demo agent bot, started privately on loopback.

Reuses the end-to-end harness (tests/e2e/harness.py), so the demo runs the same Prosody
configuration as the tests. That Prosody also serves web/ on its http port, beside its
WebSocket and BOSH endpoints: the chat widget (widget.html) and the agent page (agent.html).
Everything it starts is stopped by pid on exit.
"""
import argparse
import asyncio
import signal
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "e2e"))
import harness  # noqa: E402

QUEUE = "support"
AGENTS = {"alice": "alice", "bob": "bob"}  # user: password
BOT_WAIT = 10   # bob (the bot) is in tier 2: a chat waits this long for alice first
CUSTOMERS = {"carol": "carol"}


class DemoBot:
    """bob@localhost as a friendly demo agent: answers each new chat, closes on "bye"."""

    def __init__(self, address, password):
        self.client = harness.Client("bob@localhost/demo-bot", password, address)

    async def run(self):
        await self.client.start()
        while True:
            msg = await self.client.expect(lambda m: m["body"], timeout=10**9)
            conv, body = msg["from"].bare, msg["body"]
            if body.startswith("New chat"):
                self.client.send(conv, "Hi! I'm Bob, a demo agent (a bot). Write anything; "
                                       "write bye to end the chat.")
            elif body.strip().lower() in ("bye", "bye!", "thanks, bye"):
                self.client.send(conv, "!close Demo chat, ended by the customer saying bye")
            elif not body.startswith(("Chat #", "Tagged", "Task", "Note", "Commands")):
                self.client.send(conv, f"You wrote: {body}")


def banner(p, workdir):
    host, port = p.c2s_address
    web = p.http_url
    agents = "\n".join(f"    {u}@localhost  password {pw}" for u, pw in AGENTS.items())
    customers = "\n".join(f"    {u}@localhost  password {pw}" for u, pw in CUSTOMERS.items())
    print(f"""
respa demo is running.

In a browser (play both sides in two tabs):
    {web}/widget.html    a company's page with the chat widget: the customer
    {web}/agent.html     the agent: log in as alice, password alice
Chats go to alice while she is logged in; bob, a demo bot, takes them after {BOT_WAIT} s when
she is not.

XMPP server (Prosody): {host} port {port}, no TLS (loopback only). In Gajim, Profanity or
any client, set the server/host to {host} and the port to {port} by hand.

Agents (alice is yours; bob is a demo bot that answers at once):
{agents}
Customers (or log in anonymously on the domain guest.localhost):
{customers}

As a customer, write to {QUEUE}@{harness.COMPONENT_JID}.
As an agent (alice), approve the contact request from {harness.COMPONENT_JID} (the agent page
does it for you); chats arrive from c-NUMBER@{harness.COMPONENT_JID}. Write !help in a chat
for the commands.

Files (logs, database {workdir}/respa/respa.db): {workdir}
Ctrl-C stops everything.
""", flush=True)


async def main(args):
    workdir = Path(tempfile.mkdtemp(prefix="respa-demo-"))
    p = harness.Prosody(workdir / "prosody")
    r = None
    try:
        p.write_config()
        for u, pw in {**AGENTS, **CUSTOMERS}.items():
            p.register(u, "localhost", pw)
        p.register("admin", "localhost", "admin")
        p.start()
        r = harness.Respa(workdir / "respa", p, config={
            "admin": {"jids": "admin@localhost"},
            f"queue {QUEUE}": {"name": "Demo support",
                               "agents": "alice@localhost bob@localhost:2",
                               "tier_wait": BOT_WAIT},
        })
        r.start()
        r.wait_ready()
        banner(p, workdir)
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            asyncio.get_running_loop().add_signal_handler(sig, stop.set)
        tasks = [] if args.no_bot else [asyncio.create_task(DemoBot(p.c2s_address, "bob").run())]
        await stop.wait()
        for t in tasks:
            t.cancel()
    finally:
        print("stopping...", flush=True)
        if r is not None:
            r.stop()
        p.stop()


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--no-bot", action="store_true", help="do not start the demo agent bot")
    asyncio.run(main(ap.parse_args()))
