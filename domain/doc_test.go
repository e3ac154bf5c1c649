package domain

import (
	"os"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The package comment's map from the regulation to the files must name files that exist.
func TestDocMapNamesRealFiles(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	require.NoError(t, err)
	names := regexp.MustCompile(`[a-z_/]+\.go`).FindAllString(string(doc), -1)
	require.NotEmpty(t, names)
	for _, n := range names {
		_, err := os.Stat(n)
		assert.NoError(t, err, "doc.go names %s", n)
	}
}
