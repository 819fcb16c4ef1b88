-- respa schema, version 3: web visitors and gateways.

-- The web widget's session token: a visitor who reloads the page (a new anonymous JID) comes
-- back to the same conversation. NULL for customers who are known by their JID alone.
ALTER TABLE conversations ADD COLUMN session TEXT;
CREATE INDEX conversations_session ON conversations(session) WHERE session IS NOT NULL;
