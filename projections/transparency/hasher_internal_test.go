package transparency

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"
)

func randomBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.IntN(256))
	}
	return b
}

// TestTreeHasher: the hasher's leaf and node hashes are the library's RFC 6962 ones, for
// nodes of 32 bytes and for anything else a malformed proof might hold.
func TestTreeHasher(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	lib := rfc6962.DefaultHasher
	for _, n := range []int{0, 1, 31, 32, 33, 64, 200} {
		leaf := randomBytes(r, n)
		assert.Equal(t, lib.HashLeaf(leaf), hasher.HashLeaf(leaf), "leaf of %d bytes", n)
	}
	for _, sizes := range [][2]int{{32, 32}, {0, 32}, {32, 31}, {33, 32}, {0, 0}} {
		left, right := randomBytes(r, sizes[0]), randomBytes(r, sizes[1])
		assert.Equal(t, lib.HashChildren(left, right), hasher.HashChildren(left, right), "children of %v bytes", sizes)
	}
	// In place, over its own inputs, as packedRoot and the heads' levels use it.
	left, right := randomBytes(r, 32), randomBytes(r, 32)
	want := lib.HashChildren(left, right)
	hasher.hashChildrenTo(left, left, right)
	assert.Equal(t, want, left)
}

// libraryRoot is the RFC 6962 root of leaves by the library's compact range and hasher.
func libraryRoot(t *testing.T, leaves [][]byte) []byte {
	t.Helper()
	f := &compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}
	rng := f.NewEmptyRange(0)
	for _, l := range leaves {
		require.NoError(t, rng.Append(l, nil))
	}
	if len(leaves) == 0 {
		return rfc6962.DefaultHasher.EmptyRoot()
	}
	root, err := rng.GetRootHash(nil)
	require.NoError(t, err)
	return root
}

// TestPackedRoot: the root of packed leaf hashes is the library's for trees of every shape.
func TestPackedRoot(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for n := range 70 {
		var leaves [][]byte
		var packed []byte
		for range n {
			l := randomBytes(r, 32)
			leaves, packed = append(leaves, l), append(packed, l...)
		}
		before := string(packed)
		assert.Equal(t, libraryRoot(t, leaves), packedRoot(packed), "%d leaves", n)
		assert.Equal(t, before, string(packed), "the leaves are left as they were")
	}
}
