// Package mimelimit holds the limits that every reader of a message in sealgate must
// agree on. The policy walks a message before it is queued and the pickup portal parses
// it again when it is handed over; if the portal read fewer parts than the policy
// accepts, a message the policy passed would fail at the hand-off.
package mimelimit

// MaxParts is the most MIME parts one message may have: the policy's default
// (policy.scan.max_parts) and the pickup portal's limit.
const MaxParts = 1000
