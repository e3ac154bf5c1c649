package commands_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/commands"
	"github.com/custody-ledger/custody/commands/demo"
	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/eventstore"
)

// Two acceptances of one registry race (issue 10 §8), as the hand-overs of
// TestRegistryStepRaces: the loser gets a second acceptance's refusal (state and allowed), or
// the winner's answer when it sent the same request; never a duplicate conflict naming an
// event id the server derived.
func TestRegistryAcceptanceRaces(t *testing.T) {
	eachStore(t, func(t *testing.T, st eventstore.Store) {
		ctx := context.Background()
		winner := serviceOn(st)
		t0 := now.Add(-72 * time.Hour)
		acc := demo.ActorOf(domain.RoleGKAccumulation, c.GKAccumulation)
		intake := demo.ActorOf(domain.RoleKaspiIntake, c.KaspiIntake)
		for round, same := range []bool{false, true} {
			var docs []uuid.UUID
			for n := range 3 {
				d, _ := journey(t, winner, 70+10*round+n, t0, toPacked...)
				docs = append(docs, d)
			}
			formed, err := winner.FormRegistry(ctx, acc, commands.RegistryForm{EventID: uuid.New(), Kind: domain.RegistryDispatch,
				FromUnit: c.GKAccumulation.Unit, ToUnit: c.KaspiIntake.Unit, DocumentIDs: docs, OccurredAt: t0.Add(8 * time.Hour)})
			require.NoError(t, err)
			_, err = winner.HandOverRegistry(ctx, acc, commands.Handover{EventID: uuid.New(), RegistryID: formed.RegistryID,
				Courier: c.GKCourier, OccurredAt: t0.Add(9 * time.Hour)})
			require.NoError(t, err)
			a := commands.Acceptance{EventID: uuid.New(), RegistryID: formed.RegistryID, Accepted: docs[:2], Missing: docs[2:],
				OccurredAt: t0.Add(20 * time.Hour)}
			var won commands.RegistryResult
			loser := serviceOn(&gated{Store: st, before: func() {
				won, err = winner.AcceptRegistry(ctx, intake, a)
				require.NoError(t, err)
			}})
			mine := a
			if !same {
				mine.EventID = uuid.New()
				mine.Accepted, mine.Missing = docs, nil // another count of the same envelopes
			}
			got, err := loser.AcceptRegistry(ctx, intake, mine)
			if same {
				require.NoError(t, err)
				assert.Equal(t, won, got, "the same request gets the winner's answer")
				continue
			}
			var se *domain.StepError
			require.ErrorAs(t, err, &se, "a second acceptance is refused as such")
			assert.Equal(t, "accepted", se.State)
			assert.NotErrorIs(t, err, eventstore.ErrDuplicateConflict)
		}
	})
}
