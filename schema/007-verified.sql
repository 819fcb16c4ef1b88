-- respa schema, version 7: verified identities.

-- An identity is verified when the way the customer came proves it: their JID, the phone
-- number a gateway puts in the JID, the web site's visitor id. An email address or phone
-- number written in a chat (by the customer, or by an agent with /contact) is not: it is
-- recorded, is shown to agents as unverified, and never finds or merges a contact by itself.
ALTER TABLE identities ADD COLUMN verified INTEGER NOT NULL DEFAULT 1;

-- Earlier versions recorded written details as identities too. Emails only ever came from
-- chats. A phone number came from a gateway's JID when it was recorded as its contact opened
-- a conversation through a gateway (same time, channel neither xmpp nor web); any other was
-- written in a chat.
UPDATE identities SET verified = 0 WHERE kind = 'email';
UPDATE identities SET verified = 0 WHERE kind = 'phone' AND NOT EXISTS (
	SELECT 1 FROM conversations c WHERE c.contact_id = identities.contact_id
	AND c.channel NOT IN ('xmpp', 'web') AND c.created_at = identities.created_at);
