"""Command results and forms every client shows: result tables also as text lines (paged when
long), errors in the form's instructions, labels everywhere, lists that show their options, and
the actions clients send (poezio: next on the last step; profanity: no action at all). The raw
stanzas of profanity 0.13.1 and poezio 0.14 (Debian's) are replayed as they were captured from
the clients' debug logs (profanity -l DEBUG, poezio -d FILE)."""
from adhoc import ADMIN_NODES, AGENT_NODES, NONE, Commander, parse_reply
from harness import COMPONENT_JID

ADMINS = {"admin": {"jids": "admin@localhost boss@localhost"}}

# --- captured from the clients (only the sessionid is filled in) ---------------------------
PROFANITY_EXECUTE = ('<command xmlns="http://jabber.org/protocol/commands" action="execute" '
                     'node="queue-create"/>')
# profanity sends no action when a form is submitted (/form submit), and <value/> for a field
# left empty; a text written unquoted (/field2 Billing desk) is cut at its first word
PROFANITY_SUBMIT = (
    '<command xmlns="http://jabber.org/protocol/commands" sessionid="{sid}" '
    'node="queue-create"><x xmlns="jabber:x:data" type="submit">'
    '<field var="name"><value>{name}</value></field>'
    '<field var="title"><value>Billing</value></field>'
    '<field var="strategy"><value>longest-idle</value></field>'
    '<field var="mode"><value>auto</value></field><field var="capacity"><value>0</value></field>'
    '<field var="tier_wait"><value>30</value></field>'
    '<field var="offer_timeout"><value>20</value></field>'
    '<field var="max_wait"><value>300</value></field>'
    '<field var="idle_close"><value>1800</value></field>'
    '<field var="hours"><value>always</value></field>'
    '<field var="timezone"><value>UTC</value></field><field var="closed"><value/></field>'
    '<field var="greeting"><value/></field><field var="offline_text"><value/></field>'
    '</x></command>')
POEZIO_EXECUTE = ('<command xmlns="http://jabber.org/protocol/commands" node="queue-create" '
                  'action="execute" />')
# poezio (slixmpp's continue_command) sends action next on the last step too, with the form's
# instructions in the submitted form
POEZIO_SUBMIT = (
    '<command xmlns="http://jabber.org/protocol/commands" node="queue-create" action="next" '
    'sessionid="{sid}"><x xmlns="jabber:x:data" type="submit"><instructions>Customers write '
    'to NAME@this service. The queue is kept in the database; add agents to it with &quot;Add '
    'an agent to a queue&quot;.</instructions><field var="name"><value>{name}</value></field>'
    '<field var="title"><value>Billing desk</value></field>'
    '<field var="strategy"><value>longest-idle</value></field>'
    '<field var="mode"><value>auto</value></field><field var="capacity"><value>0</value></field>'
    '<field var="tier_wait"><value>30</value></field>'
    '<field var="offer_timeout"><value>20</value></field>'
    '<field var="max_wait"><value>300</value></field>'
    '<field var="idle_close"><value>1800</value></field>'
    '<field var="hours"><value>always</value></field>'
    '<field var="timezone"><value>UTC</value></field><field var="closed"><value /></field>'
    '<field var="greeting"><value /></field><field var="offline_text"><value /></field>'
    '</x></command>')


async def _replay(client, xml: str):
    return parse_reply(await client.iq(COMPONENT_JID, xml, itype="set"))


async def test_profanity_and_poezio_stanzas_replayed(desk):
    await desk.start(agents=["alice"], extra=ADMINS)
    admin = await desk.customer("admin")
    titles = {}
    for client, execute, submit, name in (
            ("profanity", PROFANITY_EXECUTE, PROFANITY_SUBMIT, "billing"),
            ("poezio", POEZIO_EXECUTE, POEZIO_SUBMIT, "billing2")):
        r = await _replay(admin, execute)
        assert r.status == "executing" and r.sessionid, (client, r)
        # a taken name: the reason is in the instructions too (profanity shows no note here)
        taken = await _replay(admin, submit.format(sid=r.sessionid, name="support"))
        assert taken.status == "executing", (client, taken)
        why = "Name: there is a queue support already."
        assert why in taken.note("error")
        assert taken.instructions.startswith("Not done: " + why), (client, taken.instructions)
        assert "Customers write to NAME@" in taken.instructions     # what it said before
        assert taken.value("name") == "support"                     # what was written stays
        done = await _replay(admin, submit.format(sid=r.sessionid, name=name))
        assert done.status == "completed", (client, done)
        assert f"Queue {name} created" in done.note(), (client, done)
        titles[name] = desk.rows("SELECT title FROM desk_queues WHERE name = ?", name)[0]["title"]
    assert titles == {"billing": "Billing", "billing2": "Billing desk"}  # profanity's cut


async def test_every_table_result_also_comes_as_lines(desk):
    await desk.start(agents=["alice", "boss"], online=["alice"], extra=ADMINS)
    alice = desk.agent("alice")
    boss = Commander(await desk.login("boss"))
    bob = await desk.customer("bob")
    conv = await desk.open_chat(bob, alice, "where is my parcel")
    await boss.run("canned-add", {"name": "hi", "text": ["Hello!", "How can I help?"]})
    for node, who in (("desk-status", boss), ("agents", boss), ("queues", boss),
                      ("conversations", boss), ("canned", boss),
                      ("my-chats", Commander(alice))):
        r = await who.execute(node)
        assert r.status == "completed" and r.rows, (node, r)
        lines = r.lines
        assert len(lines) == len(r.rows), (node, lines, r.rows)
        for line, row in zip(lines, r.rows):
            first = row[r.columns[0]]
            assert line.startswith(first) and len(line) <= 300, (node, line)
            assert "\n" not in line
        # the lines come first, before the result's other fields (stable order)
        assert r.fields_in_order[:len(lines)] == [f"row-{i + 1}" for i in range(len(lines))]
    r = await boss.execute("desk-status")
    assert r.lines == ["support | Open now: yes | Waiting: 0 | Active chats: 1 | "
                       "Agents free: 2 | Busy: 0 | Away or paused: 0 | Offline: 0"], r.lines
    r = await boss.execute("canned")
    assert r.lines == ["(every queue) | Name: hi | Text: Hello! How can I help?"]
    r = await Commander(alice).execute("my-chats")
    assert r.lines[0].startswith(conv.split("@")[0] + " | Address: " + conv)


async def test_empty_table_says_so(desk):
    await desk.start(agents=["alice"], extra=ADMINS)
    admin = Commander(await desk.customer("admin"))
    r = await admin.execute("conversations")
    assert r.status == "completed" and r.rows == [] and r.lines == ["(nothing to list)"]


async def test_a_long_result_comes_a_page_at_a_time(desk):
    await desk.start(agents=["alice"], extra=ADMINS)
    admin = Commander(await desk.customer("admin"))
    for i in range(1, 31):
        r = await admin.run("canned-add", {"name": f"c{i:02}", "text": f"text {i}"})
        assert r.status == "completed", r
    r = await admin.execute("canned")
    assert r.status == "executing" and r.form_type == "form", r
    assert r.title == "Canned responses (page 1 of 2)"
    assert r.instructions.startswith("Rows 1-25 of 30.")
    assert len(r.lines) == 25 and r.lines[0].startswith("(every queue) | Name: c01")
    assert r.actions == {"next", "complete"} and r.execute == "next"
    assert r.value("page") == "2" and list(r.choices("page")) == ["1", "2"]
    assert r.choices("page")["2"] == "page 2: rows 26-30"
    assert r.rows == []                                  # a page is a form: text only
    p2 = await admin.send("canned", "next", r.sessionid)
    assert p2.title == "Canned responses (page 2 of 2)" and len(p2.lines) == 5
    assert p2.lines[-1].startswith("(every queue) | Name: c30")
    assert p2.actions == {"prev", "complete"} and p2.execute == "complete"
    p1 = await admin.prev(p2)
    assert p1.lines == r.lines
    bad = await admin.prev(p1)
    assert (bad.error, bad.specific) == ("bad-request", "bad-action")
    assert "first page" in bad.error_text
    # profanity can only submit (no action): the page chosen in the form, else the next one
    p2 = await admin.send("canned", "execute", p1.sessionid, {"page": "2"})
    assert len(p2.lines) == 5
    p1 = await admin.send("canned", "execute", p1.sessionid, {"page": "1"})
    assert p1.title.endswith("(page 1 of 2)")
    p2 = await admin.send("canned", "execute", p1.sessionid, {"page": "2"})
    end = await admin.send("canned", "next", p2.sessionid, {"page": "2"})   # poezio's
    assert end.status == "completed", end
    gone = await admin.send("canned", "next", p2.sessionid)
    assert gone.specific == "bad-sessionid"
    r = await admin.execute("canned")
    end = await admin.complete(r)
    assert end.status == "completed"


async def test_every_form_is_labelled_and_every_list_shows_its_options(desk):
    """For clients that show only labels (profanity: "(null)" for none) and list a list's
    options only when it has a value."""
    await desk.start(agents=["alice", "boss"], online=["alice"], extra=ADMINS)
    bob = await desk.customer("bob")
    await desk.open_chat(bob, desk.agent("alice"), "hello")
    boss = Commander(await desk.login("boss"))
    await boss.run("canned-add", {"name": "hi", "text": "Hello!"})
    seen = 0
    for node in AGENT_NODES + ADMIN_NODES:
        r = await boss.execute(node)
        assert r.type == "result", (node, r)
        if r.status != "executing":
            continue
        seen += 1
        for var, f in r.fields.items():
            assert f.label, (node, var)
            if f.type in ("list-single", "list-multi"):
                assert f.values, (node, var, "no value: profanity hides the options")
                assert all(label for _, label in f.options), (node, var, f.options)
                assert len(f.options) == len(set(v for v, _ in f.options)), (node, var)
        assert all(v for v in r.fixed_vars), (node, "poezio shows one var-less fixed field")
        await boss.cancel(r)
    assert seen >= 15


async def test_nothing_chosen_is_no_choice(desk):
    await desk.start(agents=["alice"], extra=ADMINS)
    admin = Commander(await desk.customer("admin"))
    r = await admin.execute("conversation-close")
    assert r.value("chat") == NONE and r.choices("chat") == {}
    assert r.fields["chat"].options[0] == (NONE, "(none chosen yet)")
    again = await admin.complete(r, chat=NONE, reason="spam")
    assert again.status == "executing" and "Chat is required" in again.note("error")
    assert again.instructions.startswith("Not done: Chat is required")
    r = await admin.execute("agent-remove")
    assert r.value("queue") == NONE
    assert r.fields["queue"].options[0] == (NONE, "every queue: the agent leaves the desk")


async def test_actions_clients_send(desk):
    await desk.start(agents=["alice"], extra=ADMINS)
    admin = Commander(await desk.customer("admin"))
    alice = Commander(desk.agent("alice"))
    # the last step: execute, next and complete all submit it
    for action in ("execute", "next", "complete"):
        r = await alice.execute("pause")
        done = await alice.send("pause", action, r.sessionid, {"reason": action})
        assert done.status == "completed", (action, done)
        assert desk.rows("SELECT reason FROM agent_status") == [{"reason": action}], action
        await alice.execute("ready")
    # a two-step command: next and execute go on; complete is too early, and says so
    r = await admin.execute("queue-edit")
    early = await admin.send("queue-edit", "complete", r.sessionid, {"queue": "support"})
    assert (early.error, early.specific) == ("bad-request", "bad-action")
    assert "not the last one" in early.error_text
    r = await admin.send("queue-edit", "dance", r.sessionid, {})
    assert (r.error, r.specific, r.error_type) == ("bad-request", "malformed-action", "modify")
    assert r.error_text == ('unknown action "dance": execute, next, prev, complete or '
                            'cancel')
    long = await admin.send("queues", "x" * 100)
    assert long.error_text.startswith('unknown action "' + "x" * 40 + '..."')


async def test_profanity_ticks_a_task_in_a_list_with_nothing_ticked(desk):
    """profanity shows a list-multi's options only when it has a value: my-tasks comes with
    '*' ticked; `/field1 add 7` adds to it, and `/form submit` sends both, with no action."""
    await desk.start(agents=["alice"])
    alice = desk.agent("alice")
    bob = await desk.customer("bob")
    conv = await desk.open_chat(bob, alice, "call me")
    alice.send(conv, "!task +1h call bob back")
    await alice.expect("added for you", frm=conv)
    task = desk.rows("SELECT id FROM tasks")[0]["id"]
    r = await Commander(alice).execute("my-tasks")
    assert r.values("done") == [NONE] and str(task) in r.choices("done")
    done = await _replay(alice, (
        '<command xmlns="http://jabber.org/protocol/commands" sessionid="{sid}" '
        'node="my-tasks"><x xmlns="jabber:x:data" type="submit"><field var="done">'
        '<value>*</value><value>{task}</value></field></x></command>').format(
            sid=r.sessionid, task=task))
    assert done.status == "completed" and f"Marked done: #{task}." in done.note(), done
    assert desk.rows("SELECT status FROM tasks") == [{"status": "done"}]
