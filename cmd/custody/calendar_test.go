package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/domain"
)

// --calendar applies an operator's year files over the embedded ones (a decree moving a day
// off, a year the release lacks), as a file or a directory of them.
func TestCalendarOverride(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "2026.json")
	require.NoError(t, os.WriteFile(file, []byte(`{"year": 2026, "source": "test decree: 1 January worked",
		"days_off": [{"date": "2026-01-02", "note": "moved"}]}`), 0o644))
	jan1 := time.Date(2026, 1, 1, 12, 0, 0, 0, domain.Almaty)

	embedded, err := loadCalendar("")
	require.NoError(t, err)
	working, err := embedded.IsWorkingDay(jan1)
	require.NoError(t, err)
	assert.False(t, working, "New Year's Day is off in the embedded data")

	for name, path := range map[string]string{"file": file, "directory": dir} {
		c, err := loadCalendar(path)
		require.NoError(t, err, name)
		working, err = c.IsWorkingDay(jan1)
		require.NoError(t, err, name)
		assert.True(t, working, "%s: the override replaces 2026", name)
		assert.Equal(t, embedded.Years(), c.Years(), "%s: the other years stay", name)
	}

	_, err = loadCalendar(filepath.Join(dir, "missing.json"))
	assert.ErrorContains(t, err, "--calendar")
	bad := filepath.Join(t.TempDir(), "bad.json")
	require.NoError(t, os.WriteFile(bad, []byte(`{"year": 2026}`), 0o644))
	_, err = loadCalendar(bad)
	assert.Error(t, err, "a year file without its source is refused")
}
