package console

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/projections/query"
)

// TestChartEscapes: a key from the data (a unit code, a rule) is text in the SVG, never markup.
func TestChartEscapes(t *testing.T) {
	p, err := loadPages()
	require.NoError(t, err)
	ch := newChart(ru, "org", []query.Count{{Key: `<script>alert(1)</script>`, N: 3}, {Key: "gk", N: 6}},
		func(k string) string { return link("/console/documents", "holder_org", k) })
	assert.Equal(t, 230, ch.Bars[1].W, "the longest bar takes the full width")
	assert.Equal(t, 115, ch.Bars[0].W)
	var buf bytes.Buffer
	require.NoError(t, p.t["overview"].ExecuteTemplate(&buf, "chart", ch))
	out := buf.String()
	assert.NotContains(t, out, "<script>")
	assert.Contains(t, out, "&lt;script&gt;")
	assert.Contains(t, out, `href="/console/documents?holder_org=%3Cscript%3Ealert%281%29%3C%2Fscript%3E"`)
	assert.Contains(t, out, "Госкорпорация")
}
