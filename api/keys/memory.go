package keys

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/custody-ledger/custody/domain"
)

// Memory is an in-process Store (with the console's sessions) for tests.
type Memory struct {
	mu       sync.RWMutex
	keys     map[string]memKey
	seq      int
	sessions map[[32]byte]memSession // by the token's SHA-256
}

type memKey struct {
	Key
	digest []byte
	seq    int
}

var _ Store = (*Memory)(nil)

// NewMemory returns an empty in-memory store.
func NewMemory() *Memory { return &Memory{keys: map[string]memKey{}} }

// Create makes a key.
func (m *Memory) Create(ctx context.Context, org domain.Org, unit string, role domain.Role) (string, Key, error) {
	if err := ctx.Err(); err != nil {
		return "", Key{}, err
	}
	secret, k, err := prepare(org, unit, role, time.Now())
	if err != nil {
		return "", Key{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.seq++
	m.keys[k.ID] = memKey{Key: k, digest: Digest(secret), seq: m.seq}
	return secret, k, nil
}

// Authenticate returns the live key of secret.
func (m *Memory) Authenticate(ctx context.Context, secret string) (Key, error) {
	if err := ctx.Err(); err != nil {
		return Key{}, err
	}
	id, ok := parseSecret(secret)
	if !ok {
		return Key{}, ErrUnauthenticated
	}
	m.mu.RLock()
	k, ok := m.keys[id]
	m.mu.RUnlock()
	if !ok || !matches(secret, k.digest) || k.Revoked {
		return Key{}, ErrUnauthenticated
	}
	return k.Key, nil
}

// List returns every key, oldest first.
func (m *Memory) List(ctx context.Context) ([]Key, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.RLock()
	all := make([]memKey, 0, len(m.keys))
	for _, k := range m.keys {
		all = append(all, k)
	}
	m.mu.RUnlock()
	slices.SortFunc(all, func(a, b memKey) int { return a.seq - b.seq })
	out := make([]Key, len(all))
	for i, k := range all {
		out[i] = k.Key
	}
	return out, nil
}

// Revoke revokes a key.
func (m *Memory) Revoke(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	k, ok := m.keys[id]
	if !ok {
		return ErrNotFound
	}
	k.Revoked = true
	m.keys[id] = k
	return nil
}

type memSession struct {
	keyID   string
	expires time.Time
}

// maxMemSessions bounds the sessions a Memory holds; the oldest to expire goes first.
const maxMemSessions = 10_000

// OpenSession opens a session for a live key.
func (m *Memory) OpenSession(ctx context.Context, keyID string, now, expires time.Time) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	token, d := newToken()
	m.mu.Lock()
	defer m.mu.Unlock()
	if k, ok := m.keys[keyID]; !ok || k.Revoked {
		return "", ErrUnauthenticated
	}
	if m.sessions == nil {
		m.sessions = map[[32]byte]memSession{}
	}
	for h, s := range m.sessions {
		if !now.Before(s.expires) {
			delete(m.sessions, h)
		}
	}
	if len(m.sessions) >= maxMemSessions {
		var first [32]byte
		var at time.Time
		for h, s := range m.sessions {
			if at.IsZero() || s.expires.Before(at) {
				first, at = h, s.expires
			}
		}
		delete(m.sessions, first)
	}
	m.sessions[d] = memSession{keyID: keyID, expires: expires}
	return token, nil
}

// Session returns the key of a live session.
func (m *Memory) Session(ctx context.Context, token string, now time.Time) (Key, time.Time, error) {
	if err := ctx.Err(); err != nil {
		return Key{}, time.Time{}, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	s, ok := m.sessions[tokenDigest(token)]
	if !ok || !now.Before(s.expires) {
		return Key{}, time.Time{}, ErrUnauthenticated
	}
	k, ok := m.keys[s.keyID]
	if !ok || k.Revoked {
		return Key{}, time.Time{}, ErrUnauthenticated
	}
	return k.Key, s.expires, nil
}

// CloseSession ends a session.
func (m *Memory) CloseSession(ctx context.Context, token string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	delete(m.sessions, tokenDigest(token))
	m.mu.Unlock()
	return nil
}
