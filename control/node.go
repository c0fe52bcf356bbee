package control

import (
	"encoding/json"
	"net/http"
	"net/url"
	"time"
)

// Node states, as `sealgate node status` prints them.
const (
	NodeServing  = "serving"  // takes mail
	NodeDraining = "draining" // refuses new mail, delivers, then hands the rest to a peer
	NodeDrained  = "drained"  // refuses new mail; its spool is empty
)

// NodeStatus is where a node stands in being taken out of service.
type NodeStatus struct {
	State string    `json:"state"`
	Since time.Time `json:"since,omitzero"`
	// Deadline is when delivering ends and the hand-off begins.
	Deadline time.Time `json:"deadline,omitzero"`
	// Peer is the hand-off listener the spool goes to ("" : the
	// configured peers, in order).
	Peer string `json:"peer,omitempty"`
	// Phase says what a draining node does now: delivering, handing
	// off, waiting for a peer, delivering without a peer.
	Phase string      `json:"phase,omitempty"`
	Spool SpoolCounts `json:"spool"`
	// HandedOff counts messages acknowledged by a peer in this drain.
	HandedOff int `json:"handed_off"`
	// LastError is the last hand-off failure (peer unreachable,
	// refused), cleared by success.
	LastError string `json:"last_error,omitempty"`
}

// SpoolCounts is how many messages the spool holds: all, held by policy,
// and in a delivery attempt now.
type SpoolCounts struct {
	Messages int `json:"messages"`
	Held     int `json:"held"`
	Running  int `json:"running"`
}

// Node takes the node out of service and back.
type Node interface {
	// Drain starts draining (or changes a running drain's deadline and
	// peer); the state is on disk before it returns.
	Drain(deadline time.Duration, peer string) (NodeStatus, error)
	// Resume makes a draining or drained node serve again.
	Resume() (NodeStatus, error)
	Status() NodeStatus
}

func (s *Server) nodeRoutes(mux *http.ServeMux) {
	n := s.opts.Node
	if n == nil {
		return
	}
	mux.HandleFunc("GET /node", func(w http.ResponseWriter, r *http.Request) { reply(w, n.Status(), nil) })
	mux.HandleFunc("POST /node/drain", func(w http.ResponseWriter, r *http.Request) {
		var deadline time.Duration
		if d := r.URL.Query().Get("deadline"); d != "" {
			var err error
			if deadline, err = time.ParseDuration(d); err != nil || deadline < 0 {
				badRequest(w, "deadline: want a duration such as 10m")
				return
			}
		}
		peer := r.URL.Query().Get("peer")
		if !s.requested(w, r, "node-drain", "") {
			return
		}
		st, err := n.Drain(deadline, peer)
		s.opts.Audit.Operator("node-drain", "", peerOf(r), resultOf(err))
		nodeReply(w, st, err)
	})
	mux.HandleFunc("POST /node/resume", func(w http.ResponseWriter, r *http.Request) {
		if !s.requested(w, r, "node-resume", "") {
			return
		}
		st, err := n.Resume()
		s.opts.Audit.Operator("node-resume", "", peerOf(r), resultOf(err))
		nodeReply(w, st, err)
	})
}

// nodeReply answers with the node's status, or 422 with the reason a
// drain or resume was refused (the operator's own configuration or
// state, never message content).
func nodeReply(w http.ResponseWriter, st NodeStatus, err error) {
	if err != nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnprocessableEntity)
		json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
		return
	}
	reply(w, st, nil)
}

func badRequest(w http.ResponseWriter, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// NodeStatus asks the gateway where it stands.
func (c *Client) NodeStatus() (NodeStatus, error) {
	var st NodeStatus
	return st, c.do("GET", "/node", &st)
}

// Drain takes the gateway out of service: deadline 0 is the configured
// one, peer "" the configured peers.
func (c *Client) Drain(deadline time.Duration, peer string) (NodeStatus, error) {
	q := url.Values{}
	if deadline > 0 {
		q.Set("deadline", deadline.String())
	}
	if peer != "" {
		q.Set("peer", peer)
	}
	var st NodeStatus
	err := c.do("POST", "/node/drain?"+q.Encode(), &st)
	return st, err
}

// Resume makes a draining or drained gateway take mail again.
func (c *Client) Resume() (NodeStatus, error) {
	var st NodeStatus
	err := c.do("POST", "/node/resume", &st)
	return st, err
}
