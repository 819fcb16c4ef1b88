-- respa schema, version 10: ratings, agent-started chats. Times are UTC ISO-8601 text.

-- The customer's rating of a conversation an agent closed (queue setting rating = yes). The
-- row is written when the question is asked; score stays NULL until the customer answers
-- within the queue's rating_window (after that the question has expired: asked, not rated).
CREATE TABLE ratings (
	conversation_id INTEGER PRIMARY KEY REFERENCES conversations(id) ON DELETE CASCADE,
	score INTEGER CHECK (score IS NULL OR (score >= 1 AND score <= 5)),
	comment TEXT,
	asked_at TEXT NOT NULL,
	rated_at TEXT
);
-- The questions still waiting for an answer: read at start, so they outlive a restart.
CREATE INDEX ratings_waiting ON ratings(asked_at) WHERE score IS NULL;

-- 1: an agent started the conversation (/start), writing first to a known customer.
ALTER TABLE conversations ADD COLUMN outbound INTEGER NOT NULL DEFAULT 0;
