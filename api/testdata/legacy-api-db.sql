-- The schema of <data_dir>/api/api.db as sealgate made it before the API's
-- state moved into the shared store (written for sealgate's tests; no
-- external source). One statement per line group, separated by ';'.
CREATE TABLE api_keys (id TEXT PRIMARY KEY, client TEXT NOT NULL, hash TEXT NOT NULL UNIQUE,
	created INTEGER NOT NULL, revoked INTEGER NOT NULL DEFAULT 0);
CREATE TABLE api_idempotency (client TEXT NOT NULL, key TEXT NOT NULL, body_hash TEXT NOT NULL,
	queue_id TEXT NOT NULL, done INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL, PRIMARY KEY (client, key));
CREATE TABLE api_recipients (queue_id TEXT NOT NULL, client TEXT NOT NULL, rcpt TEXT NOT NULL, seq INTEGER NOT NULL,
	status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, code INTEGER NOT NULL DEFAULT 0,
	enhanced TEXT NOT NULL DEFAULT '', submitted INTEGER NOT NULL, updated INTEGER NOT NULL, PRIMARY KEY (queue_id, seq));
