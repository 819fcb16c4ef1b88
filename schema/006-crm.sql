-- respa schema, version 6: the CRM side. Times are UTC ISO-8601 text.

-- A contact merged into another keeps its row (so a wrong merge can be undone) and points to
-- the one that now holds its identities, conversations and tasks.
ALTER TABLE contacts ADD COLUMN company TEXT;
ALTER TABLE contacts ADD COLUMN merged_into INTEGER REFERENCES contacts(id);

-- Every merge, and what it moved: undoing one moves exactly that back.
CREATE TABLE merges (
	id INTEGER PRIMARY KEY,
	kept_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
	merged_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
	reason TEXT NOT NULL,
	created_at TEXT NOT NULL,
	undone_at TEXT
);
CREATE TABLE merge_moves (
	merge_id INTEGER NOT NULL REFERENCES merges(id) ON DELETE CASCADE,
	what TEXT NOT NULL CHECK (what IN ('identity', 'conversation', 'task')),
	kind TEXT,            -- identity kind
	value TEXT NOT NULL   -- identity value, or the conversation's or task's id
);
CREATE INDEX merge_moves_merge ON merge_moves(merge_id);

-- Tasks: what the assignee needs beyond the title (a handoff's summary), and when they were
-- last reminded (a due task is sent once, then once a day while it stays open).
ALTER TABLE tasks ADD COLUMN details TEXT;
ALTER TABLE tasks ADD COLUMN reminded_at TEXT;
ALTER TABLE tasks ADD COLUMN created_by TEXT;
CREATE INDEX tasks_due ON tasks(due_at) WHERE status = 'open';

-- Messages an agent scheduled for a customer (/remind).
CREATE TABLE reminders (
	id INTEGER PRIMARY KEY,
	conversation_id INTEGER REFERENCES conversations(id) ON DELETE CASCADE,
	contact_id INTEGER REFERENCES contacts(id) ON DELETE CASCADE,
	from_jid TEXT NOT NULL,   -- the queue address it is sent from
	to_jid TEXT NOT NULL,
	body TEXT NOT NULL,
	created_by TEXT NOT NULL,
	due_at TEXT NOT NULL,
	sent_at TEXT,
	created_at TEXT NOT NULL
);
CREATE INDEX reminders_due ON reminders(due_at) WHERE sent_at IS NULL;
CREATE INDEX conversations_contact_closed ON conversations(contact_id, closed_at);
CREATE INDEX tasks_contact ON tasks(contact_id, status);
