-- respa schema, version 11: the report.

-- First-contact resolution asks, for each chat an agent closed resolved, whether the same
-- contact opened another conversation within fcr_days: answered from this index alone.
CREATE INDEX conversations_contact_created ON conversations(contact_id, created_at);
