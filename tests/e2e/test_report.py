"""respa report: a generated month (bench/reportgen.py: three queues in three time zones, more
than half of the contacts out of hours, four channels, eight agents, contact reasons), and
every figure of the HTML page checked against SQL and arithmetic written here, apart from
respa's: business hours with Python's zoneinfo, percentiles by sorting, first-contact
resolution by a self-join. The page is opened in Debian's chromium; its screenshot is kept in
build/e2e-artifacts/ (test_report-page.png)."""
import datetime as dt
import math
import sqlite3
import subprocess
import sys
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import pytest

import harness
from conftest import artifacts_dir

GEN = harness.REPO / "bench" / "reportgen.py"
SINCE, UNTIL = "2026-10-01", "2026-10-30"      # --until a day: up to 2026-10-31T00:00Z
START, END = "2026-10-01T00:00:00Z", "2026-10-31T00:00:00Z"
PREV = "2026-09-01T00:00:00Z"                   # the period of the same length before
FCR_DAYS = 7
# the queues as this test knows them: zone, {weekday: (from, to) in minutes}, max_wait
HOURS = {
    "support": ("Europe/Helsinki", {d: (9 * 60, 15 * 60) for d in range(5)}, 300),
    "sales": ("Europe/Berlin", {d: (9 * 60, 17 * 60) for d in range(5)}, 600),
    "billing": ("America/New_York", {d: (8 * 60 + 30, 16 * 60 + 30) for d in range(6)}, 900),
}


class Figures(HTMLParser):
    """data-fig name -> data-v ("" when the page shows none) of every element that has one."""

    def __init__(self):
        super().__init__()
        self.v, self.text, self._open = {}, {}, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "data-fig" in a:
            self.v[a["data-fig"]] = a.get("data-v")
            self._open = a["data-fig"]
            self.text[self._open] = ""

    def handle_data(self, data):
        if self._open:
            self.text[self._open] += data

    def handle_endtag(self, tag):
        self._open = None


def parse(html: str) -> Figures:
    f = Figures()
    f.feed(html)
    return f


@pytest.fixture(scope="module")
def month(tmp_path_factory):
    d = tmp_path_factory.mktemp("report")
    db, conf = d / "month.db", d / "month.conf"
    # September too, for the change of contact reasons from the period before
    subprocess.run([sys.executable, str(GEN), "--db", str(db), "--conf", str(conf),
                    "--days", "61", "--per-day", "40", "--start", "2026-09-01", "--seed", "7",
                    "--messages", "6"], check=True, timeout=120)
    return d, db, conf


def report(conf, *args, out=None):
    argv = [str(harness.respa_binary()), "report", "-c", str(conf), *args]
    if out:
        argv += ["-o", str(out)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60)


def nearest_rank(values, p):
    v = sorted(values)
    return v[math.ceil(len(v) * p / 100) - 1]


def pct(part, whole):
    """Rounded half up, as the page rounds."""
    return (part * 100 + whole // 2) // whole if whole else None


def secs(iso):
    return int(dt.datetime.strptime(iso, "%Y-%m-%dT%H:%M:%SZ")
               .replace(tzinfo=dt.timezone.utc).timestamp()) if iso else None


def expected(db_path, queue=None):
    """Every figure of the page, from the database by this test's own reading of README's
    definitions."""
    db = sqlite3.connect(db_path)
    db.row_factory = sqlite3.Row
    rows = db.execute(
        "SELECT c.*, coalesce(c.entry_queue, c.queue) AS q, s.resolved FROM conversations c "
        "LEFT JOIN summaries s ON s.conversation_id = c.id "
        "WHERE c.created_at >= ? AND c.created_at < ? AND (? IS NULL OR "
        "coalesce(c.entry_queue, c.queue) = ?)", (START, END, queue, queue)).fetchall()
    e = {"total": len(rows)}
    hour = {(h, w): 0 for h in range(24) for w in ("in", "out")}
    weekday = [0] * 7
    first, by_hour, outcome = [], {h: [] for h in range(24)}, [0] * 6
    agents = {}
    by_agent = resolved = fcr = 0
    for r in rows:
        tz, spans, max_wait = HOURS[r["q"]]
        created = dt.datetime.fromtimestamp(secs(r["created_at"]), ZoneInfo(tz))
        span = spans.get(created.weekday())
        m = created.hour * 60 + created.minute
        is_open = span is not None and span[0] <= m < span[1]
        hour[(created.hour, "in" if is_open else "out")] += 1
        weekday[created.weekday()] += 1
        # an answer counts only when it reached the customer
        fr = None
        if r["first_response_at"] and not (r["close_reason"] == "customer-left"
                                           and r["resolved"] == 0):
            fr = secs(r["first_response_at"]) - secs(r["created_at"])
            first.append(fr)
            by_hour[created.hour].append(fr)
        age = (secs(r["closed_at"]) if r["closed_at"] else secs("2099-01-01T00:00:00Z")) \
            - secs(r["created_at"])
        if r["state"] == "offline" or r["close_reason"] == "offline":
            outcome[3] += 1
        elif r["close_reason"] == "queue-full":
            outcome[4] += 1
        elif fr is not None:
            outcome[0 if fr <= max_wait else 1] += 1
        elif r["closed_at"] and age < max_wait:
            outcome[2] += 1
        else:
            outcome[1] += 1     # the generated open ones are all older than max_wait
        closer = r["close_reason"] == "agent"
        came_back = db.execute(
            "SELECT count(*) FROM conversations n WHERE n.contact_id = ? AND n.id <> ? AND "
            "julianday(n.created_at) > julianday(?) AND "
            "julianday(n.created_at) <= julianday(?) + ?",
            (r["contact_id"], r["id"], r["closed_at"], r["closed_at"], FCR_DAYS)
        ).fetchone()[0] if closer and r["resolved"] == 1 else 1
        ok = closer and r["resolved"] == 1 and came_back == 0
        by_agent += closer
        resolved += closer and r["resolved"] == 1
        fcr += ok
        if r["agent_jid"]:
            a = agents.setdefault(r["agent_jid"], {"chats": 0, "closed": 0, "fcr": 0,
                                                   "first": [], "handling": []})
            a["chats"] += 1
            a["closed"] += closer
            a["fcr"] += ok
            if fr is not None:
                a["first"].append(fr)
            if r["state"] == "closed" and r["assigned_at"]:
                a["handling"].append(secs(r["closed_at"]) - secs(r["assigned_at"]))
    e["in_hours"] = sum(v for (h, w), v in hour.items() if w == "in")
    e["out_hours"] = e["total"] - e["in_hours"]
    for (h, w), v in hour.items():
        e[f"hour.{h}.{w}"] = v
    for d in range(7):
        e[f"weekday.{d}"] = weekday[d]
    for o in range(6):
        e[f"outcome.{o}"] = outcome[o]
    if first:
        e["first_p50"], e["first_p90"] = nearest_rank(first, 50), nearest_rank(first, 90)
    e["first_n"] = len(first)
    for h in range(24):
        e[f"hour.{h}.first_n"] = len(by_hour[h])
        e[f"hour.{h}.first_p50"] = nearest_rank(by_hour[h], 50) if by_hour[h] else None
        e[f"hour.{h}.first_p90"] = nearest_rank(by_hour[h], 90) if by_hour[h] else None
    waits = [secs(r["assigned_at"]) - secs(r["created_at"]) for r in rows if r["assigned_at"]]
    e["wait_p50"] = nearest_rank(waits, 50) if waits else None
    handled = [secs(r["closed_at"]) - secs(r["assigned_at"]) for r in rows
               if r["state"] == "closed" and r["assigned_at"]]
    e["handling_avg"] = math.floor(sum(handled) / len(handled) + 0.5) if handled else None
    e["by_agent"], e["resolved"], e["fcr"] = by_agent, resolved, fcr
    e["fcr_pct"] = pct(fcr, by_agent)
    for (channel, n) in db.execute(
            "SELECT channel, count(*) FROM conversations WHERE created_at >= ? AND "
            "created_at < ? AND (? IS NULL OR coalesce(entry_queue, queue) = ?) GROUP BY 1",
            (START, END, queue, queue)):
        e[f"channel.{channel}"] = n
    # contact reasons, this period and the one of the same length before
    for label, lo, hi in (("", START, END), (".prev", PREV, START)):
        for tag, n in db.execute(
                "SELECT t.tag, count(*) FROM conversation_tags t, conversations c WHERE "
                "c.id = t.conversation_id AND c.created_at >= ? AND c.created_at < ? AND "
                "(? IS NULL OR coalesce(c.entry_queue, c.queue) = ?) GROUP BY 1",
                (lo, hi, queue, queue)):
            e[f"tag.{tag}{label}"] = n
    for key in [k for k in e if k.startswith("tag.") and not k.endswith(".prev")]:
        e.setdefault(key + ".prev", 0)
    for key in [k[:-5] for k in e if k.startswith("tag.") and k.endswith(".prev")]:
        e.setdefault(key, 0)
        e[key + ".change"] = e[key] - e[key + ".prev"]
    missed = dict(db.execute(
        "SELECT m.agent_jid, count(*) FROM missed_offers m, conversations c WHERE "
        "c.id = m.conversation_id AND c.created_at >= ? AND c.created_at < ? AND "
        "(? IS NULL OR coalesce(c.entry_queue, c.queue) = ?) GROUP BY 1",
        (START, END, queue, queue)).fetchall())
    has_ratings = db.execute("SELECT count(*) FROM sqlite_master WHERE name = 'ratings'"
                             ).fetchone()[0]
    scores = {}
    if has_ratings:
        for agent, score in db.execute(
                "SELECT c.agent_jid, g.score FROM ratings g, conversations c WHERE "
                "c.id = g.conversation_id AND g.score IS NOT NULL AND c.created_at >= ? AND "
                "c.created_at < ? AND (? IS NULL OR coalesce(c.entry_queue, c.queue) = ?)",
                (START, END, queue, queue)):
            scores.setdefault(agent, []).append(score)
    for jid, a in agents.items():
        e[f"agent.{jid}.chats"] = a["chats"]
        e[f"agent.{jid}.closed"] = a["closed"]
        e[f"agent.{jid}.fcr_pct"] = pct(a["fcr"], a["closed"])
        e[f"agent.{jid}.missed"] = missed.get(jid, 0)
        e[f"agent.{jid}.first_p50"] = nearest_rank(a["first"], 50) if a["first"] else None
        e[f"agent.{jid}.handling_avg"] = math.floor(
            sum(a["handling"]) / len(a["handling"]) + 0.5) if a["handling"] else None
        s = scores.get(jid, [])
        e[f"agent.{jid}.rating"] = math.floor(100 * sum(s) / len(s) + 0.5) if s else 0
    all_scores = [x for s in scores.values() for x in s]
    e["ratings"] = len(all_scores)
    if all_scores:
        e["rating_avg"] = math.floor(100 * sum(all_scores) / len(all_scores) + 0.5)
        for k in range(1, 6):
            e[f"score.{k}"] = all_scores.count(k)
    tq = "" if queue is None else \
        " AND conversation_id IN (SELECT id FROM conversations WHERE " \
        "coalesce(entry_queue, queue) = '%s')" % queue
    e["tasks_created"] = db.execute(
        "SELECT count(*) FROM tasks WHERE created_at >= ? AND created_at < ?" + tq,
        (START, END)).fetchone()[0]
    e["tasks_done"] = db.execute(
        "SELECT count(*) FROM tasks WHERE status = 'done' AND done_at >= ? AND done_at < ?"
        + tq, (START, END)).fetchone()[0]
    e["tasks_overdue"] = db.execute(
        "SELECT count(*) FROM tasks WHERE status = 'open' AND due_at < ? AND created_at < ?"
        + tq, (END, END)).fetchone()[0]
    db.close()
    return e


def check_all(page: Figures, e: dict):
    wrong = []
    for key, want in e.items():
        got = page.v.get(key, "missing")
        if want is None:
            ok = got == ""
        else:
            ok = got == str(want)
        if not ok:
            wrong.append(f"{key}: page {got!r}, SQL {want!r}")
    assert not wrong, "\n".join(wrong)


def test_every_figure_agrees_with_sql(month):
    d, db, conf = month
    out = d / "report.html"
    r = report(conf, "--since", SINCE, "--until", UNTIL, out=out)
    assert r.returncode == 0, r.stderr
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    html = out.read_text()
    page = parse(html)
    e = expected(db)
    assert e["out_hours"] > e["total"] / 2             # the generator's promise
    assert len({k.split(".")[1] for k in e if k.startswith("channel.")}) == 4
    assert len({k.split(".")[1] for k in e if k.startswith("agent.")}) == 8
    check_all(page, e)
    # the page has figures for all of it, and nothing beyond what was checked but derived ones
    unchecked = {k for k in page.v if k not in e}
    assert all(k.endswith((".pct", ".cum", "since", "until", "ratings_asked"))
               or k == "out_hours_pct" for k in unchecked), unchecked
    assert "NaN" not in html and "<script" not in html.lower()
    assert "http://" not in html and "https://" not in html   # nothing fetched
    assert html.count("<svg") >= 6
    assert page.v["out_hours_pct"] == str(pct(e["out_hours"], e["total"]))


def test_one_queue(month):
    d, db, conf = month
    out = d / "billing.html"
    r = report(conf, "--since", SINCE, "--until", UNTIL, "--queue", "billing", out=out)
    assert r.returncode == 0, r.stderr
    page = parse(out.read_text())
    assert page.text["queue"] == "billing"
    check_all(page, expected(db, "billing"))


def test_empty_period_says_so(month):
    d, db, conf = month
    out = d / "empty.html"
    r = report(conf, "--since", "2020-01-01", "--until", "2020-01-31", out=out)
    assert r.returncode == 0, r.stderr
    html = out.read_text()
    page = parse(html)
    assert page.v["total"] == "0" and page.v["empty"] == "1"
    assert "No contacts in this period." in html
    assert page.v["first_p50"] == "" and page.v["fcr_pct"] == "" and "NaN" not in html


def test_bad_input(month):
    d, db, conf = month
    r = report(conf, "--since", "2026-10-10", "--until", "2026-10-01")
    assert (r.returncode, r.stdout) == (2, "")
    assert "--since must come before --until" in r.stderr
    r = report(conf, "--since", "2026-10-01", "--until", "2026-10-01T00:00:00Z")
    assert r.returncode == 2 and "--since must come before --until" in r.stderr
    r = report(conf, "--queue", "nosuch", out=d / "x.html")
    assert r.returncode == 2 and 'no queue "nosuch"' in r.stderr
    assert not (d / "x.html").exists()
    r = report(conf, "--since", "2026-02-30")
    assert r.returncode == 2 and 'bad date "2026-02-30"' in r.stderr
    r = report(conf, "extra")
    assert r.returncode == 2 and 'unexpected argument "extra"' in r.stderr
    r = report(d / "missing.conf")
    assert r.returncode == 1


async def test_page_in_chromium(month, browser):
    d, db, conf = month
    out = d / "shown.html"
    assert report(conf, "--since", SINCE, "--until", UNTIL, out=out).returncode == 0
    page = await browser.page("report", width=900, height=1200)
    await page.goto(out.as_uri())
    assert await page.eval("document.title") == "respa report"
    # the charts are drawn: bars with a height, and the page asked for nothing else
    bars = await page.eval("document.querySelectorAll('svg rect[height]').length")
    assert bars > 48
    tall = await page.eval(
        "Math.max(...[...document.querySelectorAll('svg')].map(s => "
        "s.getBoundingClientRect().height))")
    assert tall > 100
    resources = await page.eval("performance.getEntriesByType('resource').length")
    assert resources == 0
    shot = artifacts_dir() / "test_report-page.png"
    await page.eval("window.scrollTo(0, 0)")
    shot.parent.mkdir(parents=True, exist_ok=True)
    await browser.call("screenshot", name="report", path=str(shot), full=True)
    assert shot.stat().st_size > 10000
