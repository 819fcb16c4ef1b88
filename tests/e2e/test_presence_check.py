"""[routing] presence_check: agents counted online are probed again on a slow timer, so an
agent whose server vanished without a word (a killed ejabberd cluster node) is not counted
online for ever; agents counted offline are not probed."""
import asyncio
import re
import time

from desk import jid


def probes_to(prosody, who: str, since: int) -> int:
    text = prosody.log_path.read_text(errors="replace")[since:]
    return len(re.findall(rf"<presence[^>]*to='{re.escape(jid(who))}'[^>]*type='probe'|"
                          rf"<presence[^>]*type='probe'[^>]*to='{re.escape(jid(who))}'", text))


async def test_agents_counted_online_are_probed_again(desk):
    desk.prosody.register("bob")                          # an agent who is not online
    r = await desk.start(agents=["alice", "bob"], online=["alice"],
                         extra={"routing": {"presence_check": "1"}})
    since = desk.prosody.log_path.stat().st_size
    deadline = time.monotonic() + 10
    while probes_to(desk.prosody, "alice", since) < 2:
        assert time.monotonic() < deadline, "alice was not probed twice within 10 s"
        await asyncio.sleep(0.1)
    assert probes_to(desk.prosody, "bob", since) == 0
    assert r.running
