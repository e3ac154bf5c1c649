package eventstore

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"time"
)

// Hash is a SHA-256 digest in a stream's hash chain.
type Hash [sha256.Size]byte

func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// IsZero reports whether h is the zero hash (the prev_hash of a stream's first event).
func (h Hash) IsZero() bool { return h == Hash{} }

// ParseHash decodes a hex-encoded hash.
func ParseHash(s string) (Hash, error) {
	var h Hash
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(h) {
		return h, fmt.Errorf("eventstore: bad hash %q", s)
	}
	copy(h[:], b)
	return h, nil
}

// CanonicalBytes is the byte string hashed for a record: every field that a reader relies on
// except the global position (assigned at commit by some servers, so not known beforehand).
// Fields are length-prefixed so no two records share an encoding.
func CanonicalBytes(r *Record) []byte {
	var b bytes.Buffer
	field := func(p []byte) {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(p)))
		b.Write(n[:])
		b.Write(p)
	}
	num := func(v uint64) {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], v)
		field(n[:])
	}
	b.WriteString("custody.v1\x00")
	field([]byte(r.StreamID))
	num(r.Version)
	field(r.EventID[:])
	field([]byte(r.Type))
	num(uint64(r.SchemaVersion))
	field(r.Data)
	field(r.Metadata)
	num(uint64(r.RecordedAt.UTC().UnixMicro()))
	return b.Bytes()
}

// ChainHash computes SHA-256(prev || CanonicalBytes(r)).
func ChainHash(prev Hash, r *Record) Hash {
	h := sha256.New()
	h.Write(prev[:])
	h.Write(CanonicalBytes(r))
	var out Hash
	copy(out[:], h.Sum(nil))
	return out
}

// Seal sets r.PrevHash to prev and r.Hash to the chained hash. RecordedAt is first
// normalised to UTC microseconds, the precision every adapter can store.
func Seal(prev Hash, r *Record) {
	r.RecordedAt = r.RecordedAt.UTC().Truncate(time.Microsecond)
	r.PrevHash = prev
	r.Hash = ChainHash(prev, r)
}

// SameContent reports whether a proposed event equals a stored one for idempotency.
func SameContent(stored *Record, e *EventData) bool {
	return stored.EventID == e.ID && stored.Type == e.Type && stored.SchemaVersion == e.SchemaVersion &&
		bytes.Equal(stored.Data, e.Data) && bytes.Equal(stored.Metadata, e.Metadata)
}
