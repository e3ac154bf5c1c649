package commands_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/commands/demo"
	"github.com/custody-ledger/custody/domain"
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
