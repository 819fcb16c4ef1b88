"""Channels: customers through a gateway (a stand-in bridge component on the same Prosody),
web visitors carrying the widget's <visitor/> session, and plain XMPP accounts."""
import asyncio
import secrets

import slixmpp
from slixmpp.xmlstream import ET

from desk import ASSIGNED, GREETING, QUEUE, conv_id, exact
from harness import Mailbox, _describe

GATEWAY = "whatsapp.localhost"
NS_VISITOR = "urn:respa:visitor:0"


class Gateway:
    """A bridge's side of XMPP: an XEP-0114 component whose users are JIDs on its domain
    (a WhatsApp or SMS gateway such as slidge looks like this to respa)."""

    def __init__(self, prosody, jid=GATEWAY, secret="gw-secret"):
        self.jid, self.secret, self.prosody = jid, secret, prosody
        self.messages = Mailbox(_describe)
        self.xmpp = None

    async def start(self):
        x = self.xmpp = slixmpp.ComponentXMPP(self.jid, self.secret, "127.0.0.1",
                                              self.prosody.component_port)
        connected = asyncio.get_running_loop().create_future()
        x.add_event_handler("session_start", lambda _: connected.done() or
                            connected.set_result(True))
        x.add_event_handler("message", self.messages.put)
        x.connect()
        await asyncio.wait_for(connected, 10)

    def send(self, user, body):
        self.xmpp.send_message(mto=QUEUE, mfrom=f"{user}@{self.jid}/bridge", mbody=body,
                               mtype="chat")

    async def expect(self, text, to, timeout=10.0):
        return await self.messages.expect(
            lambda m: m["to"].full == to and text in m["body"], timeout,
            f"{text!r} to {to}")

    async def stop(self):
        if self.xmpp:
            self.xmpp.disconnect()
            await asyncio.sleep(0.1)


async def gateway_desk(desk, **kw):
    desk.prosody.add_component(GATEWAY, "gw-secret")
    desk.prosody.restart()
    await desk.start(extra={f"domain {GATEWAY}": {"channel": "whatsapp"},
                            "crm": {"default_country": "358"}}, **kw)
    gw = Gateway(desk.prosody)
    await gw.start()
    return gw


async def test_gateway_customer_is_recorded_with_channel_and_phone(desk):
    gw = await gateway_desk(desk)
    try:
        alice = desk.agent("alice")
        user = "+15551234567"
        full = f"{user}@{GATEWAY}/bridge"
        gw.send(user, "Hi from WhatsApp")
        await gw.expect(GREETING, to=full)
        header = await alice.expect("New chat #")
        conv = header["from"].bare
        assert f"from {user}@{GATEWAY} in Support (whatsapp)." in header["body"]
        await alice.expect(exact("Hi from WhatsApp"), frm=conv)
        await gw.expect(ASSIGNED, to=full)
        alice.send(conv, "Hello over the bridge")
        reply = await gw.expect("Hello over the bridge", to=full)   # the exact JID it wrote from
        assert reply["from"].bare == QUEUE

        row = desk.conversation(conv)
        assert row["channel"] == "whatsapp" and row["customer_jid"] == full
        contact = desk.rows("SELECT * FROM contacts WHERE id = ?", row["contact_id"])[0]
        assert contact["phone"] == "+15551234567"
        idents = {(r["kind"], r["value"]) for r in desk.rows(
            "SELECT kind, value FROM identities WHERE contact_id = ?", row["contact_id"])}
        assert idents == {("jid", f"{user}@{GATEWAY}"), ("phone", "+15551234567")}
    finally:
        await gw.stop()


async def test_gateway_number_without_country_gets_the_default_and_escapes_undone(desk):
    gw = await gateway_desk(desk)
    try:
        alice = desk.agent("alice")
        user = r"040\20123\204567"                  # "040 123 4567", escaped per XEP-0106
        gw.send(user, "tekstiviesti")
        await alice.expect("New chat #")
        await desk.stored(1)
        row = desk.rows("SELECT * FROM conversations")[0]
        assert row["channel"] == "whatsapp"
        contact = desk.rows("SELECT phone FROM contacts WHERE id = ?", row["contact_id"])[0]
        assert contact["phone"] == "+358401234567"
    finally:
        await gw.stop()


async def test_the_same_phone_on_a_second_gateway_jid_is_the_same_contact(desk):
    gw = await gateway_desk(desk)
    try:
        alice = desk.agent("alice")
        gw.send("+15550001111", "first")
        h1 = await alice.expect("New chat #")
        alice.send(h1["from"].bare, "/close")
        await alice.expect("closed. Summary:")
        gw.send(r"+1\20555\20000\201111", "second, written another way")
        h2 = await alice.expect(lambda m: "New chat #" in m["body"] and
                                m["from"].bare != h1["from"].bare)
        rows = desk.rows("SELECT contact_id FROM conversations ORDER BY id")
        assert conv_id(h2["from"].bare) == 2
        assert rows[0]["contact_id"] == rows[1]["contact_id"]
    finally:
        await gw.stop()


def visitor_element(session, visitor_id=None):
    attrs = {"session": session}
    if visitor_id:
        attrs["id"] = visitor_id
    return ET.Element(f"{{{NS_VISITOR}}}visitor", attrs)


def widget_send(client, body, session, visitor_id=None):
    m = client.xmpp.make_message(mto=QUEUE, mbody=body, mtype="chat")
    m.append(visitor_element(session, visitor_id))
    m.send()


def widget_presence(client, session, visitor_id=None, ptype=None):
    p = client.xmpp.make_presence(pto=QUEUE, ptype=ptype)
    p.append(visitor_element(session, visitor_id))
    p.send()


async def test_web_visitor_reload_continues_the_same_conversation(desk):
    await desk.start()
    alice = desk.agent("alice")
    session = secrets.token_urlsafe(16)
    page1 = await desk.customer(anonymous=True)
    widget_presence(page1, session)
    await page1.expect_presence(None, frm=QUEUE)      # the queue's state, before writing
    widget_send(page1, "Hello from the web", session)
    await page1.expect(GREETING, frm=QUEUE)
    header = await alice.expect("New chat #")
    conv = header["from"].bare
    assert "(web)." in header["body"]
    await alice.expect(exact("Hello from the web"), frm=conv)
    alice.send(conv, "Hi, how can I help?")
    await page1.expect(exact("Hi, how can I help?"), frm=QUEUE)

    # the visitor reloads: a new anonymous JID with the same session token
    await page1.stop()
    page2 = await desk.customer(anonymous=True)
    assert page2.jid != page1.jid
    widget_presence(page2, session)
    await page2.expect_presence(None, frm=QUEUE)      # respa has seen the new JID
    alice.send(conv, "Still there?")
    await page2.expect(exact("Still there?"), frm=QUEUE)
    widget_send(page2, "Yes, I reloaded the page", session)
    await alice.expect(exact("Yes, I reloaded the page"), frm=conv)
    await page2.no_message(0.3)                         # no second greeting: the same chat

    rows = desk.rows("SELECT * FROM conversations")
    assert len(rows) == 1
    assert rows[0]["channel"] == "web" and rows[0]["session"] == session
    assert rows[0]["customer_jid"] == page2.full_jid and rows[0]["state"] == "active"


async def test_a_session_token_is_not_a_jid_a_stranger_cannot_join_without_it(desk):
    """Another visitor with another token gets a conversation of their own."""
    await desk.start()
    alice = desk.agent("alice")
    a, b = await desk.customer(anonymous=True), await desk.customer(anonymous=True)
    widget_send(a, "visitor A", secrets.token_urlsafe(16))
    widget_send(b, "visitor B", secrets.token_urlsafe(16))
    h1 = await alice.expect("New chat #")
    h2 = await alice.expect(lambda m: "New chat #" in m["body"] and
                            m["from"].bare != h1["from"].bare)
    alice.send(h1["from"].bare, "to the first")
    alice.send(h2["from"].bare, "to the second")
    got_a = await a.expect("to the", frm=QUEUE)
    got_b = await b.expect("to the", frm=QUEUE)
    assert {got_a["body"], got_b["body"]} == {"to the first", "to the second"}


async def test_a_malformed_session_is_ignored_not_trusted(desk):
    """A too short token (or bad characters) counts as no widget: keyed by JID, channel by domain."""
    await desk.start()
    alice = desk.agent("alice")
    guest = await desk.customer(anonymous=True)
    widget_send(guest, "short token", "abc")
    await alice.expect("New chat #")
    await desk.stored(1)
    row = desk.rows("SELECT channel, session FROM conversations")[0]
    assert row == {"channel": "xmpp", "session": None}


async def test_the_sites_visitor_id_links_later_visits_to_the_same_contact(desk):
    await desk.start()
    alice = desk.agent("alice")
    first = await desk.customer(anonymous=True)
    widget_send(first, "first visit", secrets.token_urlsafe(16), "site-user-42")
    h1 = await alice.expect("New chat #")
    alice.send(h1["from"].bare, "/close")
    await alice.expect("closed. Summary:")
    await first.stop()

    later = await desk.customer(anonymous=True)      # days later: new JID, new session
    widget_send(later, "back again", secrets.token_urlsafe(16), "site-user-42")
    h2 = await alice.expect(lambda m: "New chat #" in m["body"] and
                            m["from"].bare != h1["from"].bare)
    assert h2
    rows = desk.rows("SELECT contact_id, channel FROM conversations ORDER BY id")
    assert rows[0]["contact_id"] == rows[1]["contact_id"]
    assert [r["channel"] for r in rows] == ["web", "web"]
    idents = desk.rows("SELECT kind, value FROM identities WHERE contact_id = ? "
                       "AND kind = 'visitor'", rows[0]["contact_id"])
    assert idents == [{"kind": "visitor", "value": "site-user-42"}]


async def test_anonymous_domain_configured_as_web(desk):
    """Without the widget's element, a [domain] section still names the channel."""
    await desk.start(extra={"domain guest.localhost": {"channel": "web"}})
    alice = desk.agent("alice")
    guest = await desk.customer(anonymous=True)
    bob = await desk.customer("bob")
    guest.send(QUEUE, "from a guest")
    bob.send(QUEUE, "from an account")
    await alice.expect("New chat #")
    await alice.expect("New chat #")
    rows = {r["customer_jid"].split("/")[0]: r["channel"]
            for r in desk.rows("SELECT customer_jid, channel FROM conversations")}
    assert rows == {guest.jid: "web", "bob@localhost": "xmpp"}
