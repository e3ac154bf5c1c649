package transparency

import (
	"crypto/sha256"
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCachedTileRoots: every aligned span's root from a cached tile equals the root hashed
// from the raw tile; partial tiles are not cached; the cache keeps at most its bound.
func TestCachedTileRoots(t *testing.T) {
	hashes := make([]byte, 0, tileWidth*hasher.Size())
	for i := range tileWidth {
		h := sha256.Sum256(binary.BigEndian.AppendUint64(nil, uint64(i)))
		hashes = append(hashes, h[:]...)
	}
	c := newTileCache(2)
	assert.Nil(t, c.put(1, hashes[:len(hashes)-hasher.Size()]), "a partial tile is not cached")
	_, ok := c.get(1)
	assert.False(t, ok)

	ct := c.put(7, hashes)
	require.NotNil(t, ct)
	for n := uint64(1); n <= tileWidth; n *= 2 {
		for off := uint64(0); off < tileWidth; off += n {
			want, ok := subtreeRoot(hashes, off, n)
			require.True(t, ok)
			require.Equal(t, want, ct.root(off, n), "span %d+%d", off, n)
		}
	}
	c.put(8, hashes)
	c.get(7) // 7 is now the most recent: 8 goes first
	c.put(9, hashes)
	_, ok = c.get(8)
	assert.False(t, ok, "the least recently used tile is dropped")
	_, ok = c.get(7)
	assert.True(t, ok)
}

// TestRunCache: positions inside a cached run's known count are answered; outside, not; a
// longer copy of a run replaces the shorter.
func TestRunCache(t *testing.T) {
	var c runCache
	c.add(run{position: 10, index: 0, count: 5}) // positions 10..14 -> 0..4
	c.add(run{position: 20, index: 5, count: 3}) // 20..22 -> 5..7
	c.add(run{position: 1, count: 0})            // empty: ignored
	for _, tc := range []struct {
		pos  uint64
		ok   bool
		want uint64
	}{{9, false, 0}, {10, true, 0}, {14, true, 4}, {15, false, 0}, {20, true, 5}, {22, true, 7}, {23, false, 0}} {
		r, ok := c.find(tc.pos)
		require.Equal(t, tc.ok, ok, "position %d", tc.pos)
		if ok {
			assert.Equal(t, tc.want, r.index+tc.pos-r.position, "position %d", tc.pos)
		}
	}
	c.add(run{position: 20, index: 5, count: 10})
	r, ok := c.find(29)
	require.True(t, ok)
	assert.Equal(t, uint64(14), r.index+29-r.position)
	c.add(run{position: 20, index: 5, count: 2}) // an older, shorter read changes nothing
	_, ok = c.find(29)
	assert.True(t, ok)
}
