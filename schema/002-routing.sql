-- respa schema, version 2: routing. Times are UTC ISO-8601 text.

-- The queue address the customer wrote to, when the conversation was transferred to another
-- queue (conversations.queue is where it is routed now). NULL: the same as queue.
ALTER TABLE conversations ADD COLUMN entry_queue TEXT;

-- An agent's own routing status: a pause outlives a restart and whatever the client says.
CREATE TABLE agent_status (
	jid TEXT PRIMARY KEY,
	paused INTEGER NOT NULL CHECK (paused IN (0, 1)),
	reason TEXT,
	updated_at TEXT NOT NULL
) WITHOUT ROWID;
