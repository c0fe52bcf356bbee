package smtpd

import (
	"errors"
	"net"
	"os"
	"sync"
	"time"
)

// errConnAborted is returned by a guarded connection after sealgate has
// ended the session itself.
var errConnAborted = errors.New("smtpd: connection aborted")

// startTLSReady is the exact reply go-smtp sends before the TLS handshake.
const startTLSReady = "220 2.0.0 Ready to start TLS\r\n"

// guardConn sits between the socket and go-smtp and closes the doors that
// go-smtp leaves open (see notes in the package doc):
//
//   - any read error (timeout, reset, EOF) ends the session: a timeout is
//     answered 421 and the connection is closed, so nothing that follows is
//     ever parsed as a command and a partial line is never acted on (the
//     session checks Broken before acting);
//   - a bare CR or LF in the plaintext command stream ends the session
//     with 5xx, as Postfix's smtpd_forbid_bare_newline does;
//   - after "220 Ready to start TLS" no plaintext byte may leave: a failed
//     handshake closes the connection instead of answering in the clear.
type guardConn struct {
	net.Conn

	mu      sync.Mutex // guards the fields below and serialises writes
	raw     bool       // TLS started: stream is no longer SMTP text
	prevCR  bool       // last byte read was CR
	broken  bool       // a read error or abort happened
	reason  string     // why the session ended, for metrics
	onAbort func(reason string)
	// closeAfter, when set, closes the connection right after the next
	// write: the final reply goes out (through TLS if active), then the
	// session ends.
	closeAfter string
}

func newGuardConn(c net.Conn, raw bool, onAbort func(string)) *guardConn {
	return &guardConn{Conn: c, raw: raw, onAbort: onAbort}
}

// Read scans plaintext for bare line endings and turns every read error
// into the end of the session.
func (g *guardConn) Read(p []byte) (int, error) {
	n, err := g.Conn.Read(p)
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.broken {
		return 0, errConnAborted
	}
	if !g.raw && n > 0 {
		if bad := g.scan(p[:n]); bad {
			g.abortLocked("bare_newline", "554 5.5.2 Bare CR or LF is not allowed; use CRLF\r\n")
			return 0, errConnAborted
		}
	}
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, os.ErrDeadlineExceeded) {
			g.abortLocked("timeout", "421 4.4.2 Timeout, closing connection\r\n")
		} else {
			g.abortLocked("read_error", "")
		}
		if n > 0 {
			// Bytes that arrived before the error are dropped: a line
			// that was not ended by CRLF is never acted on.
			return 0, errConnAborted
		}
	}
	return n, err
}

// scan reports a bare CR or LF. CR must be followed by LF; LF must follow CR.
func (g *guardConn) scan(b []byte) bool {
	for _, c := range b {
		switch {
		case g.prevCR && c != '\n':
			return true
		case !g.prevCR && c == '\n':
			return true
		}
		g.prevCR = c == '\r'
	}
	return false
}

// Write passes replies through, switches to raw mode at STARTTLS and
// refuses plaintext after it.
func (g *guardConn) Write(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.broken {
		return 0, errConnAborted
	}
	if g.raw && len(p) > 0 && (p[0] < 20 || p[0] > 24) {
		// Not a TLS record: go-smtp is answering a failed handshake in
		// the clear. End the session instead.
		g.abortLocked("tls_handshake", "")
		return 0, errConnAborted
	}
	n, err := g.Conn.Write(p)
	if !g.raw && string(p) == startTLSReady {
		g.raw = true
	}
	if g.closeAfter != "" {
		g.abortLocked(g.closeAfter, "")
	}
	return n, err
}

// CloseAfterReply ends the session once the next reply has been written.
func (g *guardConn) CloseAfterReply(reason string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closeAfter == "" {
		g.closeAfter = reason
	}
}

// Abort writes a final reply (if any) and closes the connection.
func (g *guardConn) Abort(reason, reply string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.abortLocked(reason, reply)
}

func (g *guardConn) abortLocked(reason, reply string) {
	if g.broken {
		return
	}
	g.broken, g.reason = true, reason
	if reply != "" && !g.raw {
		g.Conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
		g.Conn.Write([]byte(reply))
	}
	if g.onAbort != nil {
		g.onAbort(reason)
	}
	g.Conn.Close()
}

// Broken reports whether the session has ended; a command that go-smtp
// parsed from the remains of the stream must then not be acted on.
func (g *guardConn) Broken() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.broken
}
