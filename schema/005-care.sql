-- respa schema, version 5: data care. Times are UTC ISO-8601 text.

-- When retention ([crm] retention_days) deleted the conversation's transcript (its
-- messages); NULL while it still has it. Its summary, tags and tasks stay.
ALTER TABLE conversations ADD COLUMN transcript_deleted_at TEXT;
-- What retention still has to look at: closed conversations with their transcript.
CREATE INDEX conversations_retained ON conversations(closed_at)
	WHERE transcript_deleted_at IS NULL;

-- Closed conversations whose record waits for the [crm] hook program. Queued in the close's
-- own transaction; deleted once the program exits 0. status 'failed': given up after
-- hook_retries retries (last_error says why).
CREATE TABLE hook_deliveries (
	conversation_id INTEGER PRIMARY KEY REFERENCES conversations(id) ON DELETE CASCADE,
	status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'failed')),
	attempts INTEGER NOT NULL DEFAULT 0,
	next_at TEXT,      -- when the next attempt is due; NULL once failed
	last_error TEXT,
	created_at TEXT NOT NULL
);
CREATE INDEX hook_deliveries_due ON hook_deliveries(next_at) WHERE status = 'pending';
