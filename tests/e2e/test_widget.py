"""The web widget (web/respa-widget.js) and the demo agent page (web/agent.html) in a real
browser: Debian's chromium driven by playwright-core, against the test's Prosody (which serves
the pages on its http port, beside /xmpp-websocket and /http-bind), respa and slixmpp agents
or customers. One browser for the module; each test opens fresh pages (fresh localStorage).

Assertions are on the page's DOM; each test also saves screenshots under
build/e2e-artifacts/ (build-san/ for the sanitizer run)."""
import asyncio
import re
from datetime import datetime, timedelta, timezone

import pytest

import harness
from desk import ASSIGNED, GREETING, QUEUE, conv_id, exact

ALICE = "alice@localhost"
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

# the widget's parts (web/respa-widget.js, web/respa-chat.js)
STATE = ".respa-window"
STATE_LABEL = ".respa-state"
STATUS_TEXT = ".respa-status-text"
LAUNCHER = ".respa-launcher"
TEXTAREA = ".respa-input"
SEND = ".respa-send"
MESSAGE = ".respa-msg .respa-text"
LINE = ".respa-msg:not(.respa-welcome) .respa-text"    # all but the widget's welcome line
AGENT_MESSAGE = ".chat-msg__text"                       # Converse's full UI, on agent.html
AGENT_TEXTAREA = "converse-chat textarea.chat-textarea"
NOTICE = ".respa-msg.notice .respa-text"
AGENT_LINE = ".respa-msg.them"
PHONE = {"width": 375, "height": 667}
DESKTOP = {"width": 1280, "height": 800}


async def state_of(page) -> tuple[str, str, str]:
    """(data-state, the label shown, the queue's status text) of the widget."""
    return (await page.attribute(STATE, "data-state"), await page.text(STATE_LABEL),
            (await page.texts(STATUS_TEXT) or [""])[0])


async def wait_state(page, state: str, timeout: float = 10.0) -> tuple[str, str, str]:
    await page.wait_text(f"{STATE}[data-state={state}] {STATE_LABEL}", timeout=timeout)
    return await state_of(page)


async def session_of(page) -> dict:
    """The widget's record in localStorage: token, visitorId, lastActive, history."""
    return await page.eval("(q) => JSON.parse(localStorage.getItem('respa-widget:' + q))", QUEUE)


async def connected_jid(page) -> str:
    return await page.wait_js("() => window.respaWidgetState && window.respaWidgetState.jid")


def told(client, text: str) -> list:
    """Messages the client received (and no expect() took) whose body contains text (agents
    also get other lines, such as the contact's card, that these tests do not look at)."""
    return [m for m in client.messages.items if text in m["body"]]


async def prosody_logged(prosody, text: str, timeout: float = 10.0) -> None:
    """Wait until Prosody's (debug) log has a line containing text."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while text not in prosody.log_path.read_text(errors="replace"):
        assert loop.time() < deadline, f"prosody did not log {text!r} within {timeout}s"
        await asyncio.sleep(0.05)


async def write(page, text: str) -> None:
    await page.fill(TEXTAREA, text)
    await page.press(TEXTAREA, "Enter")


async def open_widget(web, visitor_id=None, size=DESKTOP, name="visitor", **query):
    """A visitor opens the company page and the chat (the launcher); returns (page, their
    anonymous JID) once the queue's state shows."""
    page = await web.page(name, **size)
    if visitor_id:
        query["visitor"] = visitor_id
    await page.goto(web.url("widget.html", **query))
    await page.click(LAUNCHER)
    jid = await connected_jid(page)
    await page.wait_js("() => document.querySelector('.respa-window[data-state=connecting]')"
                       " === null")
    return page, jid


async def first_chat(page, alice, text: str):
    """The visitor's first message reaches alice: returns (c-N address, the header)."""
    await write(page, text)
    header = await alice.expect("New chat #")
    conv = header["from"].bare
    await alice.expect(exact(text), frm=conv)
    await page.wait_text(MESSAGE, ASSIGNED)
    return conv, header


async def test_visitor_sees_the_queue_open_writes_and_reads_the_answer(desk, web):
    await desk.start(agents=["alice"])
    alice = desk.agent("alice")
    page, jid = await open_widget(web, visitor_id="customer-1001")
    assert re.fullmatch(r"[^@/]+@guest\.localhost/.+", jid), jid     # anonymous, full JID
    # before writing anything: the queue is open, an agent is free
    assert await state_of(page) == ("open", "Online", "Open: an agent is free")
    await web.screenshot(page, "open")

    conv, header = await first_chat(page, alice, "Do you ship to Finland?")
    n = conv_id(conv)
    assert header["body"].startswith(f"New chat #{n} from ")
    assert "(web)" in header["body"]
    await page.wait_text(MESSAGE, GREETING)
    alice.send(conv, "Yes, in 3 days")
    await page.wait_text(MESSAGE, "Yes, in 3 days")
    await web.screenshot(page, "answered")

    row = desk.conversation(conv)
    assert (row["channel"], row["state"], row["agent_jid"]) == ("web", "active", ALICE)
    assert row["customer_jid"] == jid
    session = await session_of(page)
    assert re.fullmatch(r"[A-Za-z0-9_-]{22,}", session["token"]), session
    assert row["session"] == session["token"]
    known_as = {(i["kind"], i["value"]) for i in desk.rows(
        "SELECT kind, value FROM identities WHERE contact_id = ?", row["contact_id"])}
    assert ("visitor", "customer-1001") in known_as
    assert desk.transcript(conv) == [("in", jid, "Do you ship to Finland?"),
                                     ("out", ALICE, "Yes, in 3 days")]
    # on the wire: the presence and every message to the queue carry the visitor element
    to_queue = [f for f in await page.log() if re.search(
        rf"C->S <(presence|message)\b[^>]*\bto=\"{re.escape(QUEUE)}\"", f)]
    assert any("C->S <presence" in f for f in to_queue), to_queue
    assert any("<body>Do you ship to Finland?</body>" in f for f in to_queue), to_queue
    visitor = (f'<visitor id="customer-1001" session="{session["token"]}" '
               'xmlns="urn:respa:visitor:0"/>')
    assert all(visitor in f for f in to_queue), to_queue


async def test_agents_me_line_shows_as_an_action_of_the_agent_name(desk, web):
    await desk.start(agents=["alice"])
    alice = desk.agent("alice")
    page, _ = await open_widget(web)
    conv, _ = await first_chat(page, alice, "Where is my parcel?")
    alice.send(conv, "/me is looking up your order")     # XEP-0245, as profanity sends it
    shown = await page.wait_text(".respa-action", "is looking up your order")
    # the widget's name for the agent side (texts.agentName), never a JID or the command
    assert "Support" in shown and "/me" not in shown and "alice" not in shown, shown
    await web.screenshot(page, "me-action")
    assert desk.transcript(conv)[-1] == ("out", ALICE, "/me is looking up your order")


@pytest.mark.prosody(smacks_hibernation_time=1)
async def test_reload_continues_the_same_chat_with_the_same_agent(desk, web):
    await desk.start(agents=["alice"], queue={"customer_grace": 1})
    alice = desk.agent("alice")
    page, first_jid = await open_widget(web)
    conv, _ = await first_chat(page, alice, "My order is late")
    alice.send(conv, "Which order number?")
    await page.wait_text(MESSAGE, "Which order number?")
    token = (await session_of(page))["token"]

    await page.reload()             # a new anonymous login, the same session token
    jid = await connected_jid(page)
    assert jid != first_jid
    # in a chat: the queue says so (its own line), never "busy" or a free agent for someone else
    assert await wait_state(page, "open") == ("open", "Online", "You are chatting with an agent")
    # the earlier lines are shown again
    for text in ("My order is late", GREETING, "Which order number?"):
        await page.wait_text(MESSAGE, text)
    assert (await session_of(page))["token"] == token
    await web.screenshot(page, "reloaded")

    alice.send(conv, "Are you still there?")              # reaches the reloaded page
    await page.wait_text(MESSAGE, "Are you still there?")
    # the old page's session ends (after XEP-0198 hibernation): Prosody tells the queue the old
    # JID is unavailable; the chat has moved on to the new JID and must stay open
    await prosody_logged(desk.prosody, f"Unbinding resource for {first_jid}")
    await asyncio.sleep(1.5)                                 # customer_grace is 1 s
    assert not told(alice, "closed. Summary:")
    await write(page, "Yes: order 1234")
    await alice.expect(exact("Yes: order 1234"), frm=conv)  # the same c-N
    await asyncio.sleep(0.3)
    assert not told(alice, "New chat #")                    # no second chat
    rows = desk.rows("SELECT id, customer_jid, agent_jid, state FROM conversations")
    assert rows == [{"id": conv_id(conv), "customer_jid": jid, "agent_jid": ALICE,
                     "state": "active"}]
    texts = await page.texts(MESSAGE)
    assert texts.count("Which order number?") == 1           # restored once, not twice
    await web.screenshot(page, "continued")


async def test_queue_closed_shows_the_offline_form_which_makes_an_offline_chat_and_task(desk, web):
    opens = datetime.now(timezone.utc) + timedelta(days=2)     # never today, whatever the hour
    await desk.start(agents=["alice"], queue={"hours": f"{DAYS[opens.weekday()]} 09:00-17:00"})
    page, _ = await open_widget(web)
    state, label, status = await state_of(page)
    assert (state, label) == ("closed", "Closed")
    assert re.fullmatch(r"Closed; opens \w+ \d+ \w+ at 09:00 \(UTC\)", status), status
    # the offline form instead of the chat box; checked in the browser first
    await page.wait_text(".respa-offline", "We are closed right now")
    # no "write your question" from a closed queue
    assert await page.eval("() => document.querySelector('.respa-welcome').offsetParent") is None
    assert not await page.eval("() => document.querySelector('.respa-composer').offsetParent")
    await web.screenshot(page, "closed")
    await page.fill("#respa-f-email", "not an email")
    await page.click(".respa-offline button[type=submit]")
    assert await page.text("#respa-f-name-error") == "Please fill in this field."
    assert (await page.text("#respa-f-email-error")).startswith("Please give an email address")
    assert await page.attribute("#respa-f-email", "aria-invalid") == "true"
    await web.screenshot(page, "offline-form-errors")
    await asyncio.sleep(0.3)
    assert desk.rows("SELECT id FROM conversations") == []      # nothing sent
    await page.fill("#respa-f-name", "Ann <b>Lee</b>")
    await page.fill("#respa-f-email", "ann@example.com")
    await page.fill("#respa-f-message", "Please call me back")
    await page.click(".respa-offline button[type=submit]")
    await page.wait_text(LINE, "Please call me back")
    await desk.stored(1)
    # respa's answer, a notice, says when they will hear back
    await page.wait_text(NOTICE, "closed right now")
    row = desk.rows("SELECT state, channel, contact_id FROM conversations")
    assert [(r["state"], r["channel"]) for r in row] == [("offline", "web")]
    contact = desk.rows("SELECT name, email FROM contacts WHERE id = ?", row[0]["contact_id"])
    assert contact == [{"name": "Ann <b>Lee</b>", "email": "ann@example.com"}]
    tasks = desk.rows("SELECT kind FROM tasks")
    assert [t["kind"] for t in tasks] == ["offline"]
    await web.screenshot(page, "offline-sent")
    await asyncio.sleep(0.2)
    assert not told(desk.agent("alice"), "New chat #")       # nothing for an agent now


async def test_queue_shows_busy_while_the_only_agent_is_dnd_then_open(desk, web):
    await desk.start(agents=["alice"], show={"alice": "dnd"})
    page, _ = await open_widget(web)
    assert await state_of(page) == ("busy", "Busy", "Open: every agent is busy")
    await web.screenshot(page, "busy")
    mark = desk.r.log_mark()
    desk.agent("alice").set_presence(None)     # she is back: the widget follows, unasked
    await desk.seen_as("alice", "available", since=mark)
    assert await wait_state(page, "open") == ("open", "Online", "Open: an agent is free")
    await web.screenshot(page, "open-again")


async def test_a_visitor_back_after_the_session_minutes_starts_a_new_chat(desk, web):
    await desk.start(agents=["alice"])
    alice = desk.agent("alice")
    page, _ = await open_widget(web)
    conv, _ = await first_chat(page, alice, "First visit")
    old = await session_of(page)
    # the visitor leaves the site and comes back 11 minutes later (sessionMinutes is 10)
    await page.goto(web.url("index.html"))              # same origin, no widget
    await page.eval("([q, ms]) => { const k = 'respa-widget:' + q;"
                    " const r = JSON.parse(localStorage.getItem(k)); r.lastActive -= ms;"
                    " localStorage.setItem(k, JSON.stringify(r)); }", [QUEUE, 11 * 60000])
    await page.goto(web.url("widget.html"))
    await connected_jid(page)
    await wait_state(page, "open")
    new = await session_of(page)
    assert new["token"] != old["token"] and new["history"] == []
    assert await page.texts(LINE) == []              # a fresh chat, nothing restored
    second, _ = await first_chat(page, alice, "Second visit")
    assert conv_id(second) == conv_id(conv) + 1
    assert desk.conversation(second)["session"] == new["token"]
    await web.screenshot(page, "new-session")


async def test_widget_falls_back_to_bosh_when_websocket_fails(desk, web):
    await desk.start(agents=["alice"])
    alice = desk.agent("alice")
    dead = f"ws://127.0.0.1:{harness.free_port()}/xmpp-websocket"   # nothing listens there
    page, jid = await open_widget(web, websocket=dead)
    assert await page.eval("() => window.respaWidgetState.transport") == "bosh"
    assert (await state_of(page))[0] == "open"
    conv, header = await first_chat(page, alice, "Hello over BOSH")
    assert "(web)" in header["body"]
    alice.send(conv, "Hello back")
    await page.wait_text(MESSAGE, "Hello back")
    assert desk.conversation(conv)["customer_jid"] == jid
    await web.screenshot(page, "bosh")


async def test_widget_shows_respa_going_away_and_coming_back(desk, web):
    """While respa is away the widget says so, and asks the queue again every retrySeconds:
    it shows the queue again by itself once respa is back (respa forgets its watchers when it
    stops)."""
    unavailable = ("unavailable", "Chat unavailable",
                   "The chat service cannot be reached right now.")
    await desk.start(agents=["alice"])
    await asyncio.to_thread(desk.r.stop)
    page, _ = await open_widget(web, retry=1)     # Prosody answers for the component
    assert await state_of(page) == unavailable
    await web.screenshot(page, "respa-down")
    await asyncio.to_thread(desk.r.restart)
    assert await wait_state(page, "open") == ("open", "Online", "Open: an agent is free")
    # respa stopping tells its watchers that the queue is gone
    await asyncio.to_thread(desk.r.stop)
    assert await wait_state(page, "unavailable") == unavailable
    await asyncio.to_thread(desk.r.restart)
    assert await wait_state(page, "open") == ("open", "Online", "Open: an agent is free")


@pytest.mark.prosody(smacks_hibernation_time=1)
async def test_visitor_who_closes_the_tab_is_closed_after_the_grace(desk, web):
    """Prosody tells the queue `unavailable` when the tab's session ends (after XEP-0198
    hibernation): respa closes the chat after customer_grace. That presence is Prosody's own
    and carries no <visitor/>: respa must know the conversation by the visitor's JID too."""
    await desk.start(agents=["alice"], queue={"customer_grace": 1})
    alice = desk.agent("alice")
    page, jid = await open_widget(web)
    conv, _ = await first_chat(page, alice, "Quick question")
    alice.send(conv, "Go ahead")
    await page.wait_text(MESSAGE, "Go ahead")
    await web.screenshot(page, "before-close")
    await web.close(page)
    summary = await alice.expect("closed. Summary:", frm=conv, timeout=8)
    assert summary["body"].startswith(f"Chat #{conv_id(conv)} closed.")
    row = desk.conversation(conv)
    assert (row["state"], row["close_reason"]) == ("closed", "customer-left")


async def test_agent_page_logs_in_takes_an_offered_chat_and_answers(desk, web):
    await desk.start(agents=["alice"], online=[], queue={"mode": "offer", "offer_timeout": 30})
    page = await web.page("agent", width=1280, height=800)
    await page.goto(web.url("agent.html"))
    await page.fill("#converse-login-jid", "alice")          # the demo's domain is filled in
    await page.fill("#converse-login-password", "pw")
    await page.click("#converse-login button[type=submit]")
    # the page approves respa's presence subscription; respa sees alice available
    await desk.r.wait_for_log_async("agent alice@localhost approved the presence subscription")
    await desk.seen_as("alice", "available", since=0)
    await web.screenshot(page, "logged-in")

    bob = await desk.customer("bob")
    bob.send(QUEUE, "Hello, is anyone there?")
    await bob.expect(GREETING, frm=QUEUE)
    offer = await page.wait_text(AGENT_MESSAGE, "Offer: chat #")
    n = int(re.search(r"chat #(\d+)", offer).group(1))
    await page.wait_text(AGENT_MESSAGE, "Hello, is anyone there?")
    await web.screenshot(page, "offered")
    await page.fill(AGENT_TEXTAREA, "Hi Bob, Alice here")
    await page.press(AGENT_TEXTAREA, "Enter")                  # answering takes the chat
    await bob.expect(exact(ASSIGNED), frm=QUEUE)
    await bob.expect(exact("Hi Bob, Alice here"), frm=QUEUE)
    await page.wait_text(AGENT_MESSAGE, f"Chat #{n} is yours.")
    row = desk.conversation(n)
    assert (row["state"], row["agent_jid"], row["channel"]) == ("active", ALICE, "xmpp")
    bob.send(QUEUE, "Great, thanks")
    await page.wait_text(AGENT_MESSAGE, "Great, thanks")
    await web.screenshot(page, "answered")
