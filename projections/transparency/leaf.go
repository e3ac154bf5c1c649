// Package transparency keeps a verifiable log over the ledger's global log, the way
// certificate-transparency logs do (RFC 6962 / RFC 9162): a Merkle tree whose leaf i is the
// i-th event in commit order, signed checkpoints (C2SP tlog-checkpoint notes, Ed25519),
// inclusion and consistency proofs served from stored nodes, and audit bundles that an
// auditor checks offline with nothing but the log's public key. The leaf and checkpoint
// formats are in docs/transparency.md.
//
// The tree is built by a Sequencer that follows the log through the eventstore port (so it
// works for every store), elected once per database; appends never wait for it.
package transparency

import (
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"sync"

	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/custody-ledger/custody/eventstore"
)

// leafDomain starts every leaf, so a leaf can never be mistaken for another structure.
const leafDomain = "custody.tlog.leaf.v1\x00"

var hasher = treeHasher{rfc6962.DefaultHasher}

// treeHasher is RFC 6962's SHA-256 hashing, its results byte for byte those of
// rfc6962.DefaultHasher (TestTreeHasher), without the digest and buffers that hasher allocates
// for every hash: the sequencer hashes tens of nodes for each event it adds.
type treeHasher struct{ *rfc6962.Hasher }

var digests = sync.Pool{New: func() any { return sha256.New() }}

// HashLeaf is SHA-256(0x00 || leaf).
func (treeHasher) HashLeaf(leaf []byte) []byte {
	d := digests.Get().(hash.Hash)
	d.Reset()
	_, _ = d.Write([]byte{rfc6962.RFC6962LeafHashPrefix})
	_, _ = d.Write(leaf)
	out := d.Sum(make([]byte, 0, sha256.Size))
	digests.Put(d)
	return out
}

// HashChildren is SHA-256(0x01 || l || r).
func (t treeHasher) HashChildren(l, r []byte) []byte {
	out := make([]byte, sha256.Size)
	t.hashChildrenTo(out, l, r)
	return out
}

// hashChildrenTo writes HashChildren(l, r) to dst (32 bytes), which may overlap l or r.
func (t treeHasher) hashChildrenTo(dst, l, r []byte) {
	if len(l) != sha256.Size || len(r) != sha256.Size {
		copy(dst, t.Hasher.HashChildren(l, r)) // not a node of ours (a malformed proof): hashed as given
		return
	}
	var b [1 + 2*sha256.Size]byte
	b[0] = rfc6962.RFC6962NodeHashPrefix
	copy(b[1:], l)
	copy(b[1+sha256.Size:], r)
	sum := sha256.Sum256(b[:])
	copy(dst, sum[:])
}

// LeafBytes is the leaf of a record: its global position, stream, version, event id and chain
// hash, each fixed-size or length-prefixed (docs/transparency.md). The position is in the leaf
// so that moving an event in the log changes the tree even where the stream's chain holds.
func LeafBytes(r *eventstore.Record) []byte {
	b := make([]byte, 0, len(leafDomain)+8+8+len(r.StreamID)+8+16+32)
	b = append(b, leafDomain...)
	b = binary.BigEndian.AppendUint64(b, r.Position)
	b = binary.BigEndian.AppendUint64(b, uint64(len(r.StreamID)))
	b = append(b, r.StreamID...)
	b = binary.BigEndian.AppendUint64(b, r.Version)
	b = append(b, r.EventID[:]...)
	b = append(b, r.Hash[:]...)
	return b
}

// LeafHash is the RFC 6962 leaf hash, SHA-256(0x00 || LeafBytes(r)).
func LeafHash(r *eventstore.Record) []byte { return hasher.HashLeaf(LeafBytes(r)) }
