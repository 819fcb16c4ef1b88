-- The same CHECKs as comparisons: SQLite evaluates "x IN (3 or more constants)" by building
-- a temporary b-tree for every row written, a fifth of the CPU of storing a message.
-- Rewriting a CHECK in place is safe (the file format does not change; see SQLite's "ALTER
-- TABLE", other kinds of schema changes). RESET makes this connection parse the schema again;
-- the table made and dropped at the end bumps the schema cookie, so that others do too.
PRAGMA writable_schema = ON;
UPDATE sqlite_schema SET sql = replace(sql, 'CHECK (direction IN (''in'', ''out'', ''note''))',
	'CHECK (direction = ''in'' OR direction = ''out'' OR direction = ''note'')')
	WHERE type = 'table' AND name = 'messages';
UPDATE sqlite_schema SET sql = replace(sql,
	'CHECK (state IN (''queued'', ''offered'', ''active'', ''closed'', ''offline''))',
	'CHECK (state = ''queued'' OR state = ''offered'' OR state = ''active'' OR ' ||
	'state = ''closed'' OR state = ''offline'')')
	WHERE type = 'table' AND name = 'conversations';
PRAGMA writable_schema = RESET;
CREATE TABLE schema_reload (x);
DROP TABLE schema_reload;
