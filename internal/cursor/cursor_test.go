package cursor_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/internal/cursor"
)

func TestLimit(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
		err  bool
	}{
		{"", cursor.DefaultLimit, false}, {"1", 1, false}, {"1000", 1000, false},
		{"0", 0, true}, {"1001", 0, true}, {"-3", 0, true}, {"abc", 0, true}, {"2.5", 0, true},
	} {
		n, err := cursor.Limit(tc.in)
		if tc.err {
			assert.ErrorIs(t, err, cursor.ErrLimit, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, n, tc.in)
	}
	assert.Equal(t, cursor.DefaultLimit, cursor.Or(0))
	assert.Equal(t, cursor.DefaultLimit, cursor.Or(5000))
	assert.Equal(t, 7, cursor.Or(7))
}

func TestRoundTrip(t *testing.T) {
	c := cursor.Encode(int64(42), "doc", "rule")
	var (
		n    int64
		a, b string
	)
	ok, err := cursor.Decode(c, &n, &a, &b)
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, int64(42), n)
	assert.Equal(t, "doc", a)
	assert.Equal(t, "rule", b)

	ok, err = cursor.Decode("", &n)
	assert.NoError(t, err)
	assert.False(t, ok)
	for _, bad := range []string{"bogus!", cursor.Encode("x"), cursor.Encode(int64(1), "a"), "e30"} {
		_, err := cursor.Decode(bad, &n, &a, &b)
		assert.ErrorIs(t, err, cursor.ErrMalformed, bad)
	}
	_, err = cursor.Decode(cursor.Encode("not a number"), &n)
	assert.ErrorIs(t, err, cursor.ErrMalformed, "types must match")
}
