"""What real clients send and expect at the edges: commands with "!" (terminal clients keep
"/" for themselves), "/me" relayed as an action, encryption lines kept from the other side,
closed chats that go offline and answer nothing to text-less messages, and the caps, disco
and ping that let clients see what respa's addresses do."""
import asyncio
import base64
import hashlib
import time

from slixmpp.xmlstream import ET

from desk import CLOSED, COMPONENT_JID, QUEUE, QUEUE_TITLE, exact
from harness import error_condition

CAPS = "http://jabber.org/protocol/caps"
DISCO_INFO = "http://jabber.org/protocol/disco#info"
CHATSTATES = "http://jabber.org/protocol/chatstates"


async def test_bang_commands_me_and_literals(desk):
    await desk.start(agents=["alice"])
    alice = desk.agent("alice")
    bob = await desk.customer("bob")
    conv = await desk.open_chat(bob, alice, "hello")

    alice.send(conv, "!help")
    help_text = (await alice.expect("Commands in this chat", frm=conv))["body"]
    assert "profanity, poezio and other terminal clients take lines starting with / " \
           "for themselves" in help_text
    assert "\n!close [resolved|unresolved] [#tag...] [summary]: " in help_text
    alice.send(conv, "!tag vip")
    await alice.expect(exact("Tagged: vip"), frm=conv)
    alice.send(conv, "!history now")
    await alice.expect(exact("!history takes no arguments: nothing done. Usage: !history"),
                       frm=conv)
    alice.send(conv, "/me is looking up your account")
    await bob.expect(exact("/me is looking up your account"), frm=QUEUE)
    alice.send(conv, "!!important")
    await bob.expect(exact("!important"), frm=QUEUE)
    await alice.no_message(0.3)                     # no "Unknown command /me"
    alice.send(conv, "!close resolved Looked it up")
    await alice.expect("closed. Summary: Looked it up", frm=conv)
    await bob.expect(CLOSED, frm=QUEUE)
    await bob.no_message(0.3)                       # no command reached the customer
    assert [(d, b) for d, _, b in desk.transcript(conv)] == [
        ("in", "hello"), ("out", "/me is looking up your account"), ("out", "!important")]
    assert [r["tag"] for r in desk.rows("SELECT tag FROM conversation_tags")] == ["vip"]

    # the component's own address
    alice.send(COMPONENT_JID, "!status")
    await alice.expect("You are available and ready", frm=COMPONENT_JID)
    alice.send(COMPONENT_JID, "!nonsense")
    await alice.expect("Unknown command !nonsense here.", frm=COMPONENT_JID)


async def test_encryption_lines_are_not_relayed(desk):
    await desk.start(agents=["alice"])
    alice = desk.agent("alice")
    bob = await desk.customer("bob")
    conv = await desk.open_chat(bob, alice, "hello")

    alice.send(conv, "?OTRv23? alice@localhost has requested an Off-the-Record private "
                     "conversation <https://otr.cypherpunks.ca/>.")
    told = await alice.expect("OTR can't be used in desk chats", frm=conv)
    assert "respa must read the text" in told["body"]
    m = bob.xmpp.make_message(mto=QUEUE, mtype="chat",
                              mbody="I sent you an OMEMO encrypted message but your client "
                                    "doesn't seem to support that.")
    m.append(ET.fromstring("<encrypted xmlns='eu.siacs.conversations.axolotl'>"
                           "<header sid='42'><iv>AAAA</iv></header><payload>AAAA</payload>"
                           "</encrypted>"))
    m.send()
    told = await bob.expect("Your message was encrypted (OMEMO)", frm=QUEUE)
    assert "turn OMEMO off for this contact" in told["body"]
    await alice.no_message(0.5)
    await bob.no_message(0)
    assert [b for _, _, b in desk.transcript(conv)] == ["hello"]


def caps_ver(identities, features):
    """XEP-0115 section 5.1, for identities without xml:lang."""
    s = "".join(f"{c}/{t}//{n}<" for c, t, n in sorted(identities))
    s += "".join(f"{f}<" for f in sorted(features))
    return base64.b64encode(hashlib.sha1(s.encode()).digest()).decode()


async def check_caps(client, presence):
    """The caps on a presence name what disco#info of its node says."""
    c = presence.xml.find(f"{{{CAPS}}}c")
    assert c is not None, f"no caps on {presence}"
    assert c.get("hash") == "sha-1"
    node = f"{c.get('node')}#{c.get('ver')}"
    info = await client.disco_info(presence["from"].bare, node=node)
    assert info["disco_info"]["node"] == node
    ids = [(i[0], i[1], i[3]) for i in info["disco_info"]["identities"]]
    feats = info["disco_info"]["features"]
    assert c.get("ver") == caps_ver(ids, feats)
    return set(feats)


async def test_closed_chat_goes_offline_and_answers_nothing_text_less(desk):
    await desk.start(agents=["alice"])
    alice = desk.agent("alice")
    bob = await desk.customer("bob")
    conv = await desk.open_chat(bob, alice, "hello")

    # online with caps from the start, so that a client that looks before a ping sees one
    shown = await alice.expect_presence("available", frm=conv)
    features = await check_caps(alice, shown)
    assert {"urn:xmpp:ping", DISCO_INFO, CHATSTATES} <= features
    assert await alice.ping(conv) >= 0
    alice.set_presence(ptype="subscribe", to=conv)   # approved: Prosody keeps the "subscribed"
    await check_caps(alice, await alice.expect_presence("available", frm=conv))

    alice.send(conv, "!close")
    await alice.expect("closed. Summary:", frm=conv)
    await alice.expect_presence("unavailable", frm=conv)     # offline in her roster

    for payload in (f"<gone xmlns='{CHATSTATES}'/>",
                    "<received xmlns='urn:xmpp:receipts' id='abc'/>",
                    "<displayed xmlns='urn:xmpp:chat-markers:0' id='abc'/>"):
        m = alice.xmpp.make_message(mto=conv, mtype="chat")
        m.append(ET.fromstring(payload))
        m.send()
    m = alice.xmpp.make_message(mto=conv, mtype="chat", mbody="still there?")
    m["id"] = "barrier"
    m.send()                                         # a text still hears why: the barrier
    err = await alice.expect_error("item-not-found", frm=conv)
    assert err["id"] == "barrier"                    # the first error is the text's
    await alice.no_message(0.5)                      # and nothing came for the others

    async def subscription():
        await alice.xmpp.get_roster()
        return alice.xmpp.client_roster[conv]["subscription"]

    assert await subscription() == "to"
    alice.set_presence(ptype="subscribe", to=conv)   # a closed chat is not approved: Prosody
    end = time.monotonic() + 10                      # keeps the answer, the roster shows it
    while await subscription() != "none":
        assert time.monotonic() < end, "the closed chat stayed subscribed in alice's roster"
        await asyncio.sleep(0.1)
    reply = await alice.iq(conv, "<ping xmlns='urn:xmpp:ping'/>")
    assert error_condition(reply) == "item-not-found"


async def test_queue_and_domain_presence_carry_caps(desk):
    await desk.start(agents=["alice"])
    carol = await desk.customer("carol")
    carol.set_presence(to=QUEUE)
    shown = await carol.expect_presence(None, frm=QUEUE)
    features = await check_caps(carol, shown)
    assert {"urn:xmpp:ping", DISCO_INFO} <= features
    info = await carol.disco_info(QUEUE)
    assert [i[3] for i in info["disco_info"]["identities"]] == [QUEUE_TITLE]
    assert await carol.ping(QUEUE) >= 0

    alice = desk.agent("alice")
    alice.set_presence(ptype="probe", to=COMPONENT_JID)
    shown = await alice.expect_presence("available", frm=COMPONENT_JID)
    features = await check_caps(alice, shown)
    assert {"http://jabber.org/protocol/commands", "urn:xmpp:ping"} <= features
