package keys

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/custody-ledger/custody/domain"
)

// Memory is an in-process Store for tests.
type Memory struct {
	mu   sync.RWMutex
	keys map[string]memKey
	seq  int
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
