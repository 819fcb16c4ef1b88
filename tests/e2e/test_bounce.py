"""No chat lost to a dead client: an agent's client killed while Prosody keeps its session
hibernating (XEP-0198), and a chat's transcript sent again to the client that asks. The
routing decisions of each bounce are tested in process (tests/unit/test_flow.c)."""
import pytest

from adhoc import Commander
from desk import ASSIGNED, CLOSED, GREETING, QUEUE, conv_id, exact, headline

ALICE = "alice@localhost"
ADMINS = {"admin": {"jids": "admin@localhost"}}


@pytest.mark.prosody(agent_hibernation_time=2)
async def test_new_chat_for_a_killed_client_comes_back_to_its_restarted_client(desk):
    """respa still sees the dead client online and gives it the chat; when Prosody ends the
    hibernated session, the header bounces, the chat goes back to the front of the line, and
    the agent's restarted client gets it. The customer hears "joined" once."""
    await desk.start(agents=["alice"], online=[], extra={"routing": {"reject_delay": 1}})
    alice = await desk.login("alice", smacks=True)
    await desk.seen_as("alice", "available", since=0)
    mark = desk.r.log_mark()
    alice.kill()                      # no </stream:stream>: Prosody hibernates the session

    carol = await desk.customer("carol")
    carol.send(QUEUE, "my parcel is late")
    await carol.expect(exact(GREETING), frm=QUEUE)
    await carol.expect(exact(ASSIGNED), frm=QUEUE)    # respa believed alice was there
    n = await _assigned(desk, mark)
    carol.send(QUEUE, "hello?")
    await desk.stored(2)

    await desk.r.wait_for_log_async(f"conversation {n}: {ALICE} never got the chat",
                                    since=mark, timeout=15)
    await desk.seen_as("alice", "offline", since=mark)
    row = desk.conversation(n)
    assert (row["state"], row["agent_jid"]) == ("queued", None)

    again = await desk.login("alice", resource="restarted")
    header = await again.expect(headline(
        f"New chat #{n} from carol@localhost in Support (xmpp). "
        "Write here to answer; !help lists the commands."), timeout=10)
    conv = header["from"].bare
    lines = [await again.expect(frm=conv) for _ in range(2)]
    assert [m["body"] for m in lines] == ["my parcel is late", "hello?"]
    again.send(conv, "Sorry for the wait: which parcel?")
    await carol.expect(exact("Sorry for the wait: which parcel?"), frm=QUEUE)
    await carol.no_message(0.3)       # no second "An agent has joined", nothing else
    assert desk.conversation(n)["agent_jid"] == ALICE



@pytest.mark.prosody(agent_hibernation_time=2)
async def test_answered_chat_comes_again_to_the_agents_new_client_within_the_grace(desk):
    """The agent had answered: the chat waits for them (agent_grace), and their new client
    gets the header and the whole transcript, with the line their dead one never showed."""
    await desk.start(agents=["alice"], online=[], extra={"routing": {"agent_grace": 30}})
    alice = await desk.login("alice", smacks=True)
    await desk.seen_as("alice", "available", since=0)
    carol = await desk.customer("carol")
    conv = await desk.open_chat(carol, alice, "my card was declined")
    n = conv_id(conv)
    alice.send(conv, "Which card?")
    await carol.expect(exact("Which card?"), frm=QUEUE)
    mark = desk.r.log_mark()
    alice.kill()
    carol.send(QUEUE, "the visa")       # into the hibernated session
    await desk.stored(3)

    await desk.r.wait_for_log_async(f"conversation {n}: a message to {ALICE} bounced",
                                    since=mark, timeout=15)
    await desk.seen_as("alice", "offline", since=mark)
    assert desk.conversation(n)["agent_jid"] == ALICE
    again = await desk.login("alice", resource="restarted")
    await again.expect(headline(
        f"Chat #{n} from carol@localhost in Support (xmpp). Your client missed part of this "
        "chat: here it is again. Write here to answer; !help lists the commands."))
    lines = [await again.expect(frm=conv) for _ in range(3)]
    assert [m["body"] for m in lines] == [
        "my card was declined", f"[answer by {ALICE}] Which card?", "the visa"]
    again.send(conv, "The visa: let me look")
    await carol.expect(exact("The visa: let me look"), frm=QUEUE)
    await carol.no_message(0.3)         # not told the agent was disconnected


@pytest.mark.prosody(agent_hibernation_time=2)
async def test_bounces_for_a_closed_chat_are_ignored_and_logged_once(desk):
    """The chat is closed while the dead client's session hibernates: what it held bounces
    later, for a chat that no longer exists. Ignored, one log line, and the agent's next
    client gets chats as usual."""
    await desk.start(agents=["alice"], online=[], extra=ADMINS)
    alice = await desk.login("alice", smacks=True)
    await desk.seen_as("alice", "available", since=0)
    mark = desk.r.log_mark()
    alice.kill()
    carol = await desk.customer("carol")
    carol.send(QUEUE, "hello")
    await carol.expect(exact(ASSIGNED), frm=QUEUE)
    n = await _assigned(desk, mark)
    admin = Commander(await desk.customer("admin"))
    r = await admin.execute("conversation-close")
    r = await admin.complete(r, chat=f"c-{n}", reason="duplicate")
    assert r.status == "completed", r
    await carol.expect(CLOSED, frm=QUEUE)

    await desk.r.wait_for_log_async(f"messages of closed conversation c-{n} bounced",
                                    since=mark, timeout=15)
    await desk.seen_as("alice", "offline", since=mark)
    log = desk.r.log_text()
    assert log.count(f"messages of closed conversation c-{n} bounced") == 1
    # the header, the line and both closing notes bounced: the others only at debug level
    await desk.r.wait_for_log_async(f"message error from {ALICE} to closed c-{n}",
                                    since=mark)
    again = await desk.login("alice", resource="restarted")
    await desk.seen_as("alice", "available", since=mark)
    dave = await desk.customer("dave")
    await desk.open_chat(dave, again, "dave here")


async def test_transcript_goes_to_the_client_that_asks(desk):
    """A second client that connects mid-chat gets the header and the lines so far, by
    /transcript in the chat or by the transcript command; the first client gets nothing.
    Someone else's chat is forbidden."""
    await desk.start(agents=["alice", "bob"])
    alice, bob = desk.agent("alice"), desk.agent("bob")
    carol = await desk.customer("carol")
    conv = await desk.open_chat(carol, alice, "my order is late")  # longest idle: alice
    alice.send(conv, "Which order?")
    await carol.expect(exact("Which order?"), frm=QUEUE)
    carol.send(QUEUE, "number 42")
    await alice.expect(exact("number 42"), frm=conv)

    phone = await desk.login("alice", resource="phone")
    phone.send(conv, "/transcript")
    n = conv_id(conv)
    want = [f"Transcript of chat #{n} from carol@localhost in Support (xmpp). "
            "The lines so far follow.",
            "my order is late", f"[answer by {ALICE}] Which order?", "number 42"]
    got = [await phone.expect(frm=conv) for _ in want]
    assert [m["body"].split("\n")[0] for m in got] == want
    assert all(m["delay"]["stamp"] is not None for m in got[1:])
    await alice.no_message(0.3, frm=conv)      # to the client that asked only
    await carol.no_message(0, frm=QUEUE)       # a command, never relayed

    cmd = Commander(phone)
    r = await cmd.execute("transcript")
    assert [o for o in r.options("chat") if o != "*"] == [conv.split("@")[0]]
    r = await cmd.complete(r, chat=conv.split("@")[0])
    assert r.status == "completed", r
    got = [await phone.expect(frm=conv) for _ in want]
    assert [m["body"].split("\n")[0] for m in got] == want

    bob.send(conv, "/transcript")
    err = await bob.expect_error("forbidden", frm=conv)
    assert err is not None
    await bob.no_message(0.3, frm=conv)
    r = await Commander(bob).execute("transcript")
    assert [o for o in r.options("chat") if o != "*"] == []             # not even listed
    r = await Commander(bob).complete(r, chat=conv.split("@")[0])
    assert r.status == "executing" and r.note("error"), r
    await bob.no_message(0.3, frm=conv)


async def _assigned(desk, since: int) -> int:
    """The number of the chat respa gave alice since the log mark."""
    line = await desk.r.wait_for_log_async(f"assigned to {ALICE}", since=since)
    return int(line.split("conversation ")[1].split(" ")[0])
