package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseMaxLag(t *testing.T) {
	for _, tc := range []struct {
		in        string
		positions uint64
		seconds   float64
		bad       bool
	}{
		{in: "1000,5s", positions: 1000, seconds: 5},
		{in: "200", positions: 200},
		{in: "750ms", seconds: 0.75},
		{in: " 5s , 50 ", positions: 50, seconds: 5},
		{in: "0", bad: true},
		{in: "-3s", bad: true},
		{in: "soon", bad: true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			p, s, err := parseMaxLag(tc.in)
			if tc.bad {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.positions, p)
			assert.InDelta(t, tc.seconds, s, 1e-9)
		})
	}
}
