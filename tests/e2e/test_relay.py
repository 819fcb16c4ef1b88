"""Relay fidelity: chat states, receipts, corrections, markers and links cross between customer
and agent, each relayed message under an id of respa's own, the ids they refer to mapped to
the other side's; anything else is stripped; only bodies are stored."""
import pytest
from slixmpp.xmlstream import ET
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import StanzaPath

from desk import QUEUE
from harness import Mailbox, _describe, _jid_matches

pytestmark = pytest.mark.ejabberd   # also run against ejabberd (tests/run)

ALICE = "alice@localhost"
CHATSTATES = "http://jabber.org/protocol/chatstates"
RECEIPTS = "urn:xmpp:receipts"
CORRECT = "urn:xmpp:message-correct:0"
MARKERS = "urn:xmpp:chat-markers:0"
OOB = "jabber:x:oob"
XHTML_IM = "http://jabber.org/protocol/xhtml-im"
UNKNOWN = "urn:example:unknown"


class Side:
    """One end of the chat: its client, the address it writes to, every message it receives
    (the client's own mailbox sees only messages with a body)."""

    def __init__(self, name, client, to):
        self.name, self.client, self.to = name, client, to
        self.box = Mailbox(_describe)
        client.xmpp.register_handler(Callback(f"relay test {name}", StanzaPath("message"),
                                              self.box.put))

    def send(self, body=None, *payloads, mid=None):
        """A chat message with body (None: none) and raw XML payloads; returns its id."""
        m = self.client.xmpp.make_message(mto=self.to, mbody=body, mtype="chat")
        m["id"] = mid or self.client.xmpp.new_id()
        for p in payloads:
            m.append(ET.fromstring(p))
        m.send()
        return m["id"]

    async def got(self, what, pred=lambda x: True, timeout=10.0):
        """The first message from the other side for which pred(its XML) holds."""
        __tracebackhide__ = True
        # each side hears the other from the address it writes to
        st = await self.box.expect(
            lambda m: m["type"] == "chat" and _jid_matches(m["from"], self.to)
            and pred(m.xml), timeout, what)
        self.client.messages.take(lambda m: m["id"] == st["id"])   # the body event's copy
        return st

    async def nothing_but(self, what, pred):
        """The next message that arrives is the one pred describes (a barrier sent after
        something that must not cross); returns it."""
        __tracebackhide__ = True
        st = await self.got(what)
        assert pred(st.xml), f"{self.name} got something else first: {ET.tostring(st.xml)}"
        return st

    def errors(self):
        return [m for m in self.box.history if m["type"] == "error"]


def q(ns, name):
    return f"{{{ns}}}{name}"


def child(xml, ns, name):
    return xml.find(q(ns, name))


def body(xml):
    b = xml.find("{jabber:client}body")
    return b.text if b is not None else None


NICK = "http://jabber.org/protocol/nick"


def tags(xml):
    """What crossed, but respa's own XEP-0172 nick on an agent's line (test_prechat.py)."""
    return sorted(c.tag for c in xml if c.tag != q(NICK, "nick"))


def has(ns, name, text=None):
    return lambda x: child(x, ns, name) is not None and (text is None or body(x) == text)


async def chat(desk):
    """An active chat: (customer side, agent side, conversation address)."""
    await desk.start(agents=["alice"])
    alice = desk.agent("alice")
    bob = await desk.customer("bob")
    conv = await desk.open_chat(bob, alice, "Hello, I need help")
    return Side("customer", bob, QUEUE), Side("agent", alice, conv), conv


async def ends(desk, direction):
    """(sender, receiver, conv) for a direction: customer->agent or agent->customer."""
    customer, agent, conv = await chat(desk)
    return (customer, agent, conv) if direction == "customer->agent" else (agent, customer, conv)


DIRECTIONS = pytest.mark.parametrize("direction", ["customer->agent", "agent->customer"])


@DIRECTIONS
async def test_chat_states_cross_and_are_not_stored(desk, direction):
    sender, receiver, conv = await ends(desk, direction)
    for state in ("composing", "paused", "active", "inactive", "gone"):
        mid = sender.send(None, f"<{state} xmlns='{CHATSTATES}'/>")
        got = await receiver.got(f"chat state {state}", has(CHATSTATES, state))
        assert tags(got.xml) == [q(CHATSTATES, state)]     # no body, nothing else
        assert got["id"] and got["id"] != mid
    # an empty body with a chat state: the chat state only
    sender.send("", f"<composing xmlns='{CHATSTATES}'/>")
    got = await receiver.got("composing", has(CHATSTATES, "composing"))
    assert tags(got.xml) == [q(CHATSTATES, "composing")]
    assert len(desk.transcript(conv)) == 1                  # only the opening message
    assert not sender.errors() and not receiver.errors()


@DIRECTIONS
async def test_receipts_refer_to_each_sides_own_ids(desk, direction):
    sender, receiver, conv = await ends(desk, direction)
    sender.send("please confirm", f"<request xmlns='{RECEIPTS}'/>", mid="sent-1")
    got = await receiver.got("message with a receipt request", has(RECEIPTS, "request"))
    assert body(got.xml) == "please confirm" and got["id"] != "sent-1"

    receiver.send(None, f"<received xmlns='{RECEIPTS}' id='{got['id']}'/>")
    ack = await sender.got("receipt", has(RECEIPTS, "received"))
    assert child(ack.xml, RECEIPTS, "received").get("id") == "sent-1"
    assert tags(ack.xml) == [q(RECEIPTS, "received")]

    # an id this side never saw (the other side's own) names nothing: the receipt is dropped
    receiver.send(None, f"<received xmlns='{RECEIPTS}' id='sent-1'/>")
    receiver.send(None, f"<active xmlns='{CHATSTATES}'/>")
    await sender.nothing_but("the chat state sent after", has(CHATSTATES, "active"))
    assert [t[2] for t in desk.transcript(conv)] == ["Hello, I need help", "please confirm"]
    assert not sender.errors() and not receiver.errors()


@DIRECTIONS
async def test_corrections_name_the_corrected_message_and_are_stored(desk, direction):
    sender, receiver, conv = await ends(desk, direction)
    sender.send("teh price is 10", mid="orig-1")
    first = await receiver.got("the first text", lambda x: body(x) == "teh price is 10")
    sender.send("the price is 10", f"<replace xmlns='{CORRECT}' id='orig-1'/>", mid="fix-1")
    fix = await receiver.got("the correction", has(CORRECT, "replace"))
    assert body(fix.xml) == "the price is 10"
    assert child(fix.xml, CORRECT, "replace").get("id") == first["id"]
    assert fix["id"] not in (first["id"], "fix-1")

    # the other way round within the same chat: the receiver corrects its own answer
    receiver.send("ok thx", mid="theirs-1")
    answer = await sender.got("the answer", lambda x: body(x) == "ok thx")
    receiver.send("ok, thanks", f"<replace xmlns='{CORRECT}' id='theirs-1'/>")
    fixed = await sender.got("its correction", has(CORRECT, "replace"))
    assert child(fixed.xml, CORRECT, "replace").get("id") == answer["id"]

    # a correction of a message respa does not know goes across as a plain message
    sender.send("and one more", f"<replace xmlns='{CORRECT}' id='never-sent'/>")
    plain = await receiver.got("the unmapped correction", lambda x: body(x) == "and one more")
    assert tags(plain.xml) == ["{jabber:client}body"]

    texts = [t[2] for t in desk.transcript(conv)]
    assert texts == ["Hello, I need help", "teh price is 10", "the price is 10", "ok thx",
                     "ok, thanks", "and one more"]


@DIRECTIONS
async def test_chat_markers_refer_to_each_sides_own_ids(desk, direction):
    sender, receiver, conv = await ends(desk, direction)
    sender.send("a markable text", f"<markable xmlns='{MARKERS}'/>", mid="mark-1")
    got = await receiver.got("markable message", has(MARKERS, "markable"))
    assert body(got.xml) == "a markable text" and got["id"] != "mark-1"

    for marker in ("received", "displayed", "acknowledged"):
        receiver.send(None, f"<{marker} xmlns='{MARKERS}' id='{got['id']}'/>")
        back = await sender.got(f"marker {marker}", has(MARKERS, marker))
        assert child(back.xml, MARKERS, marker).get("id") == "mark-1"
        assert tags(back.xml) == [q(MARKERS, marker)]

    receiver.send(None, f"<displayed xmlns='{MARKERS}' id='no-such-message'/>")
    receiver.send(None, f"<paused xmlns='{CHATSTATES}'/>")
    await sender.nothing_but("the chat state sent after", has(CHATSTATES, "paused"))
    assert len(desk.transcript(conv)) == 2
    assert not sender.errors() and not receiver.errors()


@DIRECTIONS
async def test_links_cross(desk, direction):
    sender, receiver, conv = await ends(desk, direction)
    url = "https://example.com/files/invoice-42.pdf"
    sender.send(url, f"<x xmlns='{OOB}'><url>{url}</url><desc>The invoice</desc>"
                     f"<extra xmlns='{UNKNOWN}'>x</extra></x>")
    got = await receiver.got("the link", has(OOB, "x"))
    x = child(got.xml, OOB, "x")
    assert body(got.xml) == url
    assert [(c.tag, c.text) for c in x] == [(q(OOB, "url"), url), (q(OOB, "desc"), "The invoice")]
    assert desk.transcript(conv)[-1][2] == url


@DIRECTIONS
async def test_other_payloads_are_stripped(desk, direction):
    sender, receiver, conv = await ends(desk, direction)
    sender.send("plain words",
                f"<html xmlns='{XHTML_IM}'><body xmlns='http://www.w3.org/1999/xhtml'>"
                "<p><b>bold</b> words</p></body></html>",
                f"<secret xmlns='{UNKNOWN}' id='x1'>for your eyes only</secret>",
                "<thread xmlns='jabber:client'>thread-1</thread>",
                "<subject xmlns='jabber:client'>a subject</subject>")
    got = await receiver.got("the text", lambda x: body(x) == "plain words")
    assert tags(got.xml) == ["{jabber:client}body"]
    nick = child(got.xml, NICK, "nick")
    if direction == "agent->customer":    # the agent's display name: the queue's by default
        assert nick is not None and nick.text == "Support"
    else:
        assert nick is None
    assert desk.transcript(conv)[-1][2] == "plain words"


@DIRECTIONS
async def test_bodiless_messages_without_allowed_payloads_are_dropped(desk, direction):
    sender, receiver, conv = await ends(desk, direction)
    sender.send(None, f"<secret xmlns='{UNKNOWN}'/>")
    sender.send(None, f"<html xmlns='{XHTML_IM}'><body xmlns='http://www.w3.org/1999/xhtml'>"
                      "hi</body></html>")
    sender.send(None)
    sender.send(None, f"<composing xmlns='{CHATSTATES}'/>")
    got = await receiver.nothing_but("the chat state sent last", has(CHATSTATES, "composing"))
    assert tags(got.xml) == [q(CHATSTATES, "composing")]
    await sender.client.no_message(0.2)      # no error either
    assert not sender.errors()
    assert len(desk.transcript(conv)) == 1


async def test_chat_state_to_a_queue_without_a_chat_opens_nothing(desk):
    await desk.start(agents=["alice"])
    alice = desk.agent("alice")
    bob = await desk.customer("bob")
    agent = Side("agent", alice, None)
    customer = Side("customer", bob, QUEUE)
    customer.send(None, f"<received xmlns='{RECEIPTS}' id='whatever'/>")
    customer.send(None, f"<composing xmlns='{CHATSTATES}'/>")
    customer.send("")
    await bob.no_message(0.4)
    assert not agent.box.items
    assert desk.rows("SELECT * FROM conversations") == []
