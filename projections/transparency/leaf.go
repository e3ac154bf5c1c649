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
	"encoding/binary"

	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/custody-ledger/custody/eventstore"
)

// leafDomain starts every leaf, so a leaf can never be mistaken for another structure.
const leafDomain = "custody.tlog.leaf.v1\x00"

var hasher = rfc6962.DefaultHasher

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
