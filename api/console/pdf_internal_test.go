package console

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/go-pdf/fpdf"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFontCoversLabels: the cut-down font has a glyph for every character of every label in
// ru and kk and of the symbols the forms print, so a label added later with a letter outside
// the cut fails here instead of printing blank.
func TestFontCoversLabels(t *testing.T) {
	p := fpdf.New("P", "mm", "A4", "")
	p.AddUTF8FontFromBytes(fontName, "", fontTTF)
	require.NoError(t, p.Error(), "fpdf reads the cut font")
	covered := cmapRunes(t, fontTTF)
	seen := map[rune]bool{}
	check := func(s string) {
		for _, r := range s {
			if seen[r] {
				continue
			}
			seen[r] = true
			assert.True(t, covered[r], "no glyph for %q (U+%04X)", r, r)
		}
	}
	for _, m := range messages {
		check(m[0])
		check(m[1])
	}
	check("ӘәҒғҚқҢңӨөҰұҮүҺһІі №—–…«»·×−≤≥→←✔✘₸")
	assert.False(t, covered['\u4e2d'], "a character outside the cut has no glyph (the check above can fail)")
}

// cmapRunes reads the characters a TrueType font maps to a glyph, from its Unicode BMP cmap
// (platform 3, encoding 1, format 4).
func cmapRunes(t *testing.T, ttf []byte) map[rune]bool {
	t.Helper()
	u16 := func(o int) int { return int(binary.BigEndian.Uint16(ttf[o:])) }
	u32 := func(o int) int { return int(binary.BigEndian.Uint32(ttf[o:])) }
	cmap := -1
	for i := range u16(4) {
		if rec := 12 + 16*i; string(ttf[rec:rec+4]) == "cmap" {
			cmap = u32(rec + 8)
		}
	}
	require.GreaterOrEqual(t, cmap, 0, "no cmap table")
	sub := -1
	for i := range u16(cmap + 2) {
		if rec := cmap + 4 + 8*i; u16(rec) == 3 && u16(rec+2) == 1 {
			sub = cmap + u32(rec+4)
		}
	}
	require.GreaterOrEqual(t, sub, 0, "no Unicode BMP cmap")
	require.Equal(t, 4, u16(sub), "cmap format")
	segs := u16(sub+6) / 2
	ends, starts, deltas, offs := sub+14, sub+16+2*segs, sub+16+4*segs, sub+16+6*segs
	out := map[rune]bool{}
	for i := range segs {
		start, end, delta, ro := u16(starts+2*i), u16(ends+2*i), u16(deltas+2*i), u16(offs+2*i)
		for c := start; c <= end && c != 0xFFFF; c++ {
			g := (c + delta) & 0xFFFF
			if ro != 0 {
				g = u16(offs + 2*i + ro + 2*(c-start))
				if g != 0 {
					g = (g + delta) & 0xFFFF
				}
			}
			if g != 0 {
				out[rune(c)] = true
			}
		}
	}
	return out
}

// BenchmarkFormPDF is the cost of one form's PDF, without the database: the font's parse and
// cut and the compression.
func BenchmarkFormPDF(b *testing.B) {
	rows := make([][]string, 60)
	for i := range rows {
		rows[i] = []string{"1", "Құжат әғқңөұүһі", "kaspi", "принят ✔"}
	}
	for range b.N {
		f := newForm(ru, "Реестр №12 — тізілім", streamHead{Stream: "registry-x", Hash: "00"}, "2026-12-06")
		f.table([]float64{10, 80, 40, 40}, []string{"№", "Документ", "Орг", "Статус"}, rows)
		var buf bytes.Buffer
		require.NoError(b, f.pdf.Output(&buf))
	}
}
