package transparency

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/transparency-dev/merkle/proof"
)

func TestHeadSetProof(t *testing.T) {
	hs := newHeadSet()
	for i := range 50 {
		hs.set(Head{StreamID: fmt.Sprintf("s-%d", i), Version: 1, Index: uint64(i), LeafHash: make([]byte, 32)})
	}
	c := hs.commit()
	leaves := hs.levels[0]
	p, err := proveHead("s-7", hs.buckets[HeadBucket("s-7")].heads, leaves)
	require.NoError(t, err)
	require.NoError(t, VerifyHead(p, c))
}

func TestHeadSetRoot(t *testing.T) {
	hs := newHeadSet()
	for i := range 50 {
		hs.set(Head{StreamID: fmt.Sprintf("s-%d", i), Version: 1, Index: uint64(i), LeafHash: make([]byte, 32)})
	}
	c := hs.commit()
	r := factory.NewEmptyRange(0)
	for _, l := range hs.levels[0] {
		require.NoError(t, r.Append(l, nil))
	}
	root, _ := r.GetRootHash(nil)
	require.Equal(t, root, c.Root)
	fresh := newHeadSet()
	r = factory.NewEmptyRange(0)
	for _, l := range fresh.levels[0] {
		require.NoError(t, r.Append(l, nil))
	}
	root, _ = r.GetRootHash(nil)
	require.Equal(t, root, fresh.levels[headBucketBits][0])
}

func TestInclusionHelper(t *testing.T) {
	for _, n := range []int{1, 2, 3, 5, 8, 13} {
		leaves := make([][]byte, n)
		r := factory.NewEmptyRange(0)
		for i := range leaves {
			leaves[i] = hasher.HashLeaf([]byte{byte(i)})
			require.NoError(t, r.Append(leaves[i], nil))
		}
		root, _ := r.GetRootHash(nil)
		for i := range leaves {
			p, err := inclusion(leaves, uint64(i))
			require.NoError(t, err)
			require.NoError(t, proof.VerifyInclusion(hasher, uint64(i), uint64(n), leaves[i], p, root), "n=%d i=%d", n, i)
		}
	}
}
