package transparency

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
)

// The stream-heads commitment (docs/transparency.md): at each checkpoint, a Merkle tree over
// the head (last event) of every stream as of the checkpoint's tree size, so that a document
// bundle can show that no event of its stream came after its last one. Streams are spread
// over HeadBuckets fixed buckets by a hash of their id; a bucket's heads, sorted by stream
// id, form an RFC 6962 tree, and the bucket roots (with their counts) are the leaves of a
// second RFC 6962 tree of HeadBuckets leaves whose root the checkpoint signs. The buckets are
// what keeps a checkpoint cheap: only the buckets of streams that moved are re-hashed.
const (
	headDomain   = "custody.tlog.head.v1\x00"
	bucketDomain = "custody.tlog.heads.bucket.v1\x00"
	// HeadsExtension starts the checkpoint's extension line "<keyword> <streams> <root>".
	HeadsExtension = "custody.tlog.heads.v1"
	headBucketBits = 14
	// HeadBuckets is the number of buckets, the size of the heads tree's top level.
	HeadBuckets = 1 << headBucketBits
)

// Head is a stream's last event as of a tree size: its version, leaf index and leaf hash.
type Head struct {
	StreamID string
	Version  uint64
	Index    uint64 // leaf index of the event in the log's tree
	LeafHash []byte // the event's leaf hash in the log's tree (LeafHash)
}

// HeadBytes is the heads tree's leaf of a head (docs/transparency.md).
func HeadBytes(h *Head) []byte {
	b := make([]byte, 0, len(headDomain)+8+len(h.StreamID)+8+8+len(h.LeafHash))
	b = append(b, headDomain...)
	b = binary.BigEndian.AppendUint64(b, uint64(len(h.StreamID)))
	b = append(b, h.StreamID...)
	b = binary.BigEndian.AppendUint64(b, h.Version)
	b = binary.BigEndian.AppendUint64(b, h.Index)
	b = append(b, h.LeafHash...)
	return b
}

// HeadBucket is the bucket of a stream: the first 14 bits of SHA-256(stream id).
func HeadBucket(stream string) uint64 {
	sum := sha256.Sum256([]byte(stream))
	return uint64(binary.BigEndian.Uint16(sum[:2]) >> (16 - headBucketBits))
}

// bucketLeaf is the top tree's leaf hash of a bucket of n heads whose tree has this root.
func bucketLeaf(n uint64, root []byte) []byte {
	b := make([]byte, 0, len(bucketDomain)+8+len(root))
	b = append(b, bucketDomain...)
	b = binary.BigEndian.AppendUint64(b, n)
	b = append(b, root...)
	return hasher.HashLeaf(b)
}

// HeadsCommitment is what a checkpoint's heads line signs: the number of streams and the
// heads tree's root.
type HeadsCommitment struct {
	Streams uint64
	Root    []byte
}

// line is the checkpoint extension line, without its newline.
func (c HeadsCommitment) line() string {
	return fmt.Sprintf("%s %d %s", HeadsExtension, c.Streams, b64(c.Root))
}

// parseHeadsLine reads an extension line; ok is false for another extension.
func parseHeadsLine(line string) (c HeadsCommitment, ok bool, err error) {
	f := strings.Split(line, " ")
	if f[0] != HeadsExtension {
		return c, false, nil
	}
	if len(f) != 3 {
		return c, true, fmt.Errorf("transparency: checkpoint heads line %q", line)
	}
	n, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil || (len(f[1]) > 1 && f[1][0] == '0') {
		return c, true, fmt.Errorf("transparency: checkpoint heads line %q: streams", line)
	}
	root, err := unb64(f[2])
	if err != nil || len(root) != hasher.Size() {
		return c, true, fmt.Errorf("transparency: checkpoint heads line %q: root", line)
	}
	return HeadsCommitment{Streams: n, Root: root}, true, nil
}

// headLeaf is the heads tree's leaf hash of a head.
func headLeaf(h *Head) []byte { return hasher.HashLeaf(HeadBytes(h)) }

// bucketRoot is the RFC 6962 root of a bucket's heads (sorted by stream id).
func bucketRoot(heads []Head) []byte {
	packed := make([]byte, 0, len(heads)*hasher.Size())
	for i := range heads {
		packed = append(packed, headLeaf(&heads[i])...)
	}
	return packedRoot(packed)
}

// packedRoot is the RFC 6962 root of the leaf hashes packed end to end in packed. Hashing
// the pairs of each level, an odd last node going up as it is, gives the same tree as RFC
// 6962's split at the largest power of two below the count.
func packedRoot(packed []byte) []byte {
	if len(packed) == 0 {
		return hasher.EmptyRoot()
	}
	n := hasher.Size()
	level := bytes.Clone(packed) // each level is written over the one below
	for w := len(level) / n; w > 1; w = (w + 1) / 2 {
		for i := 0; i < w/2; i++ {
			hasher.hashChildrenTo(level[i*n:(i+1)*n], level[2*i*n:(2*i+1)*n], level[(2*i+1)*n:(2*i+2)*n])
		}
		if w%2 == 1 {
			copy(level[(w/2)*n:], level[(w-1)*n:w*n])
		}
	}
	return level[:n:n]
}

// subtree is the hash of the perfect subtree id over leaves.
func subtree(leaves [][]byte, id compact.NodeID) []byte {
	begin, end := id.Coverage()
	level := slices.Clone(leaves[begin:end])
	for len(level) > 1 {
		for i := range len(level) / 2 {
			level[i] = hasher.HashChildren(level[2*i], level[2*i+1])
		}
		level = level[:len(level)/2]
	}
	return level[0]
}

// inclusion is the RFC 6962 inclusion proof of leaf index among leaves.
func inclusion(leaves [][]byte, index uint64) ([][]byte, error) {
	n, err := proof.Inclusion(index, uint64(len(leaves)))
	if err != nil {
		return nil, err
	}
	hashes := make([][]byte, len(n.IDs))
	for i, id := range n.IDs {
		hashes[i] = subtree(leaves, id)
	}
	return n.Rehash(hashes, hasher.HashChildren)
}

// headBucket is one bucket's heads, sorted by stream id.
type headBucket struct {
	heads []Head
	// leaves are the heads' leaf hashes, in the same order, packed: each is hashed once, when
	// its head moves, not again whenever another head of the bucket does.
	leaves []byte
	root   []byte // the bucket's tree root
	leaf   []byte // the top tree's leaf; nil while the bucket changed since it was hashed
}

// headSet is every stream's head, with the top tree's levels kept so that a commitment
// re-hashes only the buckets that changed and their paths.
type headSet struct {
	size    uint64 // the tree size the heads are as of
	streams uint64
	buckets []headBucket
	levels  [][][]byte // levels[0] are the bucket leaves; levels[headBucketBits][0] the root
	dirty   []uint64   // buckets changed since the last commitment
	unsaved map[uint64]bool
}

func newHeadSet() *headSet {
	s := &headSet{buckets: make([]headBucket, HeadBuckets), unsaved: map[uint64]bool{}}
	empty := bucketLeaf(0, hasher.EmptyRoot())
	s.levels = make([][][]byte, headBucketBits+1)
	s.levels[0] = make([][]byte, HeadBuckets)
	for i := range s.buckets {
		s.buckets[i].root, s.buckets[i].leaf = hasher.EmptyRoot(), empty
		s.levels[0][i] = empty
	}
	// Every node of a level is alike here; each gets its own bytes all the same, since commit
	// re-hashes nodes in place.
	for k := 1; k <= headBucketBits; k++ {
		below := s.levels[k-1]
		h := hasher.HashChildren(below[0], below[1])
		n := len(below) / 2
		s.levels[k] = make([][]byte, n)
		backing := bytes.Repeat(h, n)
		for i := range s.levels[k] {
			s.levels[k][i] = backing[i*len(h) : (i+1)*len(h) : (i+1)*len(h)]
		}
	}
	return s
}

// set makes h its stream's head.
func (s *headSet) set(h Head) {
	b := HeadBucket(h.StreamID)
	bk := &s.buckets[b]
	i, found := slices.BinarySearchFunc(bk.heads, h.StreamID, func(e Head, id string) int { return strings.Compare(e.StreamID, id) })
	n := hasher.Size()
	if found {
		bk.heads[i] = h
		copy(bk.leaves[i*n:(i+1)*n], headLeaf(&h))
	} else {
		bk.heads = slices.Insert(bk.heads, i, h)
		bk.leaves = slices.Insert(bk.leaves, i*n, headLeaf(&h)...)
		s.streams++
	}
	if bk.leaf != nil {
		bk.leaf = nil
		s.dirty = append(s.dirty, b)
	}
}

// get is a stream's head.
func (s *headSet) get(stream string) (Head, bool) {
	bk := &s.buckets[HeadBucket(stream)]
	i, found := slices.BinarySearchFunc(bk.heads, stream, func(e Head, id string) int { return strings.Compare(e.StreamID, id) })
	if !found {
		return Head{}, false
	}
	return bk.heads[i], true
}

// commit re-hashes the changed buckets and their paths and returns the commitment.
func (s *headSet) commit() HeadsCommitment {
	for _, b := range s.dirty {
		bk := &s.buckets[b]
		bk.root = packedRoot(bk.leaves)
		bk.leaf = bucketLeaf(uint64(len(bk.heads)), bk.root)
		s.levels[0][b] = bk.leaf
		s.unsaved[b] = true
	}
	// The changed nodes of each level, sorted and each once: the parents of those below.
	nodes := slices.Sorted(slices.Values(s.dirty))
	for k := 1; k <= headBucketBits; k++ {
		for j := range nodes {
			nodes[j] /= 2
		}
		nodes = slices.Compact(nodes)
		for _, i := range nodes {
			hasher.hashChildrenTo(s.levels[k][i], s.levels[k-1][2*i], s.levels[k-1][2*i+1])
		}
	}
	s.dirty = s.dirty[:0]
	return HeadsCommitment{Streams: s.streams, Root: bytes.Clone(s.levels[headBucketBits][0])}
}

// HeadProof is a stream's head with its inclusion proof in the heads tree of a checkpoint:
// the head's place in its bucket's tree, and the bucket's in the top tree.
type HeadProof struct {
	StreamID    string   `json:"stream_id"`
	Version     uint64   `json:"version"`
	Index       uint64   `json:"index"`     // the head event's leaf index in the log's tree
	LeafHash    []byte   `json:"leaf_hash"` // the head event's leaf hash in the log's tree
	Bucket      uint64   `json:"bucket"`
	BucketIndex uint64   `json:"bucket_index"` // the head's index among its bucket's heads
	BucketSize  uint64   `json:"bucket_size"`  // how many heads the bucket has
	BucketProof [][]byte `json:"bucket_proof"` // the head in the bucket's tree
	Proof       [][]byte `json:"proof"`        // the bucket's leaf in the top tree
}

func (p *HeadProof) head() Head {
	return Head{StreamID: p.StreamID, Version: p.Version, Index: p.Index, LeafHash: p.LeafHash}
}

// proveHead builds the proof of stream's head from its bucket's heads (sorted) and the top
// tree's bucket leaves.
func proveHead(stream string, bucket []Head, leaves [][]byte) (*HeadProof, error) {
	i, found := slices.BinarySearchFunc(bucket, stream, func(e Head, id string) int { return strings.Compare(e.StreamID, id) })
	if !found {
		return nil, fmt.Errorf("%w: stream %s has no head", ErrNotFound, stream)
	}
	hl := make([][]byte, len(bucket))
	for j := range bucket {
		hl[j] = headLeaf(&bucket[j])
	}
	inner, err := inclusion(hl, uint64(i))
	if err != nil {
		return nil, err
	}
	b := HeadBucket(stream)
	top, err := inclusion(leaves, b)
	if err != nil {
		return nil, err
	}
	h := bucket[i]
	return &HeadProof{StreamID: h.StreamID, Version: h.Version, Index: h.Index, LeafHash: h.LeafHash, Bucket: b,
		BucketIndex: uint64(i), BucketSize: uint64(len(bucket)), BucketProof: inner, Proof: top}, nil
}

// VerifyHead checks that the proof leads from its head to the commitment's root.
func VerifyHead(p *HeadProof, c HeadsCommitment) error {
	if want := HeadBucket(p.StreamID); p.Bucket != want {
		return fmt.Errorf("stream %s is in bucket %d, not %d", p.StreamID, want, p.Bucket)
	}
	if len(p.LeafHash) != hasher.Size() {
		return errors.New("the head's leaf hash is not 32 bytes")
	}
	h := p.head()
	inner, err := proof.RootFromInclusionProof(hasher, p.BucketIndex, p.BucketSize, headLeaf(&h), p.BucketProof)
	if err != nil {
		return fmt.Errorf("its proof in bucket %d: %w", p.Bucket, err)
	}
	if err := proof.VerifyInclusion(hasher, p.Bucket, HeadBuckets, bucketLeaf(p.BucketSize, inner), p.Proof, c.Root); err != nil {
		return fmt.Errorf("its proof does not lead to the checkpoint's heads root: %w", err)
	}
	return nil
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func unb64(s string) ([]byte, error) { return base64.StdEncoding.DecodeString(s) }
