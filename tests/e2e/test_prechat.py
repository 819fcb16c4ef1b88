"""The widget's side of respa on the wire (README, "Web widget"): a Finnish queue, pre-chat
values into the contact and the agent's card, topics picking the queue, the offline form,
the end-of-chat marker, bad pre-chat values, and uploads through Prosody's
mod_http_file_share. The browser's side is tests/e2e/test_widget.py."""
import asyncio
import re
import secrets
import urllib.request
from datetime import datetime, timedelta, timezone

import pytest
from slixmpp.xmlstream import ET

from desk import QUEUE, exact, headline
from harness import COMPONENT_JID, error_condition

NS_VISITOR = "urn:respa:visitor:0"
NS_WIDGET = "urn:respa:widget"
NS_NICK = "http://jabber.org/protocol/nick"
NS_UPLOAD = "urn:xmpp:http:upload:0"
NS_OOB = "jabber:x:oob"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
BILLING = f"billing@{COMPONENT_JID}"

# words of respa's English texts that no Finnish text of respa's holds
ENGLISH = re.compile(r"\b(the|you|your|agent|agents|waiting|closed|opens|today|tomorrow|"
                     r"thank|hello|chat|queue|line|busy|open|wait|message|Monday|Tuesday|"
                     r"Wednesday|Thursday|Friday|Saturday|Sunday|January|December)\b", re.I)


def widget_send(client, body, session, to=QUEUE, **prechat):
    """The widget's message: its <visitor/> with pre-chat values (offline=True: the form)."""
    m = client.xmpp.make_message(mto=to, mbody=body, mtype="chat")
    v = ET.SubElement(m.xml, f"{{{NS_VISITOR}}}visitor", {"session": session})
    for key in ("name", "email", "topic"):
        if key in prechat:
            ET.SubElement(v, f"{{{NS_VISITOR}}}{key}").text = prechat[key]
    if prechat.get("offline"):
        ET.SubElement(v, f"{{{NS_VISITOR}}}offline")
    m.send()


def widget_presence(client, session, to=QUEUE):
    p = client.xmpp.make_presence(pto=to)
    ET.SubElement(p.xml, f"{{{NS_VISITOR}}}visitor", {"session": session})
    p.send()


def child(msg, ns, name):
    return msg.xml.find(f"{{{ns}}}{name}")


def is_notice(msg):
    return child(msg, NS_WIDGET, "notice") is not None


def lang(st):
    return st.xml.get(XML_LANG) or st.xml.get("xml:lang")


def error_text(msg):
    t = msg.xml.find("{jabber:client}error/{urn:ietf:params:xml:ns:xmpp-stanzas}text")
    return t.text if t is not None else ""


def invalid_field(msg):
    e = msg.xml.find(f"{{jabber:client}}error/{{{NS_WIDGET}}}invalid")
    return e.get("field") if e is not None else None


def closed_days(n):
    """Today and the next n - 1 days in UTC as closed dates: the queue opens on day n."""
    today = datetime.now(timezone.utc).date()
    return " ".join((today + timedelta(days=i)).isoformat() for i in range(n))


async def test_a_finnish_queue_speaks_no_english_to_its_customer(desk):
    await desk.start(agents=["alice"], capacity={"alice": 1}, queue={
        "name": "Tuki", "language": "fi"},
        extra={"queue kauppa": {"name": "Kauppa", "language": "fi",
                                "agents": ["alice@localhost"], "hours": "Mon-Sun 09:00-17:00",
                                "closed": closed_days(3), "timezone": "Europe/Helsinki"}})
    alice = desk.agent("alice")
    seen = []                               # every text respa sent the customers

    bob = await desk.customer("bob")
    bob.set_presence(to=QUEUE)
    p = await bob.expect_presence(frm=QUEUE)
    assert (p["type"], p["status"], lang(p)) == (
        "available", "Avoinna: asiakaspalvelija on vapaana", "fi")
    seen.append(p["status"])
    bob.send(QUEUE, "hei")
    greeting = await bob.expect(lambda m: is_notice(m), frm=QUEUE)
    assert greeting["body"] == "Hei! Kiitos yhteydenotostasi. Tuki palvelee sinua tässä keskustelussa."
    assert lang(greeting) == "fi"
    header = await alice.expect("New chat #")
    conv = header["from"].bare
    assigned = await bob.expect("Asiakaspalvelija liittyi keskusteluun.", frm=QUEUE)
    seen += [greeting["body"], assigned["body"]]
    p = await bob.expect_presence(frm=QUEUE, timeout=3)      # in a chat: never "busy"
    assert (p["type"], p["status"]) == ("available", "Keskustelet asiakaspalvelijan kanssa")
    seen.append(p["status"])

    carol = await desk.customer("carol")    # alice is full: carol waits
    carol.send(QUEUE, "moi")
    await carol.expect(lambda m: is_notice(m) and m["body"].startswith("Hei!"), frm=QUEUE)
    queued = await carol.expect("Olet jonossa sijalla 1.", frm=QUEUE)
    seen.append(queued["body"])
    p = await carol.expect_presence(frm=QUEUE)
    assert p["type"] == "away" and p["status"] == "1 jonossa"
    seen.append(p["status"])

    alice.send(conv, "Hei Bob, miten voin auttaa?")
    line = await bob.expect(exact("Hei Bob, miten voin auttaa?"), frm=QUEUE)
    assert not is_notice(line) and child(line, NS_NICK, "nick").text == "Tuki"
    alice.send(conv, "/close")
    ended = await bob.expect(lambda m: child(m, NS_WIDGET, "ended") is not None, frm=QUEUE)
    assert child(ended, NS_WIDGET, "ended").get("reason") == "agent"
    assert ended["body"].startswith("Keskustelu on päättynyt.")
    seen.append(ended["body"])

    # a closed queue: its status names the Finnish weekday and month, and offline texts
    dave = await desk.customer("dave")
    dave.set_presence(to=f"kauppa@{COMPONENT_JID}")
    p = await dave.expect_presence(frm=f"kauppa@{COMPONENT_JID}")
    assert p["type"] == "xa"
    assert re.fullmatch(r"Suljettu; avaamme (maanantaina|tiistaina|keskiviikkona|torstaina|"
                        r"perjantaina|lauantaina|sunnuntaina) \d+\. [a-zä]+kuuta klo 9\.00 "
                        r"\(Europe/Helsinki\)", p["status"]), p["status"]
    seen.append(p["status"])
    dave.send(f"kauppa@{COMPONENT_JID}", "onko auki?")
    offline = await dave.expect("Kauppa on nyt suljettu.", frm=f"kauppa@{COMPONENT_JID}")
    assert "Avaamme jälleen" in offline["body"]
    seen.append(offline["body"])

    english = [t for t in seen if ENGLISH.search(t)]
    assert not english, english


async def test_prechat_values_fill_the_contact_and_show_on_the_card(desk):
    await desk.start(agents=["alice"], queue={"topics": "orders"},
                     extra={"agent alice@localhost": {"name": "Alice A."}})
    alice = desk.agent("alice")
    page = await desk.customer(anonymous=True)
    session = secrets.token_urlsafe(16)
    widget_send(page, "where is my order?", session, name="Maija <script>alert(1)</script>",
                email="Maija@Example.FI", topic="orders")
    header = await alice.expect(headline(
        f"New chat #1 from {page.jid} in Support (web, topic orders). Write here to answer; "
        "!help lists the commands."))
    card = header["body"]
    assert "Maija <script>alert(1)</script>" in card          # as text, never interpreted
    assert "maija@example.fi (unverified)" in card
    await alice.expect(exact("where is my order?"))
    contact = desk.rows("SELECT c.name, c.email FROM contacts c JOIN conversations v "
                        "ON v.contact_id = c.id")
    assert contact == [{"name": "Maija <script>alert(1)</script>", "email": "maija@example.fi"}]
    assert desk.rows("SELECT kind, value, verified FROM identities WHERE kind = 'email'") == [
        {"kind": "email", "value": "maija@example.fi", "verified": 0}]
    assert desk.rows("SELECT tag FROM conversation_tags") == [{"tag": "topic:orders"}]
    alice.send(header["from"].bare, "Hei Maija")
    line = await page.expect(exact("Hei Maija"), frm=QUEUE)
    assert child(line, NS_NICK, "nick").text == "Alice A."     # [agent JID] name
    assert lang(line) == "en"


async def test_an_email_given_before_the_chat_never_merges_contacts(desk):
    """Anyone can type someone else's email: a pre-chat email is unverified, as if written."""
    await desk.start(agents=["alice"])
    alice = desk.agent("alice")
    first = await desk.customer("first")
    first.send(QUEUE, "my email is shared@example.com")
    conv1 = (await alice.expect("New chat #"))["from"].bare
    alice.send(conv1, "/close")
    await first.expect("This chat has ended.", frm=QUEUE)
    page = await desk.customer(anonymous=True)
    widget_send(page, "hello", secrets.token_urlsafe(16), email="shared@example.com")
    await alice.expect("New chat #2")
    await alice.expect("Possible match: contact #1")
    rows = desk.rows("SELECT id, contact_id FROM conversations ORDER BY id")
    assert rows[0]["contact_id"] != rows[1]["contact_id"]


async def test_the_topic_picks_the_queue(desk):
    await desk.start(agents=["alice", "bob"], queue={"topics": "general"},
                     extra={"queue billing": {"name": "Billing", "agents": ["bob@localhost"],
                                              "topics": "invoices refunds"}})
    page = await desk.customer(anonymous=True)
    widget_send(page, "my invoice", secrets.token_urlsafe(16), to=BILLING, topic="invoices")
    header = await desk.agent("bob").expect("New chat #1")
    assert "in Billing (web, topic invoices)" in header["body"]
    assert desk.conversation(1)["queue"] == "billing"
    await desk.agent("alice").no_message(0.3)


@pytest.mark.parametrize("values, condition, field, text", [
    ({"name": "x" * 101}, "bad-request", "name", "Your name is too long: at most 100"),
    ({"name": "Maija\tM"}, "bad-request", "name", "Your name holds characters that cannot"),
    ({"name": "two\nlines"}, "bad-request", "name", "Your name holds characters that cannot"),
    ({"email": "maija@"}, "bad-request", "email", "That email address does not look right"),
    ({"email": "maija at example.fi"}, "bad-request", "email", "That email address does not"),
    ({"email": "a" * 250 + "@x.fi"}, "bad-request", "email", "That email address is too long"),
    ({"topic": "refunds"}, "not-acceptable", "topic", 'We have no topic "refunds" here'),
    ({"topic": "<b>"}, "bad-request", "topic", "Please choose one of the topics offered"),
    ({"offline": True, "name": "V"}, "bad-request", "email", "Please give your email address"),
])
async def test_bad_prechat_values_are_answered_and_nothing_is_stored(desk, values, condition,
                                                                     field, text):
    await desk.start(agents=["alice"], queue={"topics": "general"})
    page = await desk.customer(anonymous=True)
    widget_send(page, "hello", secrets.token_urlsafe(16), **values)
    err = await page.expect_error(frm=QUEUE)
    assert (error_condition(err), invalid_field(err)) == (condition, field)
    assert error_text(err).startswith(text), error_text(err)
    await desk.agent("alice").no_message(0.3)
    for table in ("conversations", "contacts", "messages", "identities", "tasks"):
        assert desk.rows(f"SELECT count(*) AS n FROM {table}")[0]["n"] == 0, table


async def test_a_bad_value_is_answered_in_the_queues_language(desk):
    await desk.start(agents=["alice"], queue={"language": "fi"})
    page = await desk.customer(anonymous=True)
    widget_send(page, "hei", secrets.token_urlsafe(16), email="maija@")
    err = await page.expect_error("bad-request", frm=QUEUE)
    assert error_text(err) == ("Sähköpostiosoite ei näytä oikealta. Kirjoita se muodossa "
                               "nimi@esimerkki.fi.")


async def test_the_offline_form_makes_an_offline_conversation_and_task(desk):
    await desk.start(agents=["alice"], queue={"hours": "Mon-Sun 09:00-17:00",
                                              "closed": closed_days(3)})
    page = await desk.customer(anonymous=True)
    session = secrets.token_urlsafe(16)
    widget_presence(page, session)
    assert (await page.expect_presence(frm=QUEUE))["type"] == "xa"
    widget_send(page, "Please call me about my order", session, name="Ville Virtanen",
                email="ville@example.fi", offline=True)
    thanks = await page.expect(lambda m: is_notice(m), frm=QUEUE)
    assert re.fullmatch(r"Thank you, we got your message\. We are closed right now; we will "
                        r"answer you at ville@example\.fi once we open \w+ \d+ \w+ at 09:00 "
                        r"\(UTC\)\.", thanks["body"]), thanks["body"]
    await page.no_message(0.3, frm=QUEUE)
    await desk.agent("alice").no_message(0.1)
    conv = desk.conversation(1)
    assert (conv["state"], conv["channel"]) == ("offline", "web")
    assert desk.transcript(1) == [("in", page.full_jid, "Please call me about my order")]
    tasks = desk.rows("SELECT kind, assignee_jid, status, title FROM tasks")
    assert tasks == [{"kind": "offline", "assignee_jid": QUEUE, "status": "open",
                      "title": f"Offline form: {page.jid} in Support (chat #1)"}]
    assert desk.rows("SELECT name, email FROM contacts") == [
        {"name": "Ville Virtanen", "email": "ville@example.fi"}]


async def test_an_upload_through_http_file_share_reaches_the_agent(desk):
    """XEP-0363 on Prosody's mod_http_file_share, as the widget's attach button uses it: an
    anonymous visitor finds the service, puts a file under the page's own origin, and the
    link reaches the agent with its XEP-0066 <x/>. Too large a file is refused with a text."""
    await desk.start(agents=["alice"])
    alice = desk.agent("alice")
    page = await desk.customer(anonymous=True)
    items = await page.disco_items("guest.localhost")
    assert "upload.localhost" in [i[0] for i in items["disco_items"]["items"]]
    data = b"\x89PNG\r\n\x1a\n" + secrets.token_bytes(2000)
    slot = await page.iq("upload.localhost", f"<request xmlns='{NS_UPLOAD}' filename='a.png' "
                                             f"size='{len(data)}' content-type='image/png'/>")
    assert slot["type"] == "result"
    put_el = slot.xml.find(f".//{{{NS_UPLOAD}}}put")
    put = put_el.get("url")
    get = slot.xml.find(f".//{{{NS_UPLOAD}}}get").get("url")
    assert put.startswith(desk.prosody.http_url + "/"), put    # the widget's own origin
    headers = {h.get("name"): h.text for h in put_el.findall(f"{{{NS_UPLOAD}}}header")}

    def http(method, url, body=None):
        req = urllib.request.Request(url, data=body, method=method, headers=(
            {"Content-Type": "image/png", **headers} if body else {}))
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read()
    status, _ = await asyncio.to_thread(http, "PUT", put, data)
    assert status in (200, 201)
    assert (await asyncio.to_thread(http, "GET", get)) == (200, data)

    page.send(QUEUE, "a photo of the damage")
    conv = (await alice.expect("New chat #"))["from"].bare
    await alice.expect(exact("a photo of the damage"), frm=conv)
    m = page.xmpp.make_message(mto=QUEUE, mbody=get, mtype="chat")
    x = ET.SubElement(m.xml, f"{{{NS_OOB}}}x")
    ET.SubElement(x, f"{{{NS_OOB}}}url").text = get
    m.send()
    link = await alice.expect(exact(get), frm=conv)
    assert link.xml.find(f"{{{NS_OOB}}}x/{{{NS_OOB}}}url").text == get

    too_big = desk.prosody.upload_size_limit + 1
    refused = await page.iq("upload.localhost", f"<request xmlns='{NS_UPLOAD}' "
                                                f"filename='big.bin' size='{too_big}'/>")
    assert refused["type"] == "error" and error_condition(refused) == "not-acceptable"
    assert "too large" in ET.tostring(refused.xml, encoding="unicode").lower()
