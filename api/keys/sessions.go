package keys

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"time"
)

// Sessions are the web console's sign-ins, kept next to the keys so that every server on the
// database shares them and a restart keeps them. A session is a random token (the browser's
// cookie) of which only the SHA-256 is stored, with the key it was opened by and its expiry;
// never the key's secret. It ends when it expires, when it is closed (sign-out), or when its
// key is revoked.
type Sessions interface {
	// OpenSession opens a session for a live key until expires and returns its token (256
	// random bits). now is the caller's clock; expired sessions are swept then.
	OpenSession(ctx context.Context, keyID string, now, expires time.Time) (token string, err error)
	// Session returns the key of a session live at now whose key is not revoked, and when the
	// session expires; else ErrUnauthenticated.
	Session(ctx context.Context, token string, now time.Time) (Key, time.Time, error)
	// CloseSession ends a session; an unknown token is not an error.
	CloseSession(ctx context.Context, token string) error
}

// StoreWithSessions is a key store that also keeps the console's sessions.
type StoreWithSessions interface {
	Store
	Sessions
}

var (
	_ StoreWithSessions = (*Memory)(nil)
	_ StoreWithSessions = (*SQLite)(nil)
	_ StoreWithSessions = (*Postgres)(nil)
	_ StoreWithSessions = (*Cached)(nil)
)

// newToken makes a session token and its digest.
func newToken() (string, [sha256.Size]byte) {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	t := base64.RawURLEncoding.EncodeToString(b)
	return t, sha256.Sum256([]byte(t))
}

// tokenDigest is what a store keeps of a session token.
func tokenDigest(token string) [sha256.Size]byte { return sha256.Sum256([]byte(token)) }
