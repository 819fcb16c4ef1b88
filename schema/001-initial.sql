-- respa schema, version 1. Times are UTC ISO-8601 text (2026-11-25T09:30:00Z).

-- A customer as the CRM knows them.
CREATE TABLE contacts (
	id INTEGER PRIMARY KEY,
	name TEXT,
	email TEXT,
	phone TEXT,
	created_at TEXT NOT NULL
);

-- Every address a contact was seen under: kind 'jid' for now.
CREATE TABLE identities (
	contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
	kind TEXT NOT NULL,
	value TEXT NOT NULL,
	created_at TEXT NOT NULL,
	PRIMARY KEY (kind, value)
) WITHOUT ROWID;
CREATE INDEX identities_contact ON identities(contact_id);

-- One customer, one queue, at most one agent at a time.
CREATE TABLE conversations (
	id INTEGER PRIMARY KEY,
	queue TEXT NOT NULL,
	customer_jid TEXT NOT NULL,
	contact_id INTEGER REFERENCES contacts(id),
	agent_jid TEXT,
	channel TEXT NOT NULL,
	state TEXT NOT NULL CHECK (state IN ('queued', 'offered', 'active', 'closed', 'offline')),
	created_at TEXT NOT NULL,
	assigned_at TEXT,
	first_response_at TEXT,
	closed_at TEXT,
	close_reason TEXT
);
CREATE INDEX conversations_open ON conversations(state) WHERE state <> 'closed';
CREATE INDEX conversations_contact ON conversations(contact_id);
CREATE INDEX conversations_created ON conversations(created_at);

-- The transcript. direction: 'in' from the customer, 'out' from the agent, 'note' private.
CREATE TABLE messages (
	id INTEGER PRIMARY KEY,
	conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
	direction TEXT NOT NULL CHECK (direction IN ('in', 'out', 'note')),
	sender_jid TEXT NOT NULL,
	body TEXT NOT NULL,
	created_at TEXT NOT NULL
);
CREATE INDEX messages_conversation ON messages(conversation_id, id);

-- Contact reasons given with /tag while the chat is open.
CREATE TABLE conversation_tags (
	conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
	tag TEXT NOT NULL,
	PRIMARY KEY (conversation_id, tag)
);

-- Written when a conversation closes, in the same transaction.
CREATE TABLE summaries (
	conversation_id INTEGER PRIMARY KEY REFERENCES conversations(id) ON DELETE CASCADE,
	agent_jid TEXT,
	summary TEXT NOT NULL,
	tags TEXT NOT NULL DEFAULT '',
	resolved INTEGER NOT NULL CHECK (resolved IN (0, 1)),
	created_at TEXT NOT NULL
);

-- Follow-up work for a named person (an agent's JID) or a queue.
CREATE TABLE tasks (
	id INTEGER PRIMARY KEY,
	conversation_id INTEGER REFERENCES conversations(id) ON DELETE SET NULL,
	contact_id INTEGER REFERENCES contacts(id) ON DELETE CASCADE,
	assignee_jid TEXT NOT NULL,
	kind TEXT NOT NULL DEFAULT 'follow-up'
		CHECK (kind IN ('follow-up', 'callback', 'handoff', 'offline')),
	title TEXT NOT NULL,
	due_at TEXT,
	status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done', 'cancelled')),
	created_at TEXT NOT NULL,
	done_at TEXT
);
CREATE INDEX tasks_open ON tasks(status, due_at);
CREATE INDEX tasks_assignee ON tasks(assignee_jid, status);
