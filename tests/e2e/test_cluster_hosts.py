"""[component] host lists the servers of a cluster: respa connects to the first that answers,
says which in its log and its metrics file, and moves on to the next when its server goes."""
import re

from harness import Prosody, free_port, port_open
from test_metrics import promtool_check, wait_metrics

READY = re.compile(r"\bready\b")


def metrics_config(tmp_path, host: str) -> dict:
    return {"component": {"host": host, "port": 1},
            "metrics": {"file": str(tmp_path / "metrics.prom"), "interval": 1}}


async def test_a_closed_first_server_is_skipped(respa, prosody, tmp_path):
    closed = free_port()
    assert not port_open(closed)
    live = f"127.0.0.1:{prosody.component_port}"
    r = respa(config=metrics_config(tmp_path, f"127.0.0.1:{closed}, {live}"))
    log = r.log_text()
    assert f"connecting to 127.0.0.1:{closed} as support.localhost" in log
    assert f"trying the next server, {live}" in log
    assert f"connected to {live} as support.localhost" in log
    assert "reconnecting in" not in log          # no backoff inside a round
    values = await wait_metrics(tmp_path / "metrics.prom",
                                lambda v: v.get("respa_component_connected") == 1)
    assert values[f'respa_component_server_connected{{server="{live}"}}'] == 1
    assert values[f'respa_component_server_connected{{server="127.0.0.1:{closed}"}}'] == 0
    promtool_check(tmp_path / "metrics.prom")


async def test_respa_moves_on_when_its_server_stops(respa, prosody, tmp_path):
    other = Prosody(tmp_path / "prosody-b")
    other.start()
    try:
        a = f"127.0.0.1:{prosody.component_port}"
        b = f"127.0.0.1:{other.component_port}"
        r = respa(config=metrics_config(tmp_path, f"{a} {b}"))
        assert f"connected to {a} as support.localhost" in r.log_text()
        mark = r.log_mark()
        await prosody.stop_async()
        await r.wait_for_log_async(f"connected to {b} as support.localhost", since=mark,
                                   timeout=15)
        await r.wait_for_log_async(READY, since=mark, timeout=15)
        values = await wait_metrics(
            tmp_path / "metrics.prom",
            lambda v: v.get(f'respa_component_server_connected{{server="{b}"}}') == 1)
        assert values[f'respa_component_server_connected{{server="{a}"}}'] == 0
        assert values["respa_component_reconnects_total"] >= 1

        # b goes too: a full round fails, then respa backs off and comes back to a
        mark = r.log_mark()
        prosody.start()
        await other.stop_async()
        await r.wait_for_log_async(f"connected to {a} as support.localhost", since=mark,
                                   timeout=15)
        await r.wait_for_log_async(READY, since=mark, timeout=15)
        assert r.running
    finally:
        other.stop()
