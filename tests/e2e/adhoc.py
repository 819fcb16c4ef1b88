"""Driving respa's XEP-0050 commands from a slixmpp client (its xep_0050 plugin).

    cmd = Commander(await make_client("admin"))
    r = await cmd.execute("queue-create")            # a Reply: status, form fields, notes
    r = await cmd.complete(r, name="sales", title="Sales")
    assert r.status == "completed", r

Replies are read from the XML, so a test sees exactly what a client would.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from slixmpp.exceptions import IqError, IqTimeout

from harness import COMPONENT_JID, Client, error_condition

NS_COMMANDS = "http://jabber.org/protocol/commands"
NS_DATA = "jabber:x:data"
NONE = "*"                 # a list's "nothing chosen" value (FORM_NONE)

AGENT_NODES = ["ready", "pause", "my-chats", "my-tasks", "canned-send", "transcript",
               "start-chat"]
ADMIN_NODES = ["queues", "queue-create", "queue-edit", "queue-delete", "agents", "agent-add",
               "agent-edit", "agent-remove", "agent-status", "desk-status", "conversations",
               "conversation-close", "conversation-transfer", "tasks", "canned", "canned-add",
               "canned-edit", "canned-delete", "stats", "report", "announce", "outbox",
               "merge-undo",
               "contact-erase",
               "monitor"]       # a supervisor's: admins are supervisors too


@dataclass
class Field:
    var: Optional[str]
    type: str
    label: Optional[str]
    values: list[str]
    options: list[tuple[str, Optional[str]]]
    required: bool

    @property
    def value(self) -> Optional[str]:
        return self.values[0] if self.values else None


@dataclass
class Reply:
    type: str                       # result or error
    error: str = ""                 # RFC 6120 condition
    specific: str = ""              # XEP-0050 condition (bad-sessionid...)
    error_type: str = ""
    error_text: str = ""            # the error's <text/>
    node: str = ""
    status: str = ""
    sessionid: Optional[str] = None
    actions: set = field(default_factory=set)
    execute: Optional[str] = None
    notes: list[tuple[str, str]] = field(default_factory=list)
    form_type: Optional[str] = None
    title: Optional[str] = None
    fields: dict = field(default_factory=dict)     # var -> Field (fixed fields under "")
    fixed: list[str] = field(default_factory=list)
    fixed_vars: list[Optional[str]] = field(default_factory=list)   # the var of each fixed
    instructions: str = ""
    columns: list[str] = field(default_factory=list)
    rows: list[dict] = field(default_factory=list)
    fields_in_order: list[Optional[str]] = field(default_factory=list)

    @property
    def lines(self) -> list[str]:
        """The result table as text: the fixed fields row-1, row-2... in their order."""
        return [v for var, v in zip(self.fixed_vars, self.fixed)
                if var and var.startswith("row-")]

    def value(self, var: str) -> Optional[str]:
        return self.fields[var].value

    def values(self, var: str) -> list[str]:
        return self.fields[var].values

    def options(self, var: str) -> list[str]:
        return [v for v, _ in self.fields[var].options]

    def choices(self, var: str) -> dict[str, Optional[str]]:
        """A list's real options, value -> label: without the "nothing chosen" one (NONE)
        that a list with no value gets, for clients that show options only with a value."""
        return {v: label for v, label in self.fields[var].options if v != NONE}

    def note(self, kind: Optional[str] = None) -> str:
        return "\n".join(text for t, text in self.notes if kind is None or t == kind)

    def row(self, key: str, value: str) -> dict:
        found = [r for r in self.rows if r.get(key) == value]
        assert found, f"no row with {key}={value!r} in {self.rows}"
        return found[0]


def _text(el) -> str:
    return el.text or "" if el is not None else ""


def parse_reply(iq) -> Reply:
    xml = iq.xml
    ns = iq.namespace
    r = Reply(type=iq["type"])
    if r.type == "error":
        r.error = error_condition(iq)
        err = xml.find("{%s}error" % ns)
        r.error_type = err.get("type", "") if err is not None else ""
        for child in (err if err is not None else []):
            if child.tag.startswith("{%s}" % NS_COMMANDS):
                r.specific = child.tag.split("}", 1)[1]
            elif child.tag.endswith("}text"):
                r.error_text = child.text or ""
        return r
    cmd = xml.find("{%s}command" % NS_COMMANDS)
    assert cmd is not None, f"no <command/> in the result: {iq}"
    r.node, r.status, r.sessionid = cmd.get("node"), cmd.get("status"), cmd.get("sessionid")
    acts = cmd.find("{%s}actions" % NS_COMMANDS)
    if acts is not None:
        r.execute = acts.get("execute")
        r.actions = {a.tag.split("}", 1)[1] for a in acts}
    r.notes = [(n.get("type", "info"), _text(n)) for n in cmd.findall("{%s}note" % NS_COMMANDS)]
    x = cmd.find("{%s}x" % NS_DATA)
    if x is None:
        return r
    r.form_type = x.get("type")
    r.title = _text(x.find("{%s}title" % NS_DATA)) or None
    r.instructions = "\n".join(_text(i) for i in x.findall("{%s}instructions" % NS_DATA))
    r.fields_in_order = [f.get("var") for f in x.findall("{%s}field" % NS_DATA)]
    for f in x.findall("{%s}field" % NS_DATA):
        fl = Field(var=f.get("var"), type=f.get("type", "text-single"), label=f.get("label"),
                   values=[_text(v) for v in f.findall("{%s}value" % NS_DATA)],
                   options=[(_text(o.find("{%s}value" % NS_DATA)), o.get("label"))
                            for o in f.findall("{%s}option" % NS_DATA)],
                   required=f.find("{%s}required" % NS_DATA) is not None)
        if fl.type == "fixed":
            r.fixed += fl.values
            r.fixed_vars += [fl.var] * len(fl.values)
        else:
            r.fields[fl.var] = fl
    rep = x.find("{%s}reported" % NS_DATA)
    if rep is not None:
        r.columns = [f.get("var") for f in rep.findall("{%s}field" % NS_DATA)]
    for item in x.findall("{%s}item" % NS_DATA):
        r.rows.append({f.get("var"): _text(f.find("{%s}value" % NS_DATA))
                       for f in item.findall("{%s}field" % NS_DATA)})
    return r


class Commander:
    """One client's view of respa's commands."""

    def __init__(self, client: Client, to: str = COMPONENT_JID):
        self.client, self.to = client, to
        x = client.xmpp
        for plugin in ("xep_0004", "xep_0050"):
            if plugin not in x.plugin:
                x.register_plugin(plugin)
        self.x = x

    async def nodes(self) -> dict[str, str]:
        """The commands this client is offered: node -> name."""
        items = await self.client.disco_items(self.to, node=NS_COMMANDS)
        found = {}
        for jid, node, name in items["disco_items"]["items"]:
            assert jid == self.to, jid
            found[node] = name
        return found

    async def send(self, node: str, action: str = "execute", sessionid: Optional[str] = None,
                   values: Optional[dict] = None, timeout: float = 10.0,
                   ftype: str = "submit") -> Reply:
        payload = None
        if values is not None:
            payload = self.x["xep_0004"].make_form(ftype=ftype)
            for var, value in values.items():
                payload.add_field(var=var, value=value)
        try:
            iq = await self.x["xep_0050"].send_command(self.to, node, action=action,
                                                      payload=payload, sessionid=sessionid,
                                                      timeout=timeout)
        except IqError as e:
            iq = e.iq
        except IqTimeout:
            raise AssertionError(f"no answer to command {node} {action}") from None
        return parse_reply(iq)

    async def execute(self, node: str) -> Reply:
        return await self.send(node)

    async def next(self, r: Reply, **values) -> Reply:
        return await self.send(r.node, "next", r.sessionid, values)

    async def complete(self, r: Reply, **values) -> Reply:
        return await self.send(r.node, "complete", r.sessionid, values)

    async def prev(self, r: Reply) -> Reply:
        return await self.send(r.node, "prev", r.sessionid)

    async def cancel(self, r: Reply) -> Reply:
        return await self.send(r.node, "cancel", r.sessionid)

    async def run(self, node: str, *steps: dict) -> Reply:
        """Executes node and submits each step's values with the action the service offers
        by default (next, then complete on the last step); returns the last reply."""
        r = await self.execute(node)
        for i, values in enumerate(steps):
            assert r.status == "executing", f"{node}: step {i} got {r}"
            r = await self.send(node, r.execute or "complete", r.sessionid, values)
        return r
