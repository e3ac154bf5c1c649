// Package keys holds the API keys of the ledger's integrators. Each key belongs to one
// organisation, one unit and one role (DOMAIN.md, Parties). Only a SHA-256 digest of a key's
// secret is stored: secrets carry 256 random bits, so a fast hash is enough (no password
// stretching needed) and a stolen table does not give anyone a working key.
//
// A secret reads "ck_<key id>_<43 base64url characters>". The key id inside it lets a store
// find the one row to compare against; the comparison is in constant time.
//
// Organisations: a key's organisation is always domain.OrgOf(its role). The auditor, the
// commission and the administrator stand outside the three organisations, so their keys carry
// the empty organisation; domain.Decide requires exactly that of the actors it accepts.
package keys

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/custody-ledger/custody/domain"
)

// Errors; match with errors.Is.
var (
	// ErrUnauthenticated: the secret is malformed, unknown or revoked. Callers answer 401 and
	// must not tell these cases apart to the client.
	ErrUnauthenticated = errors.New("keys: invalid or revoked api key")
	// ErrNotFound: no key with this id.
	ErrNotFound = errors.New("keys: no such key")
	// ErrInvalid: a key cannot be created with these organisation, unit and role.
	ErrInvalid = errors.New("keys: invalid key")
)

// Key is an API key's public part.
type Key struct {
	ID        string      `json:"id"`
	Org       domain.Org  `json:"org"`
	Unit      string      `json:"unit,omitempty"`
	Role      domain.Role `json:"role"`
	CreatedAt time.Time   `json:"created_at"`
	Revoked   bool        `json:"revoked"`
}

// Actor is the domain actor a key acts as, with the employee who signs.
func (k Key) Actor(employeeID string) domain.Actor {
	return domain.Actor{Role: k.Role, Org: k.Org, Unit: k.Unit, EmployeeID: employeeID}
}

// Store keeps keys.
type Store interface {
	// Create makes a key and returns its secret, which is never stored and cannot be shown
	// again. An invalid organisation, unit or role is ErrInvalid.
	Create(ctx context.Context, org domain.Org, unit string, role domain.Role) (secret string, k Key, err error)
	// Authenticate returns the live key a secret belongs to, or ErrUnauthenticated.
	Authenticate(ctx context.Context, secret string) (Key, error)
	// List returns every key, revoked ones too, oldest first.
	List(ctx context.Context) ([]Key, error)
	// Revoke revokes a key at once; ErrNotFound if there is none with this id. Revoking a
	// revoked key is not an error.
	Revoke(ctx context.Context, id string) error
}

const prefix = "ck_"

var (
	reUnit  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$`) // as domain's unit codes
	reKeyID = regexp.MustCompile(`^[0-9a-f]{16}$`)
	reTail  = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)
)

// unitBound says whether a role's key must name its unit: every role that holds documents or
// acts for a unit does; the recipient, the auditor, the commission and the administrator may
// leave it empty.
func unitBound(r domain.Role) bool {
	switch r {
	case domain.RoleRecipient, domain.RoleAuditor, domain.RoleCommission, domain.RoleAdmin:
		return false
	}
	return true
}

// Validate checks that a key may be made for org, unit and role.
func Validate(org domain.Org, unit string, role domain.Role) error {
	if !domain.ValidRole(role) {
		return fmt.Errorf("%w: unknown role %q", ErrInvalid, role)
	}
	if want := domain.OrgOf(role); org != want {
		if want == "" {
			return fmt.Errorf("%w: role %s belongs to no organisation; leave the organisation empty", ErrInvalid, role)
		}
		return fmt.Errorf("%w: role %s acts for organisation %q", ErrInvalid, role, want)
	}
	if unit == "" {
		if unitBound(role) {
			return fmt.Errorf("%w: role %s needs a unit", ErrInvalid, role)
		}
		return nil
	}
	if !reUnit.MatchString(unit) {
		return fmt.Errorf("%w: unit must be 1–64 letters, digits, '.', '_', '/' or '-'", ErrInvalid)
	}
	return nil
}

// newSecret makes a fresh key id and secret.
func newSecret() (id, secret string, err error) {
	var idb [8]byte
	var tail [32]byte
	if _, err := rand.Read(idb[:]); err != nil {
		return "", "", fmt.Errorf("keys: random: %w", err)
	}
	if _, err := rand.Read(tail[:]); err != nil {
		return "", "", fmt.Errorf("keys: random: %w", err)
	}
	id = hex.EncodeToString(idb[:])
	return id, prefix + id + "_" + base64.RawURLEncoding.EncodeToString(tail[:]), nil
}

// parseSecret returns the key id a well-formed secret names.
func parseSecret(secret string) (string, bool) {
	rest, ok := strings.CutPrefix(secret, prefix)
	if !ok {
		return "", false
	}
	id, tail, ok := strings.Cut(rest, "_")
	if !ok || !reKeyID.MatchString(id) || !reTail.MatchString(tail) {
		return "", false
	}
	return id, true
}

// Digest is what a store keeps of a secret.
func Digest(secret string) []byte {
	d := sha256.Sum256([]byte(secret))
	return d[:]
}

// matches compares a secret with a stored digest in constant time.
func matches(secret string, digest []byte) bool {
	return subtle.ConstantTimeCompare(Digest(secret), digest) == 1
}

// prepare validates a creation request and makes the key and its secret.
func prepare(org domain.Org, unit string, role domain.Role, now time.Time) (string, Key, error) {
	if err := Validate(org, unit, role); err != nil {
		return "", Key{}, err
	}
	id, secret, err := newSecret()
	if err != nil {
		return "", Key{}, err
	}
	return secret, Key{ID: id, Org: org, Unit: unit, Role: role, CreatedAt: now.UTC().Truncate(time.Microsecond)}, nil
}
