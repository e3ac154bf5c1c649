package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/commands"
	"github.com/custody-ledger/custody/domain/services"
	"github.com/custody-ledger/custody/eventstore/memory"
)

// The operator's files reach the command service, whose catalogue and office hours the read
// models and the deadline watch take (openProjections): a new service and a unit's own hours
// are data, given to serve with --catalogue and --office-hours.
func TestServeFlagsForServicesAndOfficeHours(t *testing.T) {
	dir := t.TempDir()
	cat := filepath.Join(dir, "x1.json")
	require.NoError(t, os.WriteFile(cat, []byte(`{"services": [{"code": "marriage_copy", "aliases": ["X1"],
	  "name": "Repeated marriage certificate", "name_ru": "Повторное свидетельство о браке", "provider": "rags",
	  "act": "test act", "source": "X1", "steps": [{"n": 1, "event": "ApplicationRegistered", "actor": "provider_office",
	  "what": "register", "term": {"n": 10, "unit": "minutes", "source": "X1 §5.1"}}]}]}`), 0o600))
	hours := filepath.Join(dir, "hours.json")
	require.NoError(t, os.WriteFile(hours, []byte(`{"default": {"open": "09:00", "close": "18:00"},
	  "units": {"RAGS-ALA-01": {"open": "10:00", "close": "17:00"}}}`), 0o600))

	opts, err := serviceOptions(cat)
	require.NoError(t, err)
	opts, err = withOfficeHours(opts, hours)
	require.NoError(t, err)
	svc := commands.New(memory.New(), opts...)
	_, ok := svc.Catalogue().ApplicationLookup()("X1")
	assert.True(t, ok, "the operator's service is known")
	assert.Equal(t, services.Hours{Open: "10:00", Close: "17:00"}, svc.OfficeHours().For("RAGS-ALA-01"))
	assert.Equal(t, services.DefaultHours, commands.New(memory.New()).OfficeHours(), "default Mon–Fri 09:00–18:00")

	require.NoError(t, os.WriteFile(hours, []byte(`{"default": {"open": "18:00", "close": "09:00"}}`), 0o600))
	_, err = withOfficeHours(nil, hours)
	assert.ErrorContains(t, err, "--office-hours")
}
