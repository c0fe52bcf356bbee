package smtpd

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
)

// cmdConn is the connection go-smtp reads and writes: plaintext SMTP above
// sealgate's own TLS. sealgate, not go-smtp, runs STARTTLS and implicit
// TLS, so that it sees every command line, also inside TLS, before go-smtp
// parses it. That is where it reads what go-smtp cannot: the ORCPT
// parameter of RCPT, which go-smtp refuses in the form real MTAs send
// (rfc822 xtext spelling UTF-8, RFC 3461 and RFC 6533). The parameter is
// taken out of the line and handed to the session (takeORCPT).
//
// Only command lines are looked at. The body after DATA (once go-smtp
// answered 354) and the chunk after BDAT pass through untouched. Read hands
// go-smtp at most one line at a time, so the state for the next line is
// always known: go-smtp has answered the previous one before it asks for
// more.
type cmdConn struct {
	guard     *guardConn
	base      net.Conn    // the guarded socket (releasingConn)
	tlsConfig *tls.Config // for STARTTLS; nil when the listener has none

	// Read and Write run on go-smtp's connection goroutine only, one at a
	// time; these fields are theirs.
	r        *bufio.Reader
	pending  []byte // the rest of a line go-smtp's buffer could not take
	opaque   int64  // BDAT chunk bytes still to pass
	inData   bool   // inside a DATA body
	midLine  bool   // the last piece read did not end a line
	wantData bool   // DATA sent, waiting for go-smtp's 354
	inEHLO   bool   // EHLO sent, its reply not yet complete
	ehlo     []byte // the EHLO reply collected so far
	swallow  bool   // drop the reply to the RSET standing in for STARTTLS

	mu    sync.Mutex // guards the fields below, read from other goroutines
	conn  net.Conn   // base, or TLS over it
	tc    *tls.Conn
	orcpt *origRcpt
	// route: the MAIL or RCPT line being handled had a source route
	// (<@gw:user@example.org>), which go-smtp strips without a word.
	route bool
}

// origRcpt is a decoded ORCPT parameter of the RCPT command being handled.
type origRcpt struct {
	addr     string
	nonASCII bool
}

// cmdBufSize holds any command line go-smtp accepts (MaxLineLength is at
// most 64 KiB by configuration) and the longest body line in one piece.
const cmdBufSize = 64<<10 + 16

func newCmdConn(g *guardConn, base net.Conn, implicit, starttls *tls.Config) *cmdConn {
	c := &cmdConn{guard: g, base: base, tlsConfig: starttls, conn: base}
	if implicit != nil {
		c.tc = tls.Server(base, implicit)
		c.conn = c.tc
	}
	c.r = bufio.NewReaderSize(c.conn, cmdBufSize)
	return c
}

// TLS returns the TLS state once a handshake has completed.
func (c *cmdConn) TLS() (tls.ConnectionState, bool) {
	c.mu.Lock()
	tc := c.tc
	c.mu.Unlock()
	if tc == nil {
		return tls.ConnectionState{}, false
	}
	st := tc.ConnectionState()
	return st, st.HandshakeComplete
}

// takeORCPT returns the ORCPT of the RCPT command go-smtp is handling, if
// it had one, and forgets it.
func (c *cmdConn) takeORCPT() *origRcpt {
	c.mu.Lock()
	defer c.mu.Unlock()
	o := c.orcpt
	c.orcpt = nil
	return o
}

// Read gives go-smtp the next command line (rewritten), body line or chunk.
func (c *cmdConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		c.pending = c.pending[n:]
		return n, nil
	}
	if c.opaque > 0 {
		n, err := c.r.Read(p[:min(int64(len(p)), c.opaque)])
		c.opaque -= int64(n)
		return n, err
	}
	line, err := c.r.ReadSlice('\n')
	startOfLine := !c.midLine
	c.midLine = errors.Is(err, bufio.ErrBufferFull)
	switch {
	case c.midLine:
		err = nil
	case err != nil:
		// A line not ended by CRLF is never acted on.
		return 0, err
	}
	switch {
	case c.inData:
		if startOfLine && !c.midLine && string(line) == ".\r\n" {
			c.inData = false
		}
	case startOfLine && !c.midLine:
		var abort error
		line, abort = c.command(line)
		if abort != nil {
			return 0, abort
		}
	}
	n := copy(p, line)
	c.pending = append(c.pending[:0], line[n:]...)
	return n, err
}

// command looks at one whole command line: STARTTLS is run here, RCPT loses
// its ORCPT parameter, and DATA, BDAT and EHLO set the state for what
// follows.
func (c *cmdConn) command(line []byte) ([]byte, error) {
	text := strings.TrimRight(string(line), "\r\n")
	verb, arg, _ := strings.Cut(text, " ")
	c.wantData, c.inEHLO, c.ehlo = false, false, nil
	switch strings.ToUpper(verb) {
	case "STARTTLS":
		if arg == "" && c.tlsConfig != nil && !c.isTLS() {
			return []byte("RSET\r\n"), c.startTLS()
		}
	case "MAIL":
		c.setRoute(hasSourceRoute(arg))
	case "RCPT":
		c.setRoute(hasSourceRoute(arg))
		out, o := stripORCPT(text)
		c.mu.Lock()
		c.orcpt = o
		c.mu.Unlock()
		if o != nil {
			return []byte(out + "\r\n"), nil
		}
	case "DATA":
		c.wantData = true
	case "BDAT":
		c.opaque = bdatSize(arg)
	case "EHLO":
		c.inEHLO = true
	}
	return line, nil
}

func (c *cmdConn) setRoute(route bool) {
	c.mu.Lock()
	c.route = route
	c.mu.Unlock()
}

// takeSourceRoute reports whether the MAIL or RCPT command go-smtp is
// handling had a source route, and forgets it.
func (c *cmdConn) takeSourceRoute() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.route
	c.route = false
	return r
}

// hasSourceRoute reports whether the path of a MAIL or RCPT argument
// ("FROM:<…>" or "TO:<…>") starts with a source route, "<@" (RFC 5321
// §4.1.2 A-d-l). Spaces before the path are allowed, as go-smtp allows
// them.
func hasSourceRoute(arg string) bool {
	_, path, ok := strings.Cut(arg, ":")
	if !ok {
		return false
	}
	return strings.HasPrefix(strings.TrimLeft(path, " "), "<@")
}

func (c *cmdConn) isTLS() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tc != nil
}

func (c *cmdConn) current() net.Conn {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.conn
}

// startTLS answers STARTTLS and runs the handshake (RFC 3207). Bytes the
// client sent behind the command are refused rather than read as commands
// inside TLS; a failed handshake closes the connection with no plaintext
// reply. The line go-smtp then reads is a RSET, whose reply is dropped:
// go-smtp learns of STARTTLS only as the reset RFC 3207 §4.2 asks for.
func (c *cmdConn) startTLS() error {
	if c.r.Buffered() > 0 {
		c.guard.Abort("starttls_pipelining", "554 5.5.1 No commands may follow STARTTLS before the handshake\r\n")
		return errConnAborted
	}
	if _, err := c.base.Write([]byte(startTLSReady)); err != nil {
		return err
	}
	tc := tls.Server(c.base, c.tlsConfig)
	c.base.SetDeadline(time.Now().Add(30 * time.Second))
	err := tc.Handshake()
	c.base.SetDeadline(time.Time{})
	if err != nil {
		c.guard.Abort("tls_handshake", "")
		return errConnAborted
	}
	c.mu.Lock()
	c.tc, c.conn = tc, tc
	c.mu.Unlock()
	c.r = bufio.NewReaderSize(tc, cmdBufSize)
	c.swallow = true
	return nil
}

// Write passes go-smtp's replies on: it notes the 354 that starts a DATA
// body, drops the reply to the NOOP standing in for STARTTLS, and adds
// STARTTLS and REQUIRETLS to the EHLO reply as the connection allows.
func (c *cmdConn) Write(p []byte) (int, error) {
	if c.swallow {
		c.swallow = false
		if bytes.HasPrefix(p, []byte("250 ")) {
			return len(p), nil
		}
	}
	if c.wantData {
		c.wantData = false
		c.inData = bytes.HasPrefix(p, []byte("354"))
	}
	if c.inEHLO {
		c.ehlo = append(c.ehlo, p...)
		if !finalReply(c.ehlo) {
			return len(p), nil
		}
		out := c.ehloReply(c.ehlo)
		c.inEHLO, c.ehlo = false, nil
		if _, err := c.current().Write(out); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	return c.current().Write(p)
}

// finalReply reports whether b ends with the last line of a reply.
func finalReply(b []byte) bool {
	if len(b) < 2 || !bytes.HasSuffix(b, []byte("\r\n")) {
		return false
	}
	last := b[:len(b)-2]
	if i := bytes.LastIndex(last, []byte("\r\n")); i >= 0 {
		last = last[i+2:]
	}
	return len(last) < 4 || last[3] != '-'
}

// ehloReply adds the extensions go-smtp cannot see: STARTTLS before TLS
// when the listener offers it, REQUIRETLS (RFC 8689) once under TLS.
func (c *cmdConn) ehloReply(b []byte) []byte {
	if !bytes.HasPrefix(b, []byte("250-")) {
		return b
	}
	var extra string
	switch {
	case c.isTLS():
		extra = "250-REQUIRETLS\r\n"
	case c.tlsConfig != nil:
		extra = "250-STARTTLS\r\n"
	}
	i := bytes.Index(b, []byte("\r\n")) + 2
	out := make([]byte, 0, len(b)+len(extra))
	out = append(append(append(out, b[:i]...), extra...), b[i:]...)
	return out
}

// bdatSize is the chunk size go-smtp will read after a BDAT command, or 0
// when it will refuse the command without reading one.
func bdatSize(arg string) int64 {
	f := strings.Fields(arg)
	if len(f) == 0 || len(f) > 2 || (len(f) == 2 && !strings.EqualFold(f[1], "LAST")) {
		return 0
	}
	n, err := strconv.ParseUint(f[0], 10, 32)
	if err != nil {
		return 0
	}
	return int64(n)
}

// stripORCPT takes a well-formed ORCPT parameter out of a RCPT line. A line
// without one, or with one sealgate cannot read, is left as it is: go-smtp
// then answers it as before. The path is skipped with its quotes, so an
// "ORCPT=" inside a quoted local part is not a parameter.
func stripORCPT(line string) (string, *origRcpt) {
	end := pathEnd(line)
	if end < 0 {
		return line, nil
	}
	params := strings.Split(line[end:], " ")
	var o *origRcpt
	kept := params[:0]
	for _, p := range params {
		k, v, _ := strings.Cut(p, "=")
		if strings.EqualFold(k, "ORCPT") && o == nil {
			a, nonASCII, err := decodeORCPT(v)
			if err != nil {
				return line, nil
			}
			o = &origRcpt{addr: a, nonASCII: nonASCII}
			continue
		}
		kept = append(kept, p)
	}
	if o == nil {
		return line, nil
	}
	return line[:end] + strings.Join(kept, " "), o
}

// pathEnd is the index just past the ">" that closes the forward-path of a
// RCPT line, or -1.
func pathEnd(line string) int {
	start := strings.IndexByte(line, '<')
	if start < 0 {
		return -1
	}
	quoted := false
	for i := start + 1; i < len(line); i++ {
		switch c := line[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case !quoted && c == '>':
			return i + 1
		}
	}
	return -1
}

// LocalAddr implements net.Conn.
func (c *cmdConn) LocalAddr() net.Addr { return c.base.LocalAddr() }

// RemoteAddr implements net.Conn.
func (c *cmdConn) RemoteAddr() net.Addr { return c.base.RemoteAddr() }

// SetDeadline implements net.Conn.
func (c *cmdConn) SetDeadline(t time.Time) error { return c.base.SetDeadline(t) }

// SetReadDeadline implements net.Conn.
func (c *cmdConn) SetReadDeadline(t time.Time) error { return c.base.SetReadDeadline(t) }

// SetWriteDeadline implements net.Conn.
func (c *cmdConn) SetWriteDeadline(t time.Time) error { return c.base.SetWriteDeadline(t) }

// Close closes TLS (if any) and the socket.
func (c *cmdConn) Close() error { return c.current().Close() }
