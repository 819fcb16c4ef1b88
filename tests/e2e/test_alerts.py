"""Alerts to supervisors and overflow between queues (issue 16), end to end through Prosody:
a supervisor who is not an agent hears of a long wait from the component's address, once,
and can mute alerts; a chat nobody in support is free for moves to the sales queue."""
from desk import ASSIGNED, GREETING, QUEUE, jid
from harness import COMPONENT_JID
from test_care import chat_and_close, hook_script

SALES = f"sales@{COMPONENT_JID}"


async def test_a_long_wait_alerts_a_supervisor_once(desk):
    await desk.start(agents=["alice"], online=[], queue={"alert_wait": 2, "max_wait": 600},
                     extra={"admin": {"supervisors": [jid("boss")], "alert_cooldown": "10m"}})
    boss = await desk.customer("boss")
    bob = await desk.customer("bob")
    bob.send(QUEUE, "Is anyone there?")
    await bob.expect(GREETING, frm=QUEUE)
    await bob.expect("You are number 1 in line.", frm=QUEUE)
    alert = await boss.expect("A customer has waited", frm=COMPONENT_JID)
    assert alert["body"] == ("A customer has waited 0 min in support (1 waiting, nobody "
                             "free). Chat #1.")
    carol = await desk.customer("carol")     # a new event in the same episode: no second one
    carol.send(QUEUE, "Me too")
    await carol.expect(GREETING, frm=QUEUE)
    await carol.expect("You are number 2 in line.", frm=QUEUE)
    await boss.no_message(3, frm=COMPONENT_JID)

    boss.send(COMPONENT_JID, "!alerts off")
    await boss.expect("Alerts are off until you write !alerts on.", frm=COMPONENT_JID)
    bob.send(COMPONENT_JID, "!alerts off")   # not a supervisor
    err = await bob.expect_error("forbidden", frm=COMPONENT_JID)
    assert "Only supervisors and admins get alerts" in str(err)
    await bob.no_message(0.5)
    assert "alert (wait): A customer has waited 0 min in support" in desk.r.log_text()


async def test_a_chat_overflows_to_sales_after_the_wait(desk):
    desk.prosody.register("carol")
    await desk.start(agents=["alice", "carol"], online=["carol"],
                     queue={"agents": [jid("alice")], "overflow": "sales",
                            "overflow_wait": 2},
                     extra={"queue sales": {"name": "Sales", "agents": [jid("carol")]}})
    carol = desk.agent("carol")
    bob = await desk.customer("bob")
    bob.send(QUEUE, "My order is late")
    await bob.expect(GREETING, frm=QUEUE)
    await carol.no_message(1.5)              # not before overflow_wait
    header = await carol.expect("New chat #1", timeout=5)
    conv = header["from"].bare
    await carol.expect(lambda m: m["body"] == "My order is late", frm=conv)
    await bob.expect(ASSIGNED, frm=QUEUE)    # still from the address he wrote to
    row = desk.conversation(1)
    assert (row["queue"], row["entry_queue"], row["state"], row["agent_jid"]) == (
        "sales", "support", "active", jid("carol"))
    assert "conversation 1: overflowed from support to sales" in desk.r.log_text()


async def test_a_hook_that_keeps_failing_alerts_once(desk, tmp_path):
    hook = hook_script(tmp_path, "exit 3")
    r = await desk.start(extra={"crm": {"hook": hook, "hook_retries": 5},
                                "admin": {"supervisors": [jid("boss")]}},
                         env={"RESPA_HOOK_BACKOFF": "1"})
    boss = await desk.customer("boss")
    bob = await desk.customer("bob")
    n = await chat_and_close(desk, bob, "a question", "an answer", "Answered")
    alert = await boss.expect("The CRM hook", frm=COMPONENT_JID, timeout=15)
    assert alert["body"] == (f"The CRM hook {hook} failed 3 times in a row; the last: "
                             "exited 3.")
    await r.wait_for_log_async(f"conversation {n}: exited 3 (attempt 5 of 6)", timeout=15)
    await boss.no_message(0.5, frm=COMPONENT_JID)   # failures 4 and 5: within the cooldown
