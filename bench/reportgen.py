#!/usr/bin/env python3
"""Writes a realistic period of a desk into a new respa database, for `respa report`.

    bench/reportgen.py --db FILE --conf FILE [--days 365] [--per-day 1370] [--start DATE]
                       [--seed 1] [--messages 10]

The schema is respa's own: schema/*.sql applied in order, as respa's migrations do. The
configuration written beside it names the same queues with their business hours, so that
`respa report -c FILE` reads the database. Three queues in three time zones; contacts come
mostly in the evening and at weekends (more than half out of hours), by four channels; eight
agents; contact reasons with a long tail; missed offers, follow-up tasks, ratings (when the
schema has them) and about --messages messages a conversation (made in SQL: 5 million take
seconds, not minutes).
"""
import argparse
import datetime as dt
import glob
import os
import random
import re
import sqlite3
import sys
from zoneinfo import ZoneInfo

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# name, time zone, hours as respa.conf writes them, the same as {weekday: (from, to)} in
# minutes, max_wait (s)
QUEUES = [
    ("support", "Europe/Helsinki", "Mon-Fri 09:00-15:00",
     {d: (540, 900) for d in range(5)}, 300),
    ("sales", "Europe/Berlin", "Mon-Fri 09:00-17:00",
     {d: (540, 1020) for d in range(5)}, 600),
    ("billing", "America/New_York", "Mon-Sat 08:30-16:30",
     {d: (510, 990) for d in range(6)}, 900),
]
QUEUE_WEIGHTS = [6, 3, 2]
CHANNELS = ["web", "xmpp", "whatsapp", "sms"]
CHANNEL_WEIGHTS = [45, 20, 25, 10]
AGENTS = [f"{n}@example.com" for n in
          ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi")]
REASONS = ["billing", "login", "delivery", "refund", "bug", "password", "pricing",
           "cancel", "address-change", "other"]
REASON_WEIGHTS = [30, 22, 15, 10, 8, 5, 4, 3, 2, 1]
# local hour of arrival: low at night, some at midday, most in the evening
HOUR_WEIGHTS = [2, 1, 1, 1, 1, 2, 3, 5, 6, 7, 7, 7, 8, 7, 7, 7, 9, 11, 13, 14, 13, 10, 6, 3]


def iso(t: dt.datetime) -> str:
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def is_open(q, t: dt.datetime) -> bool:
    local = t.astimezone(ZoneInfo(q[1]))
    span = q[3].get(local.weekday())
    m = local.hour * 60 + local.minute
    return span is not None and span[0] <= m < span[1]


def schema(db: sqlite3.Connection) -> None:
    for path in sorted(glob.glob(os.path.join(SRC, "schema", "[0-9]*.sql"))):
        n = int(re.match(r"0*(\d+)-", os.path.basename(path)).group(1))
        db.executescript(open(path).read())
        db.execute(f"PRAGMA user_version = {n}")


def conf_text(db_path: str) -> str:
    lines = ["[component]", "jid = desk.example.com", "secret = report-generator-secret",
             "[storage]", f"database = {db_path}", "[admin]", "jids = admin@example.com"]
    for name, tz, hours, _, max_wait in QUEUES:
        lines += [f"[queue {name}]", f"agents = {' '.join(AGENTS)}", f"hours = {hours}",
                  f"timezone = {tz}", f"max_wait = {max_wait}"]
    return "\n".join(lines) + "\n"


def generate(db: sqlite3.Connection, start: dt.datetime, days: int, per_day: int,
             rnd: random.Random, messages: int) -> int:
    has_ratings = db.execute("SELECT count(*) FROM sqlite_master WHERE name = 'ratings'"
                             ).fetchone()[0] > 0
    total = days * per_day
    ncontacts = max(1, total * 2 // 5)
    db.executemany("INSERT INTO contacts (id, name, created_at) VALUES (?, ?, ?)",
                   ((i, f"Customer {i}", iso(start)) for i in range(1, ncontacts + 1)))
    convs, sums, tags, missed, tasks, ratings = [], [], [], [], [], []
    end = start + dt.timedelta(days=days)
    cid = 0
    for day in range(days):
        base = start + dt.timedelta(days=day)
        weekend = base.weekday() >= 5
        for _ in range(per_day if not weekend else per_day * 2 // 3):
            cid += 1
            q = rnd.choices(QUEUES, QUEUE_WEIGHTS)[0]
            hour = rnd.choices(range(24), HOUR_WEIGHTS)[0]
            created = (base + dt.timedelta(hours=hour, seconds=rnd.randrange(3600)))
            if created >= end:
                created = end - dt.timedelta(seconds=1 + rnd.randrange(60))
            channel = rnd.choices(CHANNELS, CHANNEL_WEIGHTS)[0]
            contact = rnd.randrange(1, ncontacts + 1)
            agent = assigned = first = closed = reason = None
            resolved = 0
            state = "closed"
            entry = None
            if not is_open(q, created):
                state = rnd.choice(["closed", "closed", "closed", "offline"])
                reason = "offline" if state == "closed" else None
                if state == "closed":
                    closed = created + dt.timedelta(hours=rnd.randrange(1, 60))
                tasks.append((cid, contact, q[0] + "@desk.example.com", "offline",
                              created, created))
            else:
                r = rnd.random()
                agent = rnd.choice(AGENTS)
                if r < 0.01:
                    agent, reason = None, "queue-full"
                    closed = created + dt.timedelta(seconds=1)
                elif r < 0.75:  # answered
                    assigned = created + dt.timedelta(seconds=int(rnd.expovariate(1 / 60)))
                    first = assigned + dt.timedelta(seconds=5 + int(rnd.expovariate(1 / 50)))
                    closed = first + dt.timedelta(seconds=60 + int(rnd.expovariate(1 / 500)))
                    k = rnd.random()
                    if k < 0.7:
                        reason, resolved = "agent", int(rnd.random() < 0.85)
                    elif k < 0.9:
                        reason, resolved = "inactive", 1
                    else:
                        reason, resolved = "customer-left", 1
                elif r < 0.82:  # the answer came after the customer had left
                    assigned = created + dt.timedelta(seconds=int(rnd.expovariate(1 / 90)))
                    first = assigned + dt.timedelta(seconds=30 + rnd.randrange(200))
                    closed = first + dt.timedelta(seconds=30)
                    reason = "customer-left"
                elif r < 0.94:  # left before an answer
                    if rnd.random() < 0.5:
                        assigned = created + dt.timedelta(seconds=rnd.randrange(5, 60))
                    else:
                        agent = None
                    closed = (assigned or created) + dt.timedelta(
                        seconds=rnd.randrange(20, q[4] + 600))
                    reason = "customer-left"
                    tasks.append((cid, contact, q[0] + "@desk.example.com", "follow-up",
                                  closed, closed))
                elif r < 0.97:  # nobody answered; an admin closed it
                    agent = None
                    closed = created + dt.timedelta(seconds=q[4] + rnd.randrange(60, 3600))
                    reason = "admin"
                    tasks.append((cid, contact, q[0] + "@desk.example.com", "follow-up",
                                  created + dt.timedelta(seconds=q[4]), closed))
                else:  # still open, or a transfer in flight
                    state = rnd.choice(["queued", "active"])
                    if state == "active":
                        assigned = created + dt.timedelta(seconds=20)
                        first = assigned + dt.timedelta(seconds=rnd.randrange(5, 900))
                    else:
                        agent = None
                if rnd.random() < 0.03:
                    entry = q[0]
                    q = rnd.choice(QUEUES)
            if agent and assigned is None:
                agent = None
            convs.append((cid, q[0], f"c{contact}@example.net", contact, agent, channel, state,
                          iso(created), assigned and iso(assigned), first and iso(first),
                          closed and iso(closed), reason, entry))
            if state == "closed":
                sums.append((cid, agent if reason == "agent" else None, "summary",
                             resolved, iso(closed)))
            if agent and rnd.random() < 0.6:
                for tag in set(rnd.choices(REASONS, REASON_WEIGHTS, k=rnd.choice([1, 1, 2]))):
                    tags.append((cid, tag))
            if agent and rnd.random() < 0.1:
                other = rnd.choice([a for a in AGENTS if a != agent])
                missed.append((cid, other, iso(created + dt.timedelta(seconds=10))))
            if reason == "agent" and not resolved:
                tasks.append((cid, contact, agent, "follow-up", closed, closed))
            if has_ratings and reason == "agent" and rnd.random() < 0.3:
                score = rnd.choices([1, 2, 3, 4, 5], [1, 1, 2, 5, 8])[0] \
                    if rnd.random() < 0.7 else None
                ratings.append((cid, score, iso(closed),
                                iso(closed + dt.timedelta(seconds=40)) if score else None))
    db.executemany(
        "INSERT INTO conversations (id, queue, customer_jid, contact_id, agent_jid, channel, "
        "state, created_at, assigned_at, first_response_at, closed_at, close_reason, "
        "entry_queue) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", convs)
    db.executemany("INSERT INTO summaries (conversation_id, agent_jid, summary, resolved, "
                   "created_at) VALUES (?, ?, ?, ?, ?)", sums)
    db.executemany("INSERT INTO conversation_tags (conversation_id, tag) VALUES (?, ?)", tags)
    db.executemany("INSERT INTO missed_offers (conversation_id, agent_jid, created_at) "
                   "VALUES (?, ?, ?)", missed)
    rows = []
    for conv, contact, who, kind, created, _ in tasks:
        due = created + dt.timedelta(days=1)
        done = rnd.random() < 0.7
        done_at = created + dt.timedelta(hours=rnd.randrange(1, 72)) if done else None
        rows.append((conv, contact, who, kind, "Follow up", iso(due),
                     "done" if done else "open", iso(created), done_at and iso(done_at)))
    db.executemany("INSERT INTO tasks (conversation_id, contact_id, assignee_jid, kind, title, "
                   "due_at, status, created_at, done_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   rows)
    if has_ratings:
        db.executemany("INSERT INTO ratings (conversation_id, score, asked_at, rated_at) "
                       "VALUES (?, ?, ?, ?)", ratings)
    # messages: 2 to 2 * messages - 2 a conversation (messages on average), in and out
    db.execute(
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ?1) "
        "INSERT INTO messages (conversation_id, direction, sender_jid, body, created_at) "
        "SELECT c.id, CASE WHEN n.i % 2 = 0 THEN 'in' ELSE 'out' END, "
        "CASE WHEN n.i % 2 = 0 THEN c.customer_jid ELSE coalesce(c.agent_jid, c.queue) END, "
        "'message ' || n.i || ' of the conversation', "
        "strftime('%Y-%m-%dT%H:%M:%SZ', c.created_at, '+' || (n.i * 20) || ' seconds') "
        "FROM conversations c JOIN n ON n.i < 2 + (c.id * 7919) % (2 * ?2 - 3) "
        "", (2 * messages, messages))
    return cid


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", required=True)
    ap.add_argument("--conf", required=True)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--per-day", type=int, default=1520)
    ap.add_argument("--start", default="2025-01-01")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--messages", type=int, default=10)
    a = ap.parse_args()
    if os.path.exists(a.db):
        os.unlink(a.db)
    db = sqlite3.connect(a.db, isolation_level=None)
    db.execute("PRAGMA journal_mode = OFF")
    db.execute("PRAGMA synchronous = OFF")
    schema(db)
    db.execute("BEGIN")
    start = dt.datetime.fromisoformat(a.start).replace(tzinfo=dt.timezone.utc)
    n = generate(db, start, a.days, a.per_day, random.Random(a.seed), a.messages)
    db.execute("COMMIT")
    db.execute("PRAGMA journal_mode = DELETE")
    m = db.execute("SELECT count(*) FROM messages").fetchone()[0]
    db.close()
    with open(a.conf, "w") as f:
        f.write(conf_text(os.path.abspath(a.db)))
    os.chmod(a.conf, 0o600)
    print(f"reportgen: {n} conversations, {m} messages in {a.db}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
