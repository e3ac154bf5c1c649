package rounds

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRunRotatesAndPairs(t *testing.T) {
	var order []string
	rate := map[string][]float64{"a": {10, 30, 20}, "b": {5, 10, 20}}
	calls := map[string]int{}
	mk := func(name string) Contender {
		return Contender{Name: name, Run: func(context.Context, time.Duration) (float64, error) {
			order = append(order, name)
			calls[name]++
			return rate[name][calls[name]-1], nil
		}}
	}
	res, err := Run(t.Context(), 3, time.Millisecond, mk("a"), mk("b"))
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b", "b", "a", "a", "b"}, order, "rotated each round")
	assert.Equal(t, Stat{Median: 20, Min: 10, Max: 30}, res.Of("a"))
	assert.Equal(t, Stat{Median: 2, Min: 1, Max: 3}, res.Ratio("a", "b"), "paired per round: 2, 3, 1")

	var out strings.Builder
	res.Write(&out, "ev/s", "b")
	assert.Contains(t, out.String(), "3 interleaved rounds")
	assert.Contains(t, out.String(), "÷ b 2.00 (1.00–3.00)")
}

func TestRunStopsOnError(t *testing.T) {
	boom := errors.New("boom")
	_, err := Run(t.Context(), 3, time.Millisecond, Contender{Name: "x", Run: func(context.Context, time.Duration) (float64, error) {
		return 0, boom
	}})
	assert.ErrorIs(t, err, boom)
}
