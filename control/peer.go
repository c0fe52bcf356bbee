package control

import (
	"context"
	"net"
	"net/http"
	"strconv"
)

// Peer is the operator on the other end of the control socket, as the
// kernel reports it (SO_PEERCRED); UID is -1 when it could not be read.
type Peer struct {
	UID  int    `json:"uid"`
	PID  int    `json:"pid"`
	User string `json:"user,omitempty"`
}

// String is "uid=1000(alice) pid=42", or "unknown".
func (p Peer) String() string {
	if p.UID < 0 {
		return "unknown"
	}
	s := "uid=" + strconv.Itoa(p.UID)
	if p.User != "" {
		s += "(" + p.User + ")"
	}
	return s + " pid=" + strconv.Itoa(p.PID)
}

type peerKey struct{}

// withPeer reads the peer credentials of a new connection into its
// context.
func withPeer(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, peerKey{}, peerCredentials(c))
}

func peerOf(r *http.Request) Peer {
	if p, ok := r.Context().Value(peerKey{}).(Peer); ok {
		return p
	}
	return Peer{UID: -1}
}
