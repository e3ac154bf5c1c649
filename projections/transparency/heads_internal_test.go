package transparency

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/transparency-dev/merkle/proof"
)

// TestInclusionProofs: the in-memory inclusion proofs verify with the library's verifier for
// trees of every shape.
func TestInclusionProofs(t *testing.T) {
	for _, n := range []int{1, 2, 3, 5, 8, 13, 64} {
		leaves := make([][]byte, n)
		r := factory.NewEmptyRange(0)
		for i := range leaves {
			leaves[i] = hasher.HashLeaf([]byte{byte(i)})
			require.NoError(t, r.Append(leaves[i], nil))
		}
		root, err := r.GetRootHash(nil)
		require.NoError(t, err)
		for i := range leaves {
			p, err := inclusion(leaves, uint64(i))
			require.NoError(t, err)
			assert.NoError(t, proof.VerifyInclusion(hasher, uint64(i), uint64(n), leaves[i], p, root), "n=%d i=%d", n, i)
		}
	}
}

func randomHead(r *rand.Rand, streams int, index uint64) Head {
	leaf := make([]byte, 32)
	for i := range leaf {
		leaf[i] = byte(r.IntN(256))
	}
	return Head{StreamID: fmt.Sprintf("document-%d", r.IntN(streams)), Version: uint64(r.IntN(9) + 1), Index: index, LeafHash: leaf}
}

// TestHeadSetIncremental: a set updated and committed many times (re-hashing only what
// moved) has the root of a set built once from the same heads, and proves every head.
func TestHeadSetIncremental(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	live, heads := newHeadSet(), map[string]Head{}
	var idx uint64
	for range 20 {
		for range r.IntN(300) + 1 {
			h := randomHead(r, 2000, idx)
			idx++
			live.set(h)
			heads[h.StreamID] = h
		}
		got := live.commit()
		fresh := newHeadSet()
		for _, h := range heads {
			fresh.set(h)
		}
		want := fresh.commit()
		require.Equal(t, want, got)
		require.Equal(t, uint64(len(heads)), got.Streams)
		// And the library's RFC 6962 root of the buckets' leaves, each bucket's root its own.
		top := make([][]byte, HeadBuckets)
		for b := range top {
			bk := fresh.buckets[b].heads
			leaves := make([][]byte, len(bk))
			for i := range bk {
				leaves[i] = headLeaf(&bk[i])
			}
			top[b] = bucketLeaf(uint64(len(bk)), libraryRoot(t, leaves))
		}
		require.Equal(t, libraryRoot(t, top), got.Root)
	}
	c := live.commit()
	n := 0
	for id, want := range heads {
		if n++; n > 50 {
			break
		}
		p, err := proveHead(id, live.buckets[HeadBucket(id)].heads, live.levels[0])
		require.NoError(t, err)
		assert.Equal(t, want, p.head())
		assert.NoError(t, VerifyHead(p, c), id)
	}
	_, err := proveHead("document-none", live.buckets[HeadBucket("document-none")].heads, live.levels[0])
	assert.ErrorIs(t, err, ErrNotFound)
}

// TestHeadsLine: the checkpoint's heads line round-trips, and a malformed one is refused.
func TestHeadsLine(t *testing.T) {
	c := Checkpoint{Origin: "o", Size: 3, Root: make([]byte, 32), Heads: &HeadsCommitment{Streams: 2, Root: hasher.EmptyRoot()}}
	got, err := parseBody(c.Body())
	require.NoError(t, err)
	assert.Equal(t, c, got)
	old := Checkpoint{Origin: "o", Size: 3, Root: make([]byte, 32)}
	got, err = parseBody(old.Body() + "other.extension 1\n")
	require.NoError(t, err, "another extension is ignored")
	assert.Nil(t, got.Heads)
	for _, bad := range []string{HeadsExtension + " 2", HeadsExtension + " x " + b64(make([]byte, 32)), HeadsExtension + " 2 AAAA",
		HeadsExtension + " 02 " + b64(make([]byte, 32))} {
		_, err := parseBody(old.Body() + bad + "\n")
		assert.Error(t, err, bad)
	}
	_, err = parseBody(c.Body() + c.Heads.line() + "\n")
	assert.ErrorContains(t, err, "two heads lines")
}
