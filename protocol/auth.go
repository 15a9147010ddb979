package protocol

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
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
//	MRAUTH2 <unix milliseconds> <nonce: 32 hex digits> <destination> <mac: 64 hex digits>\n<document>
//
// mac is HMAC-SHA256 under a key derived from the secret over the purpose
// (what the frame is: a message, a datagram, or the reply to the request
// with a given nonce), the destination, the timestamp, the nonce and the
// document. A receiver acts only on a frame whose MAC is right, that names
// this process as its destination, whose timestamp is within AuthWindow of
// its clock (and not before it started), and whose nonce it has not seen
// within that window. Without a secret nothing of this is on the wire: the
// reference protocol, byte for byte.
//
// The destination names the process the frame is for, since all share one
// secret and each has its own replay cache: without it a shutdown captured
// on its way to the master would stop a worker, which never saw its nonce.
// It is the receiver's role and the host and port the sender dialed; a
// worker checks all three, a master only its role and port (so masters on
// one port of two hosts, sharing a secret, take each other's frames), and
// a port forwarded to another (NAT) refuses them all. dest.go says why.

// authMagic starts every frame; it names the version of the framing.
const authMagic = "MRAUTH2"

// maxDest bounds a frame's destination: "worker@", a DNS name (at most
// 253 bytes, 255 in brackets) and ":" and a port.
const maxDest = len("worker@") + 255 + 1 + 5

// noDest is the destination of an answer, bound to its request's nonce.
const noDest = "-"

// AuthOverhead bounds the header line a frame adds to its document.
const AuthOverhead = len(authMagic) + 1 + 19 + 1 + 32 + 1 + maxDest + 1 + 64 + 1

// SealedOverhead bounds the header line a frame sealed for to (Dest) adds
// to its document: at most AuthOverhead, and as much less as to is shorter
// than the longest destination.
func SealedOverhead(to string) int {
	return AuthOverhead - maxDest + min(len(to), maxDest)
}

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
	m := hmac.New(sha256.New, a.key)
	fmt.Fprintf(m, "%s\nstream %s\n%d\n%c\n", authMagic, requestNonce, seq, kind)
	m.Write(data)
	return m.Sum(nil)
}

// ErrUnauthenticated is wrapped by every refusal of Auth.Open.
var ErrUnauthenticated = errors.New("not authenticated")

// Auth seals and opens frames with one secret and keeps the replay cache of
// one process. It is safe for concurrent use.
type Auth struct {
	key []byte
	// self is the process frames must name to be opened.
	self   Self
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
// of randomness (internal/secret checks that), that opens the frames sealed
// for self.
func NewAuth(secret []byte, self Self) *Auth {
	return newAuth(secret, self, time.Now)
}

func newAuth(secret []byte, self Self, now func() time.Time) *Auth {
	// A key of its own, derived from the secret, so that nothing else made
	// from the secret (the status page's token) can make a frame.
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("mapreduce message key v1"))
	return &Auth{key: mac.Sum(nil), self: self, now: now, window: AuthWindow, notBefore: now(),
		seen: make(map[[16]byte]int64)}
}

// Seal returns the header line that authenticates body for purpose, sent
// to the process named by to (Dest; noDest for an answer), and the frame's
// nonce (which the answer to a request is bound to).
func (a *Auth) Seal(purpose, to string, body []byte) (header []byte, nonce string, err error) {
	if err := checkDest(to); err != nil {
		return nil, "", err
	}
	var n [16]byte
	rand.Read(n[:]) // never fails (crypto/rand's documented contract)
	nonce = hex.EncodeToString(n[:])
	ts := a.now().UnixMilli()
	header = fmt.Appendf(make([]byte, 0, AuthOverhead), "%s %d %s %s %x\n", authMagic, ts, nonce, to, a.mac(purpose, to, ts, nonce, body))
	return header, nonce, nil
}

func (a *Auth) mac(purpose, to string, ts int64, nonce string, body []byte) []byte {
	m := hmac.New(sha256.New, a.key)
	fmt.Fprintf(m, "%s\n%s\n%s\n%d\n%s\n", authMagic, purpose, to, ts, nonce)
	m.Write(body)
	return m.Sum(nil)
}

// Open checks frame, made for purpose, and returns its document (a slice of
// frame) and its nonce. at is where the frame arrived (the local address of
// its connection or socket), which its destination must name, with this
// Auth's Self; an answer names none, and at is nil. Every refusal wraps
// ErrUnauthenticated and says why.
func (a *Auth) Open(purpose string, frame []byte, at net.Addr) (body []byte, nonce string, err error) {
	ts, nonce, to, mac, body, err := parseFrame(frame)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %w", ErrUnauthenticated, err)
	}
	if !hmac.Equal(mac, a.mac(purpose, to, ts, nonce, body)) {
		return nil, "", fmt.Errorf("%w: wrong MAC (the document was changed, or the sender has another secret)", ErrUnauthenticated)
	}
	// Checked once the MAC is: what the destination says is the sender's.
	if err := a.self.names(purpose, to, at); err != nil {
		return nil, "", fmt.Errorf("%w: %w", ErrUnauthenticated, err)
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
func parseFrame(frame []byte) (ts int64, nonce, to string, mac, body []byte, err error) {
	fail := func(why string) (int64, string, string, []byte, []byte, error) {
		return 0, "", "", nil, nil, errors.New(why)
	}
	if !bytes.HasPrefix(frame, []byte(authMagic+" ")) {
		if bytes.HasPrefix(frame, []byte("MRAUTH")) {
			return fail("another version of the authentication header (the sender runs another version of mapreduce)")
		}
		return fail("no authentication header (the sender has no secret)")
	}
	end := bytes.IndexByte(frame[:min(len(frame), AuthOverhead)], '\n')
	if end < 0 {
		return fail("authentication header too long or unterminated")
	}
	fields := bytes.Split(frame[len(authMagic)+1:end], []byte(" "))
	if len(fields) != 4 {
		return fail("authentication header: want timestamp, nonce, destination and MAC")
	}
	ts, err = strconv.ParseInt(string(fields[0]), 10, 64)
	if err != nil {
		return fail("authentication header: bad timestamp")
	}
	if len(fields[1]) != 32 {
		return fail("authentication header: the nonce must be 32 hex digits")
	}
	if _, err := hex.Decode(make([]byte, 16), fields[1]); err != nil {
		return fail("authentication header: bad nonce")
	}
	if err := checkDest(string(fields[2])); err != nil {
		return fail("authentication header: " + err.Error())
	}
	mac = make([]byte, sha256.Size)
	if len(fields[3]) != 2*sha256.Size {
		return fail("authentication header: the MAC must be 64 hex digits")
	}
	if _, err := hex.Decode(mac, fields[3]); err != nil {
		return fail("authentication header: bad MAC")
	}
	return ts, string(fields[1]), string(fields[2]), mac, frame[end+1:], nil
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
