package safe_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/internal/safe"
)

var errSentinel = errors.New("sentinel")

func TestCall(t *testing.T) {
	assert.NoError(t, safe.Call(func() error { return nil }))
	assert.ErrorIs(t, safe.Call(func() error { return errSentinel }), errSentinel)
	assert.False(t, safe.IsPanic(safe.Call(func() error { return errSentinel })))

	err := safe.Call(func() error { panic("boom") })
	require.True(t, safe.IsPanic(err))
	assert.Contains(t, err.Error(), "boom")
	assert.Contains(t, err.Error(), "safe_test.go", "names the frame that panicked")

	err = safe.Call(func() error { panic(errSentinel) })
	assert.ErrorIs(t, err, errSentinel)

	err = safe.Call(func() error {
		var m map[string]int
		m["x"] = 1 // a runtime error
		return nil
	})
	assert.True(t, safe.IsPanic(err))
}
