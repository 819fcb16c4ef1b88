-- respa schema, version 9: the mail outbox. Times are UTC ISO-8601 text.

-- Every mail respa sends, queued in the transaction of what caused it (a chat's end, a
-- handoff, a reminder) and kept until the sendmail program took it: a restart or a mail
-- system that is down loses none. message is the whole RFC 5322 text given to the program.
-- A conversation or contact erased takes its mails with it.
CREATE TABLE mail_outbox (
	id INTEGER PRIMARY KEY,
	kind TEXT NOT NULL,          -- transcript, handoff, reminder
	conversation_id INTEGER REFERENCES conversations(id) ON DELETE CASCADE,
	contact_id INTEGER REFERENCES contacts(id) ON DELETE CASCADE,
	to_addr TEXT NOT NULL,
	subject TEXT NOT NULL,
	message TEXT NOT NULL,
	status TEXT NOT NULL DEFAULT 'pending' CHECK (status = 'pending' OR status = 'failed'),
	attempts INTEGER NOT NULL DEFAULT 0,
	next_at TEXT,                -- when the next attempt is due; NULL once failed
	last_error TEXT,
	created_at TEXT NOT NULL
);
CREATE INDEX mail_outbox_due ON mail_outbox(next_at) WHERE status = 'pending';
CREATE INDEX mail_outbox_conversation ON mail_outbox(conversation_id);
CREATE INDEX mail_outbox_contact ON mail_outbox(contact_id);
