package protocol

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// Authenticated framing, our extension (docs/protocol.md, "Authentication"):
// with a shared secret every TCP document, every answer on a request's
// connection and every heartbeat datagram is sent as one header line and the
// document's bytes unchanged:
//
//	MRAUTH1 <unix milliseconds> <nonce: 32 hex digits> <mac: 64 hex digits>\n<document>
//
// mac is HMAC-SHA256 under a key derived from the secret over the purpose
// (what the frame is: a message, a datagram, or the reply to the request
// with a given nonce), the timestamp, the nonce and the document. A receiver
// acts only on a frame whose MAC is right, whose timestamp is within
// AuthWindow of its clock (and not before it started), and whose nonce it
// has not seen within that window. Without a secret nothing of this is on
// the wire: the reference protocol, byte for byte.

// authMagic starts every frame; it names the version of the framing.
const authMagic = "MRAUTH1"

// AuthOverhead bounds the header line a frame adds to its document.
const AuthOverhead = len(authMagic) + 1 + 19 + 1 + 32 + 1 + 64 + 1

// AuthWindow is how far a frame's timestamp may be from the receiver's clock:
// the hosts' clocks must agree within it (NTP does much better), and a
// receiver remembers nonces for as long.
const AuthWindow = 30 * time.Second

// maxNonces bounds the replay cache. Only frames with a valid MAC enter it,
// so only holders of the secret can fill it: 262144 frames within one
// window is over 4000 a second.
const maxNonces = 1 << 18

// Purposes of a frame, bound into its MAC: a frame made for one use is
// refused for another (a reply cannot pass for a request, nor answer another
// request).
const (
	purposeMessage  = "message"
	purposeDatagram = "datagram"
)

// purposeReply binds an answer to the request whose nonce it carries.
func purposeReply(requestNonce string) string { return replyPrefix + requestNonce }

const replyPrefix = "reply "

// chunkMAC is the MAC of chunk seq of the stream answering the request
// with requestNonce (stream.go): the frame MAC's fields, with a purpose of
// its own, so that a chunk passes neither for a frame nor for a chunk of
// another stream or at another place in its own.
func (a *Auth) chunkMAC(requestNonce string, seq int64, kind byte, data []byte) []byte {
	return a.mac("stream "+requestNonce, seq, string(kind), data)
}

// ErrUnauthenticated is wrapped by every refusal of Auth.Open.
var ErrUnauthenticated = errors.New("not authenticated")

// Auth seals and opens frames with one secret and keeps the replay cache of
// one process. It is safe for concurrent use.
type Auth struct {
	key    []byte
	now    func() time.Time
	window time.Duration
	// notBefore is when this Auth was made: a frame stamped earlier was
	// meant for an earlier process, whose replay cache is gone.
	notBefore time.Time

	mu        sync.Mutex
	seen      map[[16]byte]int64 // nonce → until when it is remembered (unix ms)
	nextSweep int64
	// drops bounds the log lines about refused frames.
	drops dropLog
}

// NewAuth returns an Auth for secret, which should hold at least 128 bits
// of randomness (internal/secret checks that).
func NewAuth(secret []byte) *Auth {
	return newAuth(secret, time.Now)
}

func newAuth(secret []byte, now func() time.Time) *Auth {
	// A key of its own, derived from the secret, so that nothing else made
	// from the secret (the status page's token) can make a frame.
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("mapreduce message key v1"))
	return &Auth{key: mac.Sum(nil), now: now, window: AuthWindow, notBefore: now(),
		seen: make(map[[16]byte]int64)}
}

// Seal returns the header line that authenticates body for purpose, and the
// frame's nonce (which the answer to a request is bound to).
func (a *Auth) Seal(purpose string, body []byte) (header []byte, nonce string) {
	var n [16]byte
	rand.Read(n[:]) // never fails (crypto/rand's documented contract)
	nonce = hex.EncodeToString(n[:])
	ts := a.now().UnixMilli()
	header = fmt.Appendf(make([]byte, 0, AuthOverhead), "%s %d %s %x\n", authMagic, ts, nonce, a.mac(purpose, ts, nonce, body))
	return header, nonce
}

func (a *Auth) mac(purpose string, ts int64, nonce string, body []byte) []byte {
	m := hmac.New(sha256.New, a.key)
	fmt.Fprintf(m, "%s\n%s\n%d\n%s\n", authMagic, purpose, ts, nonce)
	m.Write(body)
	return m.Sum(nil)
}

// Open checks frame, made for purpose, and returns its document (a slice of
// frame) and its nonce. Every refusal wraps ErrUnauthenticated and says why.
func (a *Auth) Open(purpose string, frame []byte) (body []byte, nonce string, err error) {
	ts, nonce, mac, body, err := parseFrame(frame)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %w", ErrUnauthenticated, err)
	}
	if !hmac.Equal(mac, a.mac(purpose, ts, nonce, body)) {
		return nil, "", fmt.Errorf("%w: wrong MAC (the document was changed, or the sender has another secret)", ErrUnauthenticated)
	}
	now := a.now()
	sent := time.UnixMilli(ts)
	if off := now.Sub(sent); off > a.window || off < -a.window {
		return nil, "", fmt.Errorf("%w: timestamp %s off this host's clock, more than the %s allowed (a replay, or the clocks disagree)",
			ErrUnauthenticated, off.Round(time.Millisecond), a.window)
	}
	if strings.HasPrefix(purpose, replyPrefix) {
		// An answer is bound to the nonce of our own request, fresh and
		// used once: it cannot be a replay, whatever its timestamp says
		// of the answering host's clock against this new process's start.
		return body, nonce, nil
	}
	if sent.Before(a.notBefore.Add(-time.Second)) {
		// A second's grace for the sender's clock being a little behind:
		// with clocks further apart, a new process hears its peers' first
		// messages only once it is that much older.
		return nil, "", fmt.Errorf("%w: stamped before this process started (a replay, or the sender's clock is behind)", ErrUnauthenticated)
	}
	if err := a.remember(nonce, ts, now.UnixMilli()); err != nil {
		return nil, "", fmt.Errorf("%w: %w", ErrUnauthenticated, err)
	}
	return body, nonce, nil
}

// parseFrame splits a frame into its header's fields and its document.
func parseFrame(frame []byte) (ts int64, nonce string, mac, body []byte, err error) {
	if !bytes.HasPrefix(frame, []byte(authMagic+" ")) {
		return 0, "", nil, nil, errors.New("no authentication header (the sender has no secret)")
	}
	end := bytes.IndexByte(frame[:min(len(frame), AuthOverhead)], '\n')
	if end < 0 {
		return 0, "", nil, nil, errors.New("authentication header too long or unterminated")
	}
	fields := bytes.Split(frame[len(authMagic)+1:end], []byte(" "))
	if len(fields) != 3 {
		return 0, "", nil, nil, errors.New("authentication header: want timestamp, nonce and MAC")
	}
	ts, err = strconv.ParseInt(string(fields[0]), 10, 64)
	if err != nil {
		return 0, "", nil, nil, errors.New("authentication header: bad timestamp")
	}
	if len(fields[1]) != 32 {
		return 0, "", nil, nil, errors.New("authentication header: the nonce must be 32 hex digits")
	}
	if _, err := hex.Decode(make([]byte, 16), fields[1]); err != nil {
		return 0, "", nil, nil, errors.New("authentication header: bad nonce")
	}
	mac = make([]byte, sha256.Size)
	if len(fields[2]) != 2*sha256.Size {
		return 0, "", nil, nil, errors.New("authentication header: the MAC must be 64 hex digits")
	}
	if _, err := hex.Decode(mac, fields[2]); err != nil {
		return 0, "", nil, nil, errors.New("authentication header: bad MAC")
	}
	return ts, string(fields[1]), mac, frame[end+1:], nil
}

// remember records nonce, refusing one already seen. A nonce is kept until
// its timestamp leaves the window, after which the timestamp check refuses
// the frame anyway.
func (a *Auth) remember(nonce string, ts, now int64) error {
	var key [16]byte
	hex.Decode(key[:], []byte(nonce)) // checked by parseFrame
	a.mu.Lock()
	defer a.mu.Unlock()
	if until, ok := a.seen[key]; ok && until >= now {
		return errors.New("nonce seen before: a replay")
	}
	if now >= a.nextSweep || len(a.seen) >= maxNonces {
		for k, until := range a.seen {
			if until < now {
				delete(a.seen, k)
			}
		}
		a.nextSweep = now + a.window.Milliseconds()
	}
	if len(a.seen) >= maxNonces {
		return errors.New("too many frames within the window to remember their nonces")
	}
	a.seen[key] = ts + a.window.Milliseconds()
	return nil
}

// LogDrop logs a refused frame at a bounded rate: a flood of forged frames
// must not flood the log too.
func (a *Auth) LogDrop(log zerolog.Logger, from string, err error) {
	a.drops.log(log, a.now(), from, err, "dropped message: not authenticated")
}

// dropLog logs what a process drops of what others send, at a bounded rate
// (see dropLimiter): whoever reaches a port must not flood the log. It is
// safe for concurrent use.
type dropLog struct {
	mu    sync.Mutex
	limit dropLimiter
}

func (d *dropLog) log(log zerolog.Logger, now time.Time, from string, err error, msg string) {
	d.mu.Lock()
	ok, suppressed := d.limit.allow(now)
	d.mu.Unlock()
	if !ok {
		return
	}
	ev := log.Warn().Err(err).Str("from", from)
	if suppressed > 0 {
		ev = ev.Int("suppressed", suppressed)
	}
	ev.Msg(msg)
}

// DropLog logs what a process drops of what others send (a datagram that
// is not a heartbeat, one that does not decode), at a bounded rate: with
// or without a secret, whoever reaches a port must not flood the log. Its
// zero value is ready; it is safe for concurrent use.
type DropLog struct{ d dropLog }

// Log logs err, from from, with msg, unless the rate is spent: the next
// line that gets through says how many were not logged.
func (l *DropLog) Log(log zerolog.Logger, from string, err error, msg string) {
	l.d.log(log, time.Now(), from, err, msg)
}

// dropLimiter lets dropBurst lines through per dropPeriod and counts the
// rest, which the next line reports.
type dropLimiter struct {
	start      time.Time
	n          int
	suppressed int
}

const (
	dropBurst  = 20
	dropPeriod = 10 * time.Second
)

func (l *dropLimiter) allow(now time.Time) (bool, int) {
	if now.Sub(l.start) >= dropPeriod {
		l.start, l.n = now, 0
	}
	if l.n >= dropBurst {
		l.suppressed++
		return false, 0
	}
	l.n++
	s := l.suppressed
	l.suppressed = 0
	return true, s
}
