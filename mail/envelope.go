package mail

import "time"

// Envelope is everything sealgate knows about a message besides its body:
// who sent it to whom, with which ESMTP parameters, what the policy decided
// and where it came from. The queue writes it once, with the body, when the
// message is accepted (the JSON is the spool's envelope record, versioned
// by Version), and the audit log records it.
type Envelope struct {
	Version    int       `json:"v"`
	ID         string    `json:"id"`
	From       string    `json:"from"` // "" is the null reverse-path
	Rcpts      []Rcpt    `json:"rcpts"`
	Received   time.Time `json:"received"`
	Client     string    `json:"client"`      // configured client name
	ClientAddr string    `json:"client_addr"` // remote IP
	AuthUser   string    `json:"auth_user,omitempty"`
	SMTPUTF8   bool      `json:"smtputf8,omitempty"`
	EightBit   bool      `json:"8bit,omitempty"`
	RequireTLS bool      `json:"requiretls,omitempty"`
	Ret        string    `json:"ret,omitempty"`
	EnvID      string    `json:"envid,omitempty"`
	// TLS is the minimum transport security every recipient needs.
	TLS TLSLevel `json:"tls,omitempty"`
	// Policy is the verdict summary that decided how the message leaves.
	Policy PolicySummary `json:"policy"`
	// DSN marks a message that is itself a delivery status notification.
	DSN bool `json:"dsn,omitempty"`
	// DSNOf is the queue ID of the message a DSN reports on. Recovery
	// uses it: a queued DSN means the bounce was sent, even when the
	// crash came before that was recorded in the message's own state.
	DSNOf string `json:"dsn_of,omitempty"`
	// Hold keeps the message out of delivery until an operator releases it
	// (policy action "quarantine").
	Hold bool `json:"hold,omitempty"`
	// Origin names what in sealgate wrote the message (queue.Submit): ""
	// for mail a client submitted over SMTP.
	Origin string `json:"origin,omitempty"`
}
