-- respa schema, version 4: the desk as admins shape it with ad-hoc commands (XEP-0050).
-- Queues and agents declared in respa.conf are never stored here: the file manages them.

-- Queues made by commands; the texts not given take their defaults at start.
CREATE TABLE desk_queues (
	name TEXT PRIMARY KEY,
	title TEXT,
	strategy TEXT NOT NULL,
	mode TEXT NOT NULL CHECK (mode IN ('auto', 'offer')),
	capacity INTEGER NOT NULL DEFAULT 0,   -- 0: each agent's own
	tier_wait INTEGER NOT NULL,
	offer_timeout INTEGER NOT NULL,
	max_wait INTEGER NOT NULL,
	idle_close INTEGER NOT NULL,
	hours TEXT,                            -- as written: Mon-Fri 09:00-17:00; NULL: always
	closed TEXT,                           -- closed dates as written
	timezone TEXT NOT NULL,
	greeting TEXT,
	offline_text TEXT,
	updated_at TEXT NOT NULL
) WITHOUT ROWID;

-- Agents added by commands (those of respa.conf are not here).
CREATE TABLE desk_agents (
	jid TEXT PRIMARY KEY,
	capacity INTEGER NOT NULL,
	updated_at TEXT NOT NULL
) WITHOUT ROWID;

-- Who answers in a queue made by commands: any agent, from respa.conf or not.
CREATE TABLE desk_members (
	queue TEXT NOT NULL REFERENCES desk_queues(name) ON DELETE CASCADE,
	jid TEXT NOT NULL,
	tier INTEGER NOT NULL CHECK (tier BETWEEN 1 AND 9),
	PRIMARY KEY (queue, jid)
) WITHOUT ROWID;
CREATE INDEX desk_members_jid ON desk_members(jid);

-- Canned responses: a short name and its text, for one queue or ('') for all.
CREATE TABLE canned (
	queue TEXT NOT NULL DEFAULT '',
	name TEXT NOT NULL,
	body TEXT NOT NULL,
	updated_at TEXT NOT NULL,
	PRIMARY KEY (queue, name)
) WITHOUT ROWID;

-- Offers an agent let time out, for the statistics.
CREATE TABLE missed_offers (
	conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
	agent_jid TEXT NOT NULL,
	created_at TEXT NOT NULL
);
CREATE INDEX missed_offers_created ON missed_offers(created_at);
