package commands_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/commands"
	"github.com/custody-ledger/custody/commands/demo"
	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/domain/catalogue"
	"github.com/custody-ledger/custody/eventstore/memory"
)

func TestP26DuplicateOfNamesALostAndCancelledDocument(t *testing.T) {
	svc, _ := newService(t)
	ctx := context.Background()
	at := time.Date(2026, 4, 13, 9, 0, 0, 0, domain.Almaty)
	lost, _ := journey(t, svc, 1, at, domain.DeliveryRequested, domain.DocumentIssued, domain.CollectedFromRags, domain.DocumentLost,
		domain.LossActRegistered, domain.ApplicationCancelled, domain.DuplicateRequested)
	inTransit, _ := journey(t, svc, 2, at, domain.DeliveryRequested, domain.DocumentIssued, domain.CollectedFromRags)

	repeat := func(of uuid.UUID, doc uuid.UUID) error {
		e, a := demo.Next(c, domain.State{DocumentID: doc, Status: domain.StatusNew}, 3, domain.DocumentIssued, at.Add(24*time.Hour))
		e.Payload.(*domain.DocumentIssuedData).DuplicateOf = &of
		_, err := svc.AppendEvent(ctx, a, e, nil)
		return err
	}
	for name, of := range map[string]uuid.UUID{"P.26 names a document still in transit": inTransit,
		"P.26 names no document": uuid.New()} {
		err := repeat(of, demo.DuplicateOf(lost))
		var tr *domain.TransitionError
		require.ErrorAs(t, err, &tr, name) // 422
		assert.Contains(t, tr.Reason, "P.26", name)
	}
	var tr *domain.TransitionError
	require.ErrorAs(t, repeat(lost, uuid.New()), &tr, "P.26 not the duplicate that was requested")
	require.NoError(t, repeat(lost, demo.DuplicateOf(lost)), "P.26 the requested duplicate of a lost and cancelled document")
}

func TestOrderP6PilotScope(t *testing.T) {
	ctx := context.Background()
	clock := time.Date(2026, 12, 31, 23, 0, 0, 0, domain.Almaty)
	st := memory.New()
	t.Cleanup(func() { _ = st.Close() })
	svc := commands.New(st, commands.WithClock(func() time.Time { return clock }))
	request := func(n int, at time.Time, code string) (uuid.UUID, error) {
		clock = at
		s := domain.State{DocumentID: uuid.NewSHA1(uuid.NameSpaceOID, []byte{byte(n)}), Status: domain.StatusNew}
		e, a := demo.Next(c, s, n, domain.DeliveryRequested, at)
		if code != "" {
			e.Payload.(*domain.DeliveryRequestedData).ServiceCode = code
		}
		_, err := svc.AppendEvent(ctx, a, e, nil)
		return s.DocumentID, err
	}
	last := time.Date(2026, 12, 31, 23, 59, 0, 0, domain.Almaty)
	doc, err := request(1, last, "")
	require.NoError(t, err, "order p.6: in force until 31 December 2026 inclusive")

	_, err = request(2, time.Date(2027, 1, 1, 0, 0, 0, 0, domain.Almaty), "")
	var tr *domain.TransitionError
	require.ErrorAs(t, err, &tr, "order p.6: a delivery requested after the pilot's end is 422")
	assert.Contains(t, tr.Reason, "No 35/НҚ", "names the order")
	assert.Contains(t, tr.Reason, "31.12.2026")
	assert.Contains(t, tr.Reason, "01.01.2027")

	_, err = request(3, last, "death_registration")
	require.ErrorAs(t, err, &tr, "order p.6: a service the pilot does not cover is 422")
	assert.Contains(t, tr.Reason, `"death_registration"`, "names the code")
	assert.Contains(t, tr.Reason, "birth_registration.postomat")

	// A document already in the ledger finishes its journey after the end date.
	clock = time.Date(2027, 1, 4, 10, 0, 0, 0, domain.Almaty)
	e, a := demo.Next(c, domain.State{DocumentID: doc, Status: domain.StatusRequested, Version: 1}, 1, domain.DocumentIssued, clock)
	_, err = svc.AppendEvent(ctx, a, e, nil)
	require.NoError(t, err, "order p.6: documents already requested are still delivered")
}

func TestOrderP6ScopeFromTheData(t *testing.T) {
	// An extension of the pilot is a data change: an operator's catalogue file.
	dir := t.TempDir()
	svcData, ok := catalogue.Default().Lookup("birth_registration.postomat")
	require.True(t, ok)
	svcData.ValidUntil = "2027-06-30"
	b, err := json.Marshal(map[string]any{"services": []catalogue.Service{svcData}})
	require.NoError(t, err)
	path := filepath.Join(dir, "pilot.json")
	require.NoError(t, os.WriteFile(path, b, 0o600))
	extended, err := catalogue.Default().LoadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "2026-12-31", catalogue.Default().Pilot().Until["birth_registration.postomat"], "the embedded data")

	at := time.Date(2027, 3, 1, 10, 0, 0, 0, domain.Almaty)
	st := memory.New()
	t.Cleanup(func() { _ = st.Close() })
	e, a := demo.Next(c, domain.State{DocumentID: uuid.New(), Status: domain.StatusNew}, 1, domain.DeliveryRequested, at)
	_, err = commands.New(st, commands.WithClock(func() time.Time { return at })).AppendEvent(context.Background(), a, e, nil)
	var tr *domain.TransitionError
	require.ErrorAs(t, err, &tr, "order p.6: the embedded pilot ended")
	_, err = commands.New(st, commands.WithClock(func() time.Time { return at }), commands.WithPilot(extended.Pilot())).
		AppendEvent(context.Background(), a, e, nil)
	require.NoError(t, err, "order p.6: extended by the data file")
}
