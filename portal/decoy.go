package portal

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/sealgate/sealgate/portal/keywrap"
)

// decoys are the sessions of links that lead nowhere: unknown, revoked or
// expired. Nothing is stored when one is made, so a flood of made-up
// links fills no table. The cookie is a random part and a keyed MAC of it
// and of the time period, as long as a real session's ID; the CSRF token
// is derived from the cookie. The pages look the same as for a real link
// up to the code check. What a decoy must remember (a code just asked
// for, failed codes) is counted in the store's rate-limit windows, only
// when the visitor posts a form, which is itself rate limited. The key is
// derived from the master key, so every portal node knows every decoy.
type decoys struct {
	key  []byte
	idle time.Duration
	now  func() time.Time
}

// decoyNonce is the random part of a decoy ID; the MAC fills it up to the
// 32 bytes of a real session ID.
const decoyNonce = 16

func newDecoys(m *keywrap.Master, idle time.Duration, now func() time.Time) decoys {
	return decoys{key: m.CodeHash("portal decoy sessions", ""), idle: idle, now: now}
}

func (d decoys) mac(nonce []byte, period int64) []byte {
	h := hmac.New(sha256.New, d.key)
	h.Write([]byte("id\x00"))
	h.Write(nonce)
	h.Write(binary.BigEndian.AppendUint64(nil, uint64(period)))
	return h.Sum(nil)[:32-decoyNonce]
}

func (d decoys) period() int64 { return d.now().UnixMilli() / max(d.idle.Milliseconds(), 1) }

func (d decoys) csrf(id string) string {
	h := hmac.New(sha256.New, d.key)
	h.Write([]byte("csrf\x00" + id))
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

// create makes a decoy session; nothing is stored.
func (d decoys) create() session {
	nonce := randomBytes(decoyNonce)
	id := base64.RawURLEncoding.EncodeToString(append(nonce, d.mac(nonce, d.period())...))
	return session{id: id, csrf: d.csrf(id), decoy: true, lastSeen: d.now()}
}

// get returns the request's decoy session. A decoy lives for one to two
// idle periods from its creation; for two periods more it is reported as
// expired, like a real session left idle.
func (d decoys) get(r *http.Request) (s session, expired bool, ok bool) {
	c, err := r.Cookie(cookieName)
	if err != nil {
		return session{}, false, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil || len(raw) != 32 {
		return session{}, false, false
	}
	p := d.period()
	for age := int64(0); age < 4; age++ {
		if hmac.Equal(raw[decoyNonce:], d.mac(raw[:decoyNonce], p-age)) {
			if age >= 2 {
				return session{}, true, false
			}
			return session{id: c.Value, csrf: d.csrf(c.Value), decoy: true, lastSeen: d.now()}, false, true
		}
	}
	return session{}, false, false
}

// decoyKey is the rate-limit key of what a decoy remembers: a hash of
// its ID, so the store holds no cookie value.
func decoyKey(what, id string) string {
	h := sha256.Sum256([]byte(id))
	return "decoy-" + what + ":" + hex.EncodeToString(h[:16])
}
