"""The web widget as a customer uses it (web/respa-widget.js, web/respa-chat.js), in Debian's
chromium at 1280x800 and 375x667: the launcher and the window, the phone layout, the pre-chat
form and topics, the end of a chat, an outage, files, the Finnish page, accessibility
(axe-core) and the widget's weight. Screenshots go to build/e2e-artifacts/."""
import asyncio
import gzip
import json
import re
import struct
import zlib
import xml.etree.ElementTree as ET

import pytest

import harness
from conftest import artifacts_dir
from desk import ASSIGNED, GREETING, QUEUE, conv_id, exact
from test_mail import mail_conf, sink  # noqa: F401 (the mail sink fixture)
from test_widget import (DESKTOP, LAUNCHER, LINE, MESSAGE, NOTICE, PHONE, SEND,
                         TEXTAREA, first_chat, open_widget, session_of, told,
                         wait_state, write)

BILLING = f"billing@{harness.COMPONENT_JID}"
WINDOW = ".respa-window"
BAR = ".respa-notice-bar"


async def no_page_errors(page) -> None:
    errors = [line for line in await page.log() if "pageerror" in line]
    assert errors == [], errors


async def serious_a11y(page, include: str = "") -> list:
    found = await page.axe(include)
    return [v for v in found if v["impact"] in ("serious", "critical")]


def png(width: int = 8, height: int = 8, size: int = 0) -> bytes:
    """A valid PNG of a red square; `size` pads it (a tEXt chunk) to about that many bytes."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))
    raw = b"".join(b"\0" + b"\xff\x00\x00" * width for _ in range(height))
    out = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(raw)))
    if size > len(out):
        out += chunk(b"tEXt", b"pad\0" + b"x" * (size - len(out)))
    return out + chunk(b"IEND", b"")


async def test_launcher_opens_minimises_remembers_and_counts_unread(desk, web):
    await desk.start(agents=["alice"], extra={"agent alice@localhost": {"name": "Aino"}})
    alice = desk.agent("alice")
    page = await web.page("visitor", **DESKTOP)
    await page.goto(web.url("widget.html", position="bottom-left", sound="1"))
    # only the launcher; it shows the queue's state once the page is idle (Converse loaded)
    assert await page.eval(f"() => document.querySelector('{WINDOW}').hidden")
    await page.wait_text(f"{LAUNCHER}[data-state=open]")
    box = await page.eval(f"() => document.querySelector('{LAUNCHER}').getBoundingClientRect().toJSON()")
    assert box["left"] < 40 and box["bottom"] > 700, box           # bottom-left corner
    assert await page.attribute(LAUNCHER, "aria-expanded") == "false"
    await web.screenshot(page, "launcher")

    await page.click(LAUNCHER)
    await page.wait_text(WINDOW)
    assert await page.eval("() => document.activeElement.id") == "respa-input"
    # the welcome text and the state at once, before the visitor writes
    assert (await page.texts(MESSAGE))[0].startswith("Hi! Write your question")
    assert await page.text(".respa-state") == "Online"
    conv, _ = await first_chat(page, alice, "Hello")
    alice.send(conv, "Hi, Aino here")
    line = await page.wait_text(".respa-msg.them", "Hi, Aino here")
    assert line.startswith("Aino")                                 # the agent's display name
    # the agent typing shows under the transcript, and goes when they stop
    def chat_state(state):
        m = alice.xmpp.make_message(mto=conv, mtype="chat")
        m.append(ET.fromstring(f"<{state} xmlns='http://jabber.org/protocol/chatstates'/>"))
        m.send()
    chat_state("composing")
    await page.wait_text(".respa-typing", "Aino typing…")
    chat_state("paused")
    await page.wait_js("() => document.querySelector('.respa-typing').textContent === ''")
    # respa's notices look different from a person's lines, and carry no name
    assert GREETING in await page.texts(NOTICE)
    await web.screenshot(page, "open")

    # Escape minimises; a reply then shows on the launcher, in the title, and beeps
    await page.press(TEXTAREA, "Escape")
    await page.wait_text(LAUNCHER)
    assert await page.eval("() => document.activeElement.classList.contains('respa-launcher')")
    alice.send(conv, "Anything else?")
    await page.wait_text(".respa-badge", "1")
    assert await page.eval("() => document.title") == "(1) Acme Ltd: support"
    assert await page.eval("() => window.respaWidgetState.beeps") == 1
    await web.screenshot(page, "unread")

    await page.reload()                    # minimised is remembered
    await page.wait_text(LAUNCHER)
    assert await page.eval(f"() => document.querySelector('{WINDOW}').hidden")
    await page.click(LAUNCHER)
    await page.wait_text(LINE, "Anything else?")
    assert await page.eval("() => document.title") == "Acme Ltd: support"
    await page.reload()                    # and so is open
    await page.wait_text(LINE, "Anything else?")
    assert not await page.eval(f"() => document.querySelector('{WINDOW}').hidden")
    # the reloaded page logs in anew: respa has followed it once it shows the chat's status
    await page.wait_text(".respa-status-text", "You are chatting with an agent")
    # open, but the tab hidden: a reply counts too, until the tab is back
    await page.eval("() => { Object.defineProperty(document, 'hidden', { value: true,"
                    " configurable: true }); document.dispatchEvent(new Event('visibilitychange')); }")
    alice.send(conv, "Seen later")
    await page.wait_js("() => document.title === '(1) Acme Ltd: support'")
    await page.eval("() => { Object.defineProperty(document, 'hidden', { value: false,"
                    " configurable: true }); document.dispatchEvent(new Event('visibilitychange')); }")
    await page.wait_js("() => document.title === 'Acme Ltd: support'")
    assert await serious_a11y(page) == []
    await no_page_errors(page)


async def test_phone_layout_fills_the_screen_and_send_works_by_tap(desk, web):
    await desk.start(agents=["alice"])
    alice = desk.agent("alice")
    page, _ = await open_widget(web, size=PHONE)
    await web.screenshot(page, "phone-open")
    fit = await page.eval(f"""() => {{
        const w = document.querySelector('{WINDOW}').getBoundingClientRect();
        const s = document.querySelector('{SEND}').getBoundingClientRect();
        return {{ scroll: document.documentElement.scrollWidth, inner: innerWidth,
                 innerH: innerHeight, w: w.toJSON(), s: s.toJSON() }}; }}""")
    assert fit["scroll"] <= fit["inner"], fit
    assert (fit["w"]["left"], fit["w"]["top"], fit["w"]["width"], fit["w"]["height"]) == (0, 0, 375, 667)
    s = fit["s"]
    assert 0 <= s["left"] and s["right"] <= 375 and 0 <= s["top"] and s["bottom"] <= 667, s
    # tab order: the message box, then attach, then Send
    order = await page.eval("""() => { const seen = [];
        document.querySelector('.respa-input').focus();
        return ['respa-input', 'respa-attach', 'respa-send'].map((c) =>
            document.querySelector('.' + c) === document.activeElement ? c : null); }""")
    assert order[0] == "respa-input"
    await page.press(TEXTAREA, "Tab")
    assert await page.eval("() => document.activeElement.className") == "respa-icon respa-attach"
    await page.press(".respa-attach", "Tab")
    assert await page.eval("() => document.activeElement.className") == "respa-send"
    assert await page.eval("() => document.querySelector('label[for=respa-input]').textContent") == "Your message"
    await page.fill(TEXTAREA, "Typed on a phone")
    await page.click(SEND)                  # a tap on Send, not Enter
    header = await alice.expect("New chat #")
    await alice.expect(exact("Typed on a phone"), frm=header["from"].bare)
    await page.wait_text(MESSAGE, ASSIGNED)
    alice.send(header["from"].bare, "A reply " + "long " * 40)
    await page.wait_text(MESSAGE, "A reply")
    assert await page.eval("() => document.documentElement.scrollWidth <= innerWidth")
    await web.screenshot(page, "phone-chat")
    # the keyboard takes the lower half: the window shrinks to the visual viewport
    assert await serious_a11y(page) == []
    await no_page_errors(page)


async def test_prechat_form_topics_route_and_fill_the_contact(desk, web):
    await desk.start(agents=["alice", "bob"],
                     queue={"agents": ["alice@localhost"], "topics": "general"},
                     extra={"queue billing": {"name": "Billing", "agents": ["bob@localhost"],
                                              "topics": "invoices"}})
    bob = desk.agent("bob")
    topics = (f"general:General:{QUEUE};invoices:Invoices:{BILLING};"
              f"refunds:Refunds:{QUEUE}")            # refunds: a topic the queue does not take
    page, _ = await open_widget(web, size=PHONE, prechat="name:required,email:optional,topic:required",
                                topics=topics)
    await page.wait_text(".respa-prechat", "Before we start")
    assert await serious_a11y(page) == []
    await page.click(".respa-prechat button[type=submit]")     # empty: checked in the browser
    assert await page.text("#respa-f-name-error") == "Please fill in this field."
    assert await page.text("#respa-f-topic-error") == "Please fill in this field."
    assert await page.text("#respa-f-email-error") == ""       # optional
    await page.fill("#respa-f-name", "x" * 101)
    await page.eval("() => { const e = document.querySelector('#respa-f-name');"
                    " e.removeAttribute('maxlength'); e.value = 'x'.repeat(101); }")
    await page.click(".respa-prechat button[type=submit]")
    assert "too long" in await page.text("#respa-f-name-error")
    await page.eval("() => { document.querySelector('#respa-f-name').value = 'Ann\\u0007'; }")
    await page.click(".respa-prechat button[type=submit]")
    assert await page.text("#respa-f-name-error") == "This holds characters that cannot be sent."
    await web.screenshot(page, "prechat-errors")

    # a topic respa's queue does not take: respa says so, by the field, and stores nothing
    name = "<script>alert(1)</script> Ann"
    await page.fill("#respa-f-name", name)
    await page.fill("#respa-f-email", "ann@example.com")
    await page.eval("() => { const s = document.querySelector('#respa-f-topic'); s.value = 'refunds'; }")
    await page.click(".respa-prechat button[type=submit]")
    await write(page, "About a refund")
    err = await page.wait_text("#respa-f-topic-error:not(:empty)")
    assert err.strip(), err
    assert await page.eval("() => document.querySelector('.respa-input').value") == "About a refund"
    assert desk.rows("SELECT id FROM conversations") == []
    await page.eval("() => document.querySelector('#respa-f-topic-error').scrollIntoView()")
    await web.screenshot(page, "prechat-refused")

    await page.eval("() => { const s = document.querySelector('#respa-f-topic'); s.value = 'invoices'; }")
    await page.click(".respa-prechat button[type=submit]")
    assert await page.eval("() => document.querySelector('.respa-input').value") == "About a refund"
    await page.click(SEND)
    header = await bob.expect("New chat #")          # the topic's queue, billing: bob
    conv = header["from"].bare
    await bob.expect(exact("About a refund"), frm=conv)
    card = "\n".join(m["body"] for m in bob.messages.items) + header["body"]
    assert name in card and "ann@example.com" in card, card
    row = desk.conversation(conv)
    assert row["queue"] == "billing"
    contact = desk.rows("SELECT name, email FROM contacts WHERE id = ?", row["contact_id"])
    assert contact == [{"name": name, "email": "ann@example.com"}]
    assert not told(desk.agent("alice"), "New chat #")
    await web.screenshot(page, "prechat-chat")
    await no_page_errors(page)


async def test_end_of_chat_shows_the_banner_and_starts_a_new_chat(desk, web):
    await desk.start(agents=["alice"])
    alice = desk.agent("alice")
    page, _ = await open_widget(web)
    conv, _ = await first_chat(page, alice, "Thanks for the help")
    token = (await session_of(page))["token"]
    alice.send(conv, "/close solved")
    ended = await page.wait_text(".respa-msg.ended .respa-text")
    assert ended.startswith("This chat has ended.")
    await page.wait_text(".respa-new-chat", "Start a new chat")
    assert not await page.eval("() => document.querySelector('.respa-composer').offsetParent")
    await web.screenshot(page, "ended")
    await page.reload()                               # still ended after a reload
    await page.wait_text(".respa-new-chat", "Start a new chat")
    await page.click(".respa-new-chat")
    await page.wait_text(TEXTAREA)
    assert await page.texts(LINE) == []
    assert (await session_of(page))["token"] != token
    second, _ = await first_chat(page, alice, "One more question")
    assert conv_id(second) == conv_id(conv) + 1
    await web.screenshot(page, "new-chat")
    await no_page_errors(page)


async def answered_and_closed(page, alice, text: str, first=first_chat) -> str:
    """The visitor's chat: answered by alice, then closed by her (/close); its c-N address."""
    conv, _ = await first(page, alice, text)
    alice.send(conv, "Glad to help.")
    await page.wait_text(".respa-msg.them", "Glad to help.")
    alice.send(conv, "/close")
    await page.wait_text(".respa-msg.ended .respa-text")
    return conv


async def test_rating_buttons_after_the_chat_ended_store_the_score(desk, web):
    await desk.start(agents=["alice"], queue={"rating": "yes"})
    alice = desk.agent("alice")
    page, _ = await open_widget(web)
    conv = await answered_and_closed(page, alice, "Where is my parcel?")
    # the question comes after the ended banner: five buttons in a labelled group
    group = ".respa-ask-rating[role=group]"
    await page.wait_text(f"{group} .respa-choice")
    assert await page.texts(f"{group} .respa-choice") == ["1", "2", "3", "4", "5"]
    labels = await page.eval(f"() => Array.from(document.querySelectorAll('{group} .respa-choice'),"
                             " (b) => b.getAttribute('aria-label'))")
    assert labels == ["1 of 5 – poor", "2 of 5 – fair", "3 of 5 – good", "4 of 5 – very good",
                      "5 of 5 – excellent"]
    label_id = await page.attribute(group, "aria-labelledby")
    assert await page.text(f"#{label_id}") == "How did we do? Rate this chat"
    assert await page.text(".respa-new-chat") == "Start a new chat"
    # keyboard: the buttons are reachable by Tab and show a focus ring
    await page.eval(f"() => document.querySelector('{group} .respa-choice').focus()")
    ring = await page.eval("() => getComputedStyle(document.activeElement).outlineStyle")
    assert ring != "none", ring
    assert await serious_a11y(page) == []
    await web.screenshot(page, "rating-asked")
    await page.click(f"{group} .respa-choice[data-reply='4']")
    await page.wait_text(NOTICE, "Thank you for your rating.")
    await page.wait_gone(group)
    rows = desk.rows("SELECT score, comment FROM ratings WHERE conversation_id = ?", conv_id(conv))
    assert rows == [{"score": 4, "comment": None}]
    assert "4" in await page.texts(".respa-msg.me .respa-text")
    # no new chat was opened by the answer
    assert len(desk.rows("SELECT id FROM conversations")) == 1
    # the answered question stays answered after a reload
    await page.reload()
    await page.wait_text(".respa-new-chat", "Start a new chat")
    assert await page.texts(".respa-ask") == []
    await web.screenshot(page, "rating-thanks")
    await no_page_errors(page)


async def test_finnish_rating_buttons(desk, web):
    await desk.start(agents=["alice"], queue={"rating": "yes", "language": "fi"})
    alice = desk.agent("alice")
    page, _ = await open_widget(web, lang="fi")
    await answered_and_closed(page, alice, "Missä pakettini on?", first_chat_fi)
    group = ".respa-ask-rating[role=group]"
    await page.wait_text(f"{group} .respa-choice")
    labels = await page.eval(f"() => Array.from(document.querySelectorAll('{group} .respa-choice'),"
                             " (b) => b.getAttribute('aria-label'))")
    assert labels[0] == "1/5 – huono" and labels[4] == "5/5 – erinomainen", labels
    label_id = await page.attribute(group, "aria-labelledby")
    assert await page.text(f"#{label_id}") == "Miten onnistuimme? Arvioi tämä chat"
    assert await serious_a11y(page) == []
    await web.screenshot(page, "rating-fi")
    await page.click(f"{group} .respa-choice[data-reply='5']")
    await page.wait_gone(group)
    rows = desk.rows("SELECT score FROM ratings")
    assert rows == [{"score": 5}]
    await no_page_errors(page)


async def test_transcript_buttons_send_the_copy_by_email_and_the_rating_waits_on(desk, web, sink):
    await desk.start(agents=["alice"], queue={"transcript": "offer", "rating": "yes"},
                     extra=mail_conf(sink))
    alice = desk.agent("alice")
    page, _ = await open_widget(web, prechat="email:required")
    await page.fill("#respa-f-email", "ann@example.com")
    await page.click(".respa-prechat button[type=submit]")
    conv = await answered_and_closed(page, alice, "Can I change my order?")
    group = ".respa-ask-transcript[role=group]"
    await page.wait_text(f"{group} .respa-choice", "Yes")
    await page.wait_text(".respa-ask-rating .respa-choice")       # both questions, both groups
    assert await page.texts(f"{group} .respa-choice") == ["Yes", "No"]
    label_id = await page.attribute(group, "aria-labelledby")
    assert await page.text(f"#{label_id}") == "Email me a copy of this chat?"
    assert any("ann@example.com" in n for n in await page.texts(NOTICE))  # respa's question
    assert await serious_a11y(page) == []
    await web.screenshot(page, "transcript-asked")
    await page.press(f"{group} .respa-choice[data-reply=yes]", "Enter")   # by keyboard
    await page.wait_text(NOTICE, "a copy of the chat is on its way to ann@example.com")
    await page.wait_gone(group)
    msg = await sink.wait_for(lambda m: m["To"].addresses[0].addr_spec == "ann@example.com")
    text = msg.get_content()
    assert "Can I change my order?" in text and "Glad to help." in text
    assert "alice" not in text
    # the yes did not end the rating question: its buttons still rate the chat; the focus
    # moved on to them, then to "Start a new chat"
    assert await page.eval("() => document.activeElement.dataset.reply") == "1"
    await page.click(".respa-ask-rating .respa-choice[data-reply='4']")
    await page.wait_text(NOTICE, "Thank you for your rating.")
    await page.wait_gone(".respa-ask")
    assert desk.rows("SELECT score FROM ratings WHERE conversation_id = ?",
                     conv_id(conv)) == [{"score": 4}]
    assert len(desk.rows("SELECT id FROM conversations")) == 1
    assert (await page.eval("() => document.activeElement.className")).endswith("respa-new-chat")
    await web.screenshot(page, "transcript-sent")
    await no_page_errors(page)


async def test_outage_disables_the_input_keeps_the_draft_and_shows_no_protocol_errors(desk, web):
    await desk.start(agents=["alice"])
    alice = desk.agent("alice")
    page, _ = await open_widget(web, size=PHONE, retry=1)
    conv, _ = await first_chat(page, alice, "Before the outage")
    await page.fill(TEXTAREA, "Half-written line")
    await asyncio.to_thread(desk.r.stop)
    await wait_state(page, "unavailable")
    assert await page.eval("() => document.querySelector('.respa-input').disabled")
    assert await page.eval("() => document.querySelector('.respa-send').disabled")
    assert (await page.text(BAR)).startswith("The chat cannot be reached right now.")
    assert await page.eval("() => document.querySelector('.respa-input').value") == "Half-written line"
    # a line that bounces (sent before the widget knew): back in the box, not in the transcript
    await page.eval("() => { const c = window.respaWidgetState.widget.chat;"
                    " c.E.input.value = ''; c.sendLine('Bounced line'); }")
    await page.wait_js("() => document.querySelector('.respa-input').value === 'Bounced line'")
    assert "Bounced line" not in await page.texts(LINE)
    await web.screenshot(page, "outage")
    shown = " ".join(await page.texts(".respa-window"))
    for raw in ("Component unavailable", "Message delivery failed", "service-unavailable"):
        assert raw not in shown
    await asyncio.to_thread(desk.r.restart)
    await wait_state(page, "open")
    assert not await page.eval("() => document.querySelector('.respa-input').disabled")
    await page.click(SEND)
    await alice.expect(exact("Bounced line"), timeout=10)
    await no_page_errors(page)


@pytest.mark.prosody(upload_size_limit=100000)
async def test_files_upload_to_the_agent_and_images_show_inline_both_ways(desk, web):
    if harness.server_kind() != "prosody":
        pytest.skip("mod_http_file_share is Prosody's")
    await desk.start(agents=["alice"])
    alice = desk.agent("alice")
    page, _ = await open_widget(web)
    conv, _ = await first_chat(page, alice, "Here is a photo")
    await page.wait_js("() => window.respaWidgetState.upload && "
                       "!document.querySelector('.respa-attach').disabled")
    assert await page.eval("() => window.respaWidgetState.upload.max") == 100000
    await page.set_files(".respa-file", [("broken-part.png", "image/png", png(40, 30))])
    link = await alice.expect(lambda m: "/file_share/" in m["body"], frm=conv)
    url = link["body"].strip()
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/file_share/.+/broken-part\.png", url), url
    # the visitor sees it inline
    await page.wait_js("() => [...document.querySelectorAll('.respa-msg.me img')]"
                       ".some((i) => i.complete && i.naturalWidth === 40)")
    # the agent's image link shows inline too
    alice.send(conv, url)
    await page.wait_js("() => [...document.querySelectorAll('.respa-msg.them img')]"
                       ".some((i) => i.complete && i.naturalWidth === 40)")
    await web.screenshot(page, "images")
    # too large: a clear message, nothing sent
    await page.set_files(".respa-file", [("huge.png", "image/png", png(size=150000))])
    assert (await page.wait_text(BAR, "too large")) == "huge.png is too large to send (at most 98 KB)."
    await asyncio.sleep(0.3)
    assert not told(alice, "huge.png")
    await no_page_errors(page)


async def test_a_finnish_page_shows_no_english(desk, web):
    await desk.start(agents=["alice"], queue={"language": "fi", "name": "Tuki"},
                     extra={"agent alice@localhost": {"name": "Aino"}})
    alice = desk.agent("alice")
    page, _ = await open_widget(web, size=PHONE, lang="fi")
    await page.wait_text(".respa-state", "Paikalla")
    conv, _ = await first_chat_fi(page, alice, "Missä tilaukseni on?")
    alice.send(conv, "Katson heti")
    await page.wait_text(LINE, "Katson heti")
    alice.send(conv, "/close")
    await page.wait_text(".respa-new-chat", "Aloita uusi chat")
    await web.screenshot(page, "finnish")
    shown = await page.eval("() => document.querySelector('.respa-root').innerText")
    labels = await page.eval("() => [...document.querySelectorAll('.respa-root [aria-label],"
                             " .respa-root [placeholder], .respa-root [title]')].map((e) =>"
                             " [e.getAttribute('aria-label'), e.getAttribute('placeholder'),"
                             " e.getAttribute('title')].join(' ')).join(' ')")
    english = ["Hello", "thank you", "agent", "Agent", "chat has ended", "Online", "Send",
               "Write a message", "You", "Support", "minimise", "Minimise", "Attach",
               "waiting", "Open", "Closed", "Chat with us"]
    for word in english:
        assert word not in shown + labels, (word, shown)
    assert await serious_a11y(page) == []


async def first_chat_fi(page, alice, text):
    await write(page, text)
    header = await alice.expect("New chat #")
    conv = header["from"].bare
    await alice.expect(exact(text), frm=conv)
    await page.wait_text(MESSAGE, "Asiakaspalvelija liittyi keskusteluun.")
    return conv, header


# measured in the page: from the click on the launcher (its own listener) to a usable chat
# (the window shown with the queue's state, Send enabled), checked every 5 ms
CLICK_CLOCK = """() => document.querySelector('.respa-launcher').addEventListener('click', () => {
    window.clickedAt = performance.now();
    const check = () => {
        if (document.querySelector('.respa-window[data-state=open]:not([hidden])')
            && !document.querySelector('.respa-send').disabled) {
            window.usableMs = performance.now() - window.clickedAt;
        } else {
            setTimeout(check, 5);
        }
    };
    check();
}, { capture: true })"""
USABLE_MS = "() => window.usableMs !== undefined && window.usableMs + 0.001"


def gz(path) -> int:
    return len(gzip.compress(path.read_bytes(), 9))


async def test_widget_weight_before_open_and_to_a_usable_chat(desk, web):
    """Item 11: the figures go to build/e2e-artifacts/widget-weight.json (README quotes them).
    Prosody's http_files sends files uncompressed: `wire` is what it sent, `gzip` what a web
    server with compression sends (each file gzipped -9)."""
    await desk.start(agents=["alice"])
    page = await web.page("visitor", **PHONE)
    await page.goto(web.url("widget.html", load="open"))
    await page.wait_text(LAUNCHER)
    await asyncio.sleep(1.0)                           # idle: with load=open nothing more loads
    entries = "() => performance.getEntriesByType('resource').map((e) => [e.name, e.encodedBodySize])"
    before = await page.eval(entries)
    own = [(u, n) for u, n in before if re.search(r"/(respa-widget|widget-config|widget-texts)\.js$", u)]
    assert len(own) == 3, before
    assert not any("converse" in u for u, _ in before), before
    await page.eval(CLICK_CLOCK)
    await page.click(LAUNCHER)
    usable_ms = await page.wait_js(USABLE_MS, timeout=20)
    after = await page.eval(entries)
    seen = {u for u, _ in before}
    opened = [(u, n) for u, n in after if u not in seen and u.startswith(web.prosody.http_url)]
    files = {u: harness.WEB_DIR / re.sub(r"^https?://[^/]+/", "", u).split("?")[0] for u, _ in opened}
    figures = {
        "before_open_own_script_bytes": sum(n for _, n in own),
        "before_open_own_script_gzip": sum(gz(harness.WEB_DIR / re.sub(r"^.*/", "", u)) for u, _ in own),
        "to_usable_wire_bytes": sum(n for _, n in opened),
        "to_usable_gzip_bytes": sum(gz(p) for p in files.values() if p.is_file()),
        "click_to_usable_ms": round(usable_ms),
        "files_on_open": sorted(re.sub(r"^https?://[^/]+", "", u) for u in files),
    }
    # the default (load once idle): nothing of Converse before the page's load event either
    idle = await web.page("idle", **PHONE)
    await idle.goto(web.url("widget.html"))
    await idle.wait_text(f"{LAUNCHER}[data-state=open]")
    early = await idle.eval("() => { const end = performance.getEntriesByType('navigation')[0]"
                            ".loadEventEnd; return performance.getEntriesByType('resource')"
                            ".filter((e) => e.startTime < end).map((e) => e.name); }")
    assert early and not any("converse" in u for u in early), early
    # and opening it then is at once: Converse is loaded and connected already
    await idle.eval(CLICK_CLOCK)
    await idle.click(LAUNCHER)
    figures["click_to_usable_ms_after_idle_load"] = round(await idle.wait_js(USABLE_MS))
    (artifacts_dir() / "widget-weight.json").write_text(json.dumps(figures, indent=2))
    print("widget weight:", json.dumps(figures))
    assert figures["before_open_own_script_bytes"] <= 30 * 1024, figures
    assert figures["to_usable_gzip_bytes"] <= 250 * 1024, figures
    assert any("converse-headless" in f for f in figures["files_on_open"]), figures


async def test_server_outage_disables_the_input_and_the_widget_comes_back(desk, web):
    """The XMPP server itself goes away (not only respa): the same plain sentence, the draft
    kept; Converse reconnects by itself once the server is back (a new anonymous JID, the
    same session), and respa answers the queue's state again."""
    await desk.start(agents=["alice"], extra={"routing": {"subscribe_retry": 1}})
    alice = desk.agent("alice")
    page, _ = await open_widget(web, retry=1)
    await first_chat(page, alice, "Before the server went")
    await page.fill(TEXTAREA, "Typed while it was down")
    await desk.prosody.stop_async()
    await wait_state(page, "unavailable", timeout=15)
    assert await page.eval("() => document.querySelector('.respa-input').disabled")
    assert (await page.text(BAR)).startswith("The chat cannot be reached right now.")
    await web.screenshot(page, "server-down")
    await asyncio.to_thread(desk.prosody.start)
    await desk.r.wait_for_log_async("reconnecting in", since=0)
    await wait_state(page, "open", timeout=40)
    assert not await page.eval("() => document.querySelector('.respa-input').disabled")
    assert await page.eval("() => document.querySelector('.respa-input').value") == \
        "Typed while it was down"
    assert await page.eval(f"() => document.querySelector('{BAR}').textContent") == ""
    await no_page_errors(page)
