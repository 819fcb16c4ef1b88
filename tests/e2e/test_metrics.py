"""[metrics] file: the Prometheus text file respa rewrites on a timer (promtool checks it),
with per-queue gauges and counters that follow a real chat; a directory that does not exist
is a configuration error at start."""
import re
import subprocess
import time
from pathlib import Path


from desk import CLOSED, QUEUE


def read_metrics(path: Path) -> dict[str, float]:
    """'name{labels}' -> value, from the file as a node_exporter would read it."""
    values = {}
    for line in path.read_text().splitlines():
        if line and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            values[key] = float(value)
    return values


async def wait_metrics(path: Path, cond, timeout: float = 10.0) -> dict[str, float]:
    """Polls the file until cond(values) holds; the file is replaced whole, never half."""
    import asyncio
    deadline = time.monotonic() + timeout
    values: dict[str, float] = {}
    while time.monotonic() < deadline:
        if path.exists():
            values = read_metrics(path)
            if cond(values):
                return values
        await asyncio.sleep(0.1)
    raise AssertionError(f"metrics never matched; last read: {values}")


def promtool_check(path: Path) -> None:
    res = subprocess.run(["promtool", "check", "metrics"], input=path.read_text(),
                         capture_output=True, text=True, timeout=30)
    assert res.returncode == 0, res.stdout + res.stderr


async def test_metrics_file_follows_the_desk(desk, tmp_path):
    path = tmp_path / "metrics" / "respa.prom"
    path.parent.mkdir()
    await desk.start(capacity={"alice": 1},
                         extra={"metrics": {"file": str(path), "interval": "1"}})
    q = 'queue="support"'
    values = await wait_metrics(path, lambda v: v.get(f'respa_queue_agents{{{q},state="ready"}}') == 1)
    promtool_check(path)
    assert values[f"respa_queue_waiting{{{q}}}"] == 0
    assert values[f"respa_queue_open{{{q}}}"] == 1
    assert values["respa_component_connected"] == 1
    assert values["respa_conversations_opened_total"] == 0
    assert 0 < values["respa_start_time_seconds"] <= time.time()

    alice = desk.agent("alice")
    bob = await desk.customer("bob")
    conv = await desk.open_chat(bob, alice, "hello")
    alice.send(conv, "hi bob")
    await bob.expect("hi bob", frm=QUEUE)
    carol = await desk.customer("carol")            # alice is full: carol waits
    carol.send(QUEUE, "anyone?")
    await carol.expect("All our agents are busy", frm=QUEUE)
    values = await wait_metrics(path, lambda v: v.get(f"respa_queue_waiting{{{q}}}") == 1
                                and v.get(f"respa_queue_longest_wait_seconds{{{q}}}", 0) >= 1)
    promtool_check(path)
    assert values[f'respa_queue_agents{{{q},state="busy"}}'] == 1
    assert values[f'respa_queue_agents{{{q},state="ready"}}'] == 0
    assert values["respa_conversations_opened_total"] == 2
    assert values['respa_messages_relayed_total{direction="in"}'] == 2   # carol's waits
    assert values['respa_messages_relayed_total{direction="out"}'] == 1
    assert values["respa_assignments_total"] == 1
    assert values["respa_commit_duration_seconds_count"] > 0
    assert values['respa_commit_duration_seconds_bucket{le="+Inf"}'] == \
        values["respa_commit_duration_seconds_count"]
    assert values["respa_commits_failed_total"] == 0

    alice.send(conv, "/close Done")                   # carol's chat goes to alice
    await bob.expect(CLOSED, frm=QUEUE)
    await alice.expect("New chat #")
    await wait_metrics(path, lambda v: v.get(f"respa_queue_waiting{{{q}}}") == 0
                       and v.get("respa_assignments_total") == 2)
    assert not list(path.parent.glob("*.tmp"))         # written beside, renamed into place


def test_metrics_directory_must_exist_at_start(respa, tmp_path):
    r = respa(config={"metrics": {"file": str(tmp_path / "nope" / "respa.prom")}}, start=False)
    res = r.check_config()
    assert res.returncode == 1
    assert re.search(r"respa\.conf:\d+: file: the directory .*/nope does not exist",
                     res.stderr), res.stderr
    r = respa(config={"metrics": {"file": "respa.prom"}}, start=False)
    res = r.check_config()
    assert res.returncode == 1 and "file must be an absolute path" in res.stderr
