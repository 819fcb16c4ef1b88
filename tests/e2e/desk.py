"""A help desk for scenario tests: respa with its agents logged in, customers, and the DB.

    async def test_something(desk):
        await desk.start(agents=["alice"])               # alice online and seen available
        bob = await desk.customer("bob")
        conv = await desk.open_chat(bob, desk.agent("alice"), "my invoice is wrong")
        desk.agent("alice").send(conv, "Let me check")
        await bob.expect("Let me check", frm=QUEUE)
        assert desk.rows("SELECT state FROM conversations")[0]["state"] == "active"

Agents are registered before respa starts: respa asks each agent for a presence
subscription at connect, and Prosody drops a request to an account that does not exist yet.
"""
from __future__ import annotations

import asyncio
import re
from datetime import datetime, timezone
from typing import Iterable, Optional

from harness import COMPONENT_JID, Client, Respa

QUEUE = f"support@{COMPONENT_JID}"
QUEUE_TITLE = "Support"
GREETING = f"Hello, and thank you for contacting {QUEUE_TITLE}."
QUEUED = "All our agents are busy right now."
ASSIGNED = "An agent has joined the chat."
CLOSED = "This chat has ended."


def jid(user: str) -> str:
    return user if "@" in user else f"{user}@localhost"


def parse_time(text: str) -> datetime:
    """respa's UTC ISO-8601 text (2026-11-25T09:30:00Z) as an aware datetime."""
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", text), f"not UTC ISO-8601: {text!r}"
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


def exact(text: str):
    """For expect(): a message whose body is exactly text (a plain string matches
    substrings)."""
    return lambda m: m["type"] != "error" and m["body"] == text


def headline(text: str):
    """For expect(): a chat's header, whose first line is exactly text (the contact card
    follows on the next lines)."""
    return lambda m: m["type"] != "error" and m["body"].split("\n")[0] == text


def first_line(body: str) -> str:
    return body.split("\n")[0]


def conv_id(conv: str) -> int:
    """c-7@support.localhost -> 7"""
    m = re.fullmatch(rf"c-(\d+)@{re.escape(COMPONENT_JID)}", conv)
    assert m, f"not a conversation address: {conv!r}"
    return int(m.group(1))


class Desk:
    def __init__(self, respa, make_client, prosody):
        self._respa, self._make_client, self.prosody = respa, make_client, prosody
        self.r: Optional[Respa] = None
        self.agents: dict[str, Client] = {}

    # --- setting up ------------------------------------------------------------
    def config(self, agents: Iterable[str], capacity: Optional[dict[str, int]] = None,
               queue: Optional[dict] = None, extra: Optional[dict] = None) -> dict:
        conf = {"queue support": {"name": QUEUE_TITLE, "agents": [jid(a) for a in agents],
                                  **(queue or {})}}
        for agent, n in (capacity or {}).items():
            conf[f"agent {jid(agent)}"] = {"capacity": n}
        conf.update(extra or {})
        return conf

    async def start(self, agents: Iterable[str] = ("alice",), online: Iterable[str] = None,
                    show: Optional[dict[str, str]] = None,
                    capacity: Optional[dict[str, int]] = None, queue: Optional[dict] = None,
                    extra: Optional[dict] = None, allow_disk_full: bool = False,
                    env: Optional[dict] = None) -> Respa:
        """Registers the agents, logs in those `online` (default: all; with `show` per agent),
        starts respa and waits until it has seen each online agent's status."""
        agents = list(agents)
        online = agents if online is None else list(online)
        show = show or {}
        for a in agents:
            self.prosody.register(a)
        for a in online:
            await self.login(a, show=show.get(a))
        self.r = self._respa(config=self.config(agents, capacity, queue, extra),
                             allow_disk_full=allow_disk_full, env=env)
        for a in online:
            await self.seen_as(a, show.get(a) or "available", since=0)
        return self.r

    async def login(self, agent: str, show: Optional[str] = None,
                    resource: Optional[str] = None, smacks: bool = False) -> Client:
        """Logs an (already registered) agent in, one more resource if already online."""
        client = await self._make_client(agent, register=False, show=show, resource=resource,
                                         smacks=smacks)
        self.agents.setdefault(agent, client)
        return client

    def agent(self, name: str = "alice") -> Client:
        return self.agents[name]

    async def seen_as(self, agent: str, status: str = "available",
                      since: Optional[int] = None) -> str:
        """Wait until respa logs the agent's folded status (available, away, dnd, offline...).
        Pass since=r.log_mark() taken before the change, or 0 for this whole run."""
        return await self.r.wait_for_log_async(f"agent {jid(agent)} is {status}", since=since)

    async def customer(self, name: Optional[str] = None, anonymous: bool = False) -> Client:
        return await self._make_client(name, anonymous=anonymous)

    # --- chatting --------------------------------------------------------------
    async def open_chat(self, customer: Client, agent: Client, text: str) -> str:
        """The customer's first message reaches an available agent: returns the c-N address."""
        customer.send(QUEUE, text)
        await customer.expect(GREETING, frm=QUEUE)
        header = await agent.expect("New chat #")
        conv = header["from"].bare
        await agent.expect(lambda m: m["body"] == text, frm=conv)
        await customer.expect(ASSIGNED, frm=QUEUE)
        return conv

    # --- the database ----------------------------------------------------------
    async def stored(self, count: int, timeout: float = 5.0) -> None:
        """Wait until respa has stored `count` messages in all (a message that is only
        stored, not relayed, sends no event to await)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (n := self.rows("SELECT count(*) AS n FROM messages")[0]["n"]) < count:
            assert loop.time() < deadline, f"{n} messages stored after {timeout}s, not {count}"
            await asyncio.sleep(0.02)

    def rows(self, sql: str, *args) -> list[dict]:
        with self.r.db() as db:
            return [dict(row) for row in db.execute(sql, args)]

    def conversation(self, conv) -> dict:
        cid = conv if isinstance(conv, int) else conv_id(conv)
        rows = self.rows("SELECT * FROM conversations WHERE id = ?", cid)
        assert rows, f"no conversation {cid} in the database"
        return rows[0]

    def transcript(self, conv) -> list[tuple[str, str, str]]:
        """(direction, sender_jid, body) of each stored message, in order."""
        cid = conv if isinstance(conv, int) else conv_id(conv)
        return [(m["direction"], m["sender_jid"], m["body"]) for m in
                self.rows("SELECT * FROM messages WHERE conversation_id = ? ORDER BY id", cid)]

    def active_per_agent(self) -> dict[str, int]:
        return {row["agent_jid"]: row["n"] for row in self.rows(
            "SELECT agent_jid, count(*) AS n FROM conversations WHERE state = 'active' "
            "GROUP BY agent_jid")}
