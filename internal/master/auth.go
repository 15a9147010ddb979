package master

import (
	"crypto/subtle"
	"net"
	"net/http"
	"net/url"
	"strings"

	"mapreduce/internal/netaddr"
	"mapreduce/internal/secret"
	"mapreduce/protocol"
)

// newAuth authenticates messages with secret; nil (the reference protocol)
// without one.
func newAuth(key []byte) *protocol.Auth {
	if key == nil {
		return nil
	}
	// The master does not check the host a frame names: senders reach it
	// by names it cannot know (protocol/dest.go).
	return protocol.NewAuth(key, protocol.Self{Role: protocol.RoleMaster})
}

// tokenCookie, followed by the page's port, names the cookie that holds
// the status page's token in a browser that opened the page with ?token=,
// as Jupyter does, so that the links and reloads need not carry it.
// Browsers do not keep cookies apart by port: the port in the name keeps
// two clusters' pages on one host apart.
const tokenCookie = "mapreduce_token_"

// requireToken lets through only requests that carry token: ?token=T
// (which also sets the cookie named cookie), the cookie, or
// "Authorization: Bearer T". The page itself, opened with ?token=, is sent
// again without it (303), so that the token does not stay in the address
// bar. No answer names a referrer. An empty token (no secret) lets
// everything through: the master then serves the page on loopback only,
// unless --insecure.
func requireToken(token, cookie string, next http.Handler) http.Handler {
	if token == "" {
		return next
	}
	valid := func(t string) bool { return subtle.ConstantTimeCompare([]byte(t), []byte(token)) == 1 }
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Referrer-Policy", "no-referrer")
		if t := r.URL.Query().Get("token"); t != "" && valid(t) {
			http.SetCookie(w, &http.Cookie{Name: cookie, Value: token, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
			if r.URL.Path == "/" {
				http.Redirect(w, r, "/", http.StatusSeeOther)
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		if c, err := r.Cookie(cookie); err == nil && valid(c.Value) {
			next.ServeHTTP(w, r)
			return
		}
		if t, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && valid(t) {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set("WWW-Authenticate", "Bearer")
		http.Error(w, "This status page needs its token: open the address with ?token= that the master logged at start (\"status page\"), or send Authorization: Bearer TOKEN.", http.StatusUnauthorized)
	})
}

// pageURL is the status page's address as others reach it, with the token
// if there is one.
func (s *Server) pageURL(ln net.Listener) string {
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	if h, _, err := net.SplitHostPort(s.cfg.HTTPAddr); err == nil && !netaddr.Unspecified(h) {
		host = h
	} else {
		host = s.cfg.AdvertiseHost
	}
	u := url.URL{Scheme: "http", Host: net.JoinHostPort(host, port), Path: "/"}
	if s.cfg.Secret != nil {
		u.RawQuery = url.Values{"token": {secret.StatusToken(s.cfg.Secret)}}.Encode()
	}
	return u.String()
}
