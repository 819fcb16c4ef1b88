"""Supervisors: two of them follow one chat from its mirror address m-N (one by the ad-hoc
command monitor, one by !monitor N), whisper to the agent, barge in, and take the chat over.
The whisper reaches nothing the customer gets: no message, not the transcript mail."""
from adhoc import Commander
from desk import CLOSED, QUEUE, conv_id, exact
from harness import COMPONENT_JID
from test_care import export_jsonl
from test_mail import body, mail_conf, sink  # noqa: F401 (sink is a fixture)

ALICE, SUE, ANN = "alice@localhost", "sue@localhost", "ann@localhost"
FOLLOWED = "A supervisor is following this chat."
WHISPER = "offer the loyalty discount"


async def test_two_supervisors_monitor_whisper_barge_and_take_over(desk, sink):
    await desk.start(agents=["alice", "sue"], show={"sue": "away"},
                     queue={"transcript": "always"},
                     extra={**mail_conf(sink),
                            "admin": {"jids": ANN, "supervisors": SUE}})
    alice, sue = desk.agent("alice"), desk.agent("sue")
    ann = await desk.customer("ann")     # an admin, not an agent
    bob = await desk.customer("bob")
    conv = await desk.open_chat(bob, alice, "my invoice is wrong")
    n = conv_id(conv)
    mirror = f"m-{n}@{COMPONENT_JID}"
    alice.send(conv, "/contact email=bob@example.com")
    await alice.expect("Contact", frm=conv)
    alice.send(conv, "Let me look")
    await bob.expect(exact("Let me look"), frm=QUEUE)

    # an agent who is no supervisor may not monitor, nor write to the mirror
    assert "monitor" not in await Commander(alice).nodes()
    alice.send(COMPONENT_JID, f"!monitor {n}")
    await alice.expect_error("forbidden", frm=COMPONENT_JID)
    alice.send(mirror, "psst")
    await alice.expect_error("forbidden", frm=mirror)

    # sue by a chat command, ann by the ad-hoc command: the transcript so far, then live
    sue.send(COMPONENT_JID, f"!monitor {n}")
    header = await sue.expect(f"Monitoring chat #{n} from bob@localhost", frm=mirror)
    assert "!barge text" in header["body"]
    await sue.expect(exact("my invoice is wrong"), frm=mirror)
    await sue.expect(exact(f"[answer by {ALICE}] Let me look"), frm=mirror)
    await alice.expect(exact(FOLLOWED), frm=conv)
    admin = Commander(ann)
    r = await admin.execute("monitor")
    assert f"c-{n}" in r.choices("chat")
    r = await admin.complete(r, chat=f"c-{n}")
    assert r.status == "completed" and f"You monitor chat #{n}" in r.note(), r
    await ann.expect(f"Monitoring chat #{n}", frm=mirror)
    await ann.expect(exact("my invoice is wrong"), frm=mirror)
    await alice.expect(exact(FOLLOWED), frm=conv)

    bob.send(QUEUE, "it says 200 EUR")
    await alice.expect(exact("it says 200 EUR"), frm=conv)
    for s in (sue, ann):
        await s.expect(exact("[customer] it says 200 EUR"), frm=mirror)
    alice.send(conv, "checking")
    await bob.expect(exact("checking"), frm=QUEUE)
    for s in (sue, ann):
        await s.expect(exact(f"[{ALICE}] checking"), frm=mirror)

    # the whisper: to the agent and the other supervisor only
    sue.send(mirror, WHISPER)
    await alice.expect(exact(f"[whisper from {SUE}] {WHISPER}"), frm=conv)
    await ann.expect(exact(f"[whisper from {SUE}] {WHISPER}"), frm=mirror)

    # the barge: to the customer as the desk
    ann.send(mirror, "!barge We are on it")
    await bob.expect(exact("We are on it"), frm=QUEUE)
    await alice.expect(exact(f"[barge by {ANN}] We are on it"), frm=conv)
    await sue.expect(exact(f"[barge by {ANN}] We are on it"), frm=mirror)

    # the takeover: the chat moves to sue, alice gets her slot back
    sue.send(mirror, "/takeover")
    await alice.expect(f"{SUE}, a supervisor, took chat #{n} over", frm=conv)
    await sue.expect(f"Transferred chat #{n} from bob@localhost", frm=conv)
    await sue.expect(exact(f"[note by {SUE}] {WHISPER}"), frm=conv)
    await bob.expect("transferred to another agent", frm=QUEUE)
    await sue.expect(exact(FOLLOWED), frm=conv)     # ann still follows it
    await ann.expect(exact(f"[the chat is now with {SUE}]"), frm=mirror)
    assert desk.conversation(conv)["agent_jid"] == SUE
    assert desk.active_per_agent() == {SUE: 1}
    sue.send(conv, "Fixed: 100 EUR")
    await bob.expect(exact("Fixed: 100 EUR"), frm=QUEUE)
    await ann.expect(exact(f"[{SUE}] Fixed: 100 EUR"), frm=mirror)

    # the close ends the monitoring; a barge after it is told so
    sue.send(conv, "/close done")
    await bob.expect(CLOSED, frm=QUEUE)
    await ann.expect(f"Chat #{n} closed: you no longer monitor it.", frm=mirror)
    ann.send(mirror, "!barge too late")
    await ann.expect(exact(f"Chat #{n} is closed or unknown: nothing was sent."), frm=mirror)
    sue.send(COMPONENT_JID, f"!monitor {n}")
    await sue.expect(exact(f"Chat #{n} is not open (closed or unknown): nothing to monitor."),
                     frm=COMPONENT_JID)

    # stored: the whisper as a note, the barge as ann's answer
    lines = desk.transcript(conv)
    assert ("note", SUE, WHISPER) in lines and ("out", ANN, "We are on it") in lines
    # nothing the customer got holds the whisper: not a message, not the transcript mail
    msg = await sink.wait_for(lambda m: m["To"].addresses[0].addr_spec == "bob@example.com")
    text = body(msg)
    assert "We are on it" in text and "Fixed: 100 EUR" in text
    assert WHISPER not in text and "whisper" not in text and SUE not in text
    got = [m["body"] for m in bob.messages.history if m.name == "message"]
    assert "We are on it" in got
    assert not [b for b in got if WHISPER in b or "whisper" in b or "supervisor" in b], got
    await bob.no_message(0.3, frm=QUEUE)
    # the export's record: the whisper only as a note; the lines the customer saw lack it
    [record] = export_jsonl(desk.r)
    said = [m for m in record["transcript"] if m["direction"] in ("in", "out")]
    assert [m["body"] for m in said if m["from"] == ANN] == ["We are on it"]
    assert not [m for m in said if WHISPER in m["body"]]
    assert [(m["direction"], m["from"]) for m in record["transcript"]
            if m["body"] == WHISPER] == [("note", SUE)]
