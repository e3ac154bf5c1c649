package domain

import (
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
)

func TestStreamNamesFallUnderTheirPrefixes(t *testing.T) {
	id := uuid.MustParse("6f1c2d3e-0000-4000-8000-000000000001")
	names := []string{DocumentStream(id), RegistryStream(id), DisputeStream(id), ForceMajeureStream(id), ApplicationStream(id)}
	for i, p := range StreamPrefixes() {
		assert.Equal(t, p+id.String(), names[i])
		for j, q := range StreamPrefixes() {
			// no family's names may fall under another's prefix
			assert.Equal(t, i == j, strings.HasPrefix(names[i], q), "%s under %s", names[i], q)
		}
	}
}
