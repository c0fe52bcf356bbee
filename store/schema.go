package store

import (
	"strconv"
	"strings"
)

// dialect is what differs between SQLite and PostgreSQL.
type dialect struct {
	name     string
	blob     string // type of byte columns
	serial   string // auto-increment primary key
	numbered bool   // $1 placeholders instead of ?
}

var (
	sqlite   = dialect{name: "sqlite", blob: "BLOB", serial: "INTEGER PRIMARY KEY AUTOINCREMENT"}
	postgres = dialect{name: "postgres", blob: "BYTEA", serial: "BIGSERIAL PRIMARY KEY", numbered: true}
)

// rebind turns ? placeholders into $N for PostgreSQL. Queries here never
// hold a literal question mark.
func (d dialect) rebind(q string) string {
	if !d.numbered {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// portalSchema is migration 1: the portal, its rate-limit counters and the
// suppression list, as the old portal_schema version 1 made them (every
// statement is IF NOT EXISTS, so a database made by that scheme is adopted
// as it is). Times are Unix milliseconds; 0 means "not set".
func portalSchema(d dialect) []string {
	return []string{
		`CREATE TABLE IF NOT EXISTS portal_messages (
			id TEXT PRIMARY KEY,
			token_hash ` + d.blob + ` NOT NULL UNIQUE,
			sender TEXT NOT NULL,
			recipient TEXT NOT NULL,
			wrapped_key ` + d.blob + `,
			size BIGINT NOT NULL,
			attachments INTEGER NOT NULL,
			created BIGINT NOT NULL,
			expires BIGINT NOT NULL,
			revoked BIGINT NOT NULL DEFAULT 0,
			deleted BIGINT NOT NULL DEFAULT 0,
			views INTEGER NOT NULL DEFAULT 0,
			code_hash ` + d.blob + `,
			code_expires BIGINT NOT NULL DEFAULT 0,
			code_attempts INTEGER NOT NULL DEFAULT 0,
			locked_until BIGINT NOT NULL DEFAULT 0)`,
		`CREATE INDEX IF NOT EXISTS portal_messages_expires ON portal_messages (deleted, expires)`,
		`CREATE TABLE IF NOT EXISTS portal_audit (
			seq ` + d.serial + `,
			message_id TEXT NOT NULL,
			at BIGINT NOT NULL,
			kind TEXT NOT NULL,
			actor TEXT NOT NULL,
			remote TEXT NOT NULL,
			detail TEXT NOT NULL)`,
		`CREATE INDEX IF NOT EXISTS portal_audit_message ON portal_audit (message_id, seq)`,
		`CREATE TABLE IF NOT EXISTS portal_blobs (id TEXT PRIMARY KEY, data ` + d.blob + ` NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS portal_recipients (
			address TEXT PRIMARY KEY,
			password_hash TEXT NOT NULL DEFAULT '',
			totp_secret ` + d.blob + `,
			totp_last_step BIGINT NOT NULL DEFAULT 0,
			created BIGINT NOT NULL)`,
		`CREATE TABLE IF NOT EXISTS portal_sessions (
			id_hash ` + d.blob + ` PRIMARY KEY,
			data ` + d.blob + ` NOT NULL,
			last_seen BIGINT NOT NULL)`,
		`CREATE INDEX IF NOT EXISTS portal_sessions_seen ON portal_sessions (last_seen)`,
		`CREATE TABLE IF NOT EXISTS portal_limits (
			limit_key TEXT PRIMARY KEY,
			reset_at BIGINT NOT NULL,
			count BIGINT NOT NULL)`,
		`CREATE INDEX IF NOT EXISTS portal_limits_reset ON portal_limits (reset_at)`,
		`CREATE TABLE IF NOT EXISTS suppressions (
			domain TEXT NOT NULL,
			address TEXT NOT NULL,
			reason TEXT NOT NULL,
			at BIGINT NOT NULL,
			PRIMARY KEY (domain, address))`,
	}
}

// consentSchema is migration 2: the register of patients' consents to
// unencrypted mail. Rows are never deleted: revoked ones stay as the
// record of what applied when. At most one consent per address is in
// force (revoked = 0).
func consentSchema(dialect) []string {
	return []string{
		`CREATE TABLE consents (
			id TEXT PRIMARY KEY,
			address TEXT NOT NULL,
			warning TEXT NOT NULL,
			channel TEXT NOT NULL,
			at BIGINT NOT NULL,
			recorded_by TEXT NOT NULL,
			revoked BIGINT NOT NULL DEFAULT 0,
			revoked_by TEXT NOT NULL DEFAULT '')`,
		`CREATE UNIQUE INDEX consents_in_force ON consents (address) WHERE revoked = 0`,
	}
}

// apiSchema is migration 3: the HTTP API's keys (SHA-256 only), each
// client's Idempotency-Keys and the per-recipient state of API messages
// (package api), which lived in <data_dir>/api/api.db before. Times are
// Unix seconds.
func apiSchema(d dialect) []string {
	return []string{
		`CREATE TABLE IF NOT EXISTS api_keys (
			id TEXT PRIMARY KEY, client TEXT NOT NULL, hash TEXT NOT NULL UNIQUE,
			created BIGINT NOT NULL, revoked INTEGER NOT NULL DEFAULT 0)`,
		`CREATE TABLE IF NOT EXISTS api_idempotency (
			client TEXT NOT NULL, key TEXT NOT NULL, body_hash TEXT NOT NULL,
			queue_id TEXT NOT NULL, done INTEGER NOT NULL DEFAULT 0, created BIGINT NOT NULL,
			PRIMARY KEY (client, key))`,
		`CREATE INDEX IF NOT EXISTS api_idempotency_created ON api_idempotency (created)`,
		`CREATE TABLE IF NOT EXISTS api_recipients (
			queue_id TEXT NOT NULL, client TEXT NOT NULL, rcpt TEXT NOT NULL, seq INTEGER NOT NULL,
			status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, code INTEGER NOT NULL DEFAULT 0,
			enhanced TEXT NOT NULL DEFAULT '', submitted BIGINT NOT NULL, updated BIGINT NOT NULL,
			PRIMARY KEY (queue_id, seq))`,
		`CREATE INDEX IF NOT EXISTS api_recipients_updated ON api_recipients (updated)`,
	}
}

// bounceSchema is migration 4: what the VERP bounce addresses of
// marketing mail refer to (package verp), and the per-sending-domain
// delivery counts in hourly buckets (package stats).
func bounceSchema(d dialect) []string {
	return []string{
		`CREATE TABLE bounce_recipients (
			ref TEXT PRIMARY KEY,
			queue_id TEXT NOT NULL,
			domain TEXT NOT NULL,
			address TEXT NOT NULL,
			client TEXT NOT NULL,
			at BIGINT NOT NULL)`,
		`CREATE INDEX bounce_recipients_at ON bounce_recipients (at)`,
		`CREATE TABLE delivery_stats (
			domain TEXT NOT NULL,
			hour BIGINT NOT NULL,
			counter TEXT NOT NULL,
			n BIGINT NOT NULL,
			PRIMARY KEY (domain, hour, counter))`,
	}
}

// mtastsSchema is migration 5: MTA-STS policies (RFC 8461) that any node
// fetched, so a node on an empty volume starts with what the others know.
// policy is the JSON of package mtasts; expires is Unix milliseconds.
func mtastsSchema(dialect) []string {
	return []string{
		`CREATE TABLE IF NOT EXISTS mta_sts_policies (
			domain TEXT PRIMARY KEY, policy TEXT NOT NULL, expires BIGINT NOT NULL)`,
	}
}

// tlsrptSchema is migration 6: SMTP TLS results (RFC 8460) that the nodes
// add up, and which node sends a day's report for a policy domain. policy
// and detail are package tlsrpt's JSON of the policy and of a failure
// ("" counts successful sessions); day is YYYY-MM-DD (UTC); claimed and
// sent are Unix milliseconds (sent 0: not yet).
func tlsrptSchema(dialect) []string {
	return []string{
		`CREATE TABLE IF NOT EXISTS tlsrpt_results (
			day TEXT NOT NULL, domain TEXT NOT NULL, policy TEXT NOT NULL, detail TEXT NOT NULL,
			sessions BIGINT NOT NULL, PRIMARY KEY (day, domain, policy, detail))`,
		`CREATE TABLE IF NOT EXISTS tlsrpt_claims (
			day TEXT NOT NULL, domain TEXT NOT NULL, node TEXT NOT NULL, claimed BIGINT NOT NULL,
			sent BIGINT NOT NULL DEFAULT 0, PRIMARY KEY (day, domain))`,
	}
}

// evidenceIndexSchema is migration 7: the evidence index, one row per
// recipient of a message naming the node whose audit log holds its
// records (package store, evindex.go). It is a finding aid, not evidence:
// no PHI, only queue IDs, addresses, client and method names, results and
// audit sequence numbers. Times are Unix milliseconds; 0 means "not yet".
func evidenceIndexSchema(dialect) []string {
	return []string{
		`CREATE TABLE IF NOT EXISTS evidence_index (
			queue_id TEXT NOT NULL,
			rcpt TEXT NOT NULL,
			node TEXT NOT NULL DEFAULT '',
			audit_file TEXT NOT NULL DEFAULT '',
			accepted BIGINT NOT NULL DEFAULT 0,
			accepted_seq BIGINT NOT NULL DEFAULT 0,
			client TEXT NOT NULL DEFAULT '',
			method TEXT NOT NULL DEFAULT '',
			result TEXT NOT NULL DEFAULT '',
			result_at BIGINT NOT NULL DEFAULT 0,
			result_node TEXT NOT NULL DEFAULT '',
			result_file TEXT NOT NULL DEFAULT '',
			result_seq BIGINT NOT NULL DEFAULT 0,
			PRIMARY KEY (queue_id, rcpt))`,
		`CREATE INDEX IF NOT EXISTS evidence_index_rcpt ON evidence_index (rcpt, accepted)`,
	}
}

// evidenceIndexAgeSchema lets old evidence index rows be found by age
// without reading the whole table (PruneIndex).
func evidenceIndexAgeSchema(dialect) []string {
	return []string{`CREATE INDEX IF NOT EXISTS evidence_index_accepted ON evidence_index (accepted)`}
}
