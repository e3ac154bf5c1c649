package domain

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCustodyIntervalsPostomatJourney(t *testing.T) {
	evs, _ := run(t, uuid.New(), cat(postomatToCell, steps(time.Hour, CollectedByRecipient)))
	ivs := CustodyIntervals(evs)
	var holders []string
	for _, iv := range ivs {
		holders = append(holders, string(iv.Holder.Org)+"/"+iv.Holder.Unit)
	}
	assert.Equal(t, []string{"rags/RAGS-ALA-01", "gk/GK-ALA-CR1", "gk/GK-ALA-ACC", "gk/GK-ALA-CR1",
		"kaspi/KSP-ALA-IN1", "kaspi/KSP-ALA-CR1", "kaspi/PM-ALA-0042", "recipient/"}, holders)
	assert.Nil(t, ivs[len(ivs)-1].To, "the recipient keeps it")
	assert.Equal(t, HandedToCourier, ivs[3].OpenedType, "P.17")
	assert.Equal(t, AcceptedAtKaspiIntake, ivs[3].ClosedType, "P.18")

	at := ivs[4].From.Add(time.Minute)
	iv, ok := HolderAt(ivs, at)
	require.True(t, ok)
	assert.Equal(t, hKIntake, iv.Holder)
	_, ok = HolderAt(ivs, ivs[0].From.Add(-time.Minute))
	assert.False(t, ok, "nobody held it before it was issued")
}

func TestLiability(t *testing.T) {
	cases := []struct {
		name       string
		steps      []step
		mutate     func([]Event)
		kinds      []ChargeKind
		orgs       []Org
		commission bool
		source     string
	}{
		{name: "P.22 lost while at Kaspi intake: Kaspi answers",
			steps: cat(postomatToCell[:10], steps(time.Hour, DocumentLost)),
			kinds: []ChargeKind{ChargeLoss}, orgs: []Org{OrgKaspi}, source: "P.22, P.24"},
		{name: "P.23 lost while with the GK courier: GK answers",
			steps: cat(postomatToCell[:4], steps(time.Hour, DocumentLost)),
			kinds: []ChargeKind{ChargeLoss}, orgs: []Org{OrgGK}, source: "P.23, P.24"},
		{name: "P.36 loss reported by another party goes to the commission",
			steps: cat(postomatToCell[:10], steps(time.Hour, DocumentLost)),
			mutate: func(evs []Event) {
				evs[len(evs)-1].Actor = actorOf(RoleGKAccumulation, hGKAcc)
			},
			kinds: []ChargeKind{ChargeLoss}, orgs: []Org{OrgKaspi}, commission: true, source: "P.22, P.24"},
		{name: "P.36 report naming another last holder goes to the commission",
			steps: cat(postomatToCell[:10], steps(time.Hour, DocumentLost)),
			mutate: func(evs []Event) {
				evs[len(evs)-1].Payload.(*DocumentLostData).LastSeen = hGKCour
			},
			kinds: []ChargeKind{ChargeLoss}, orgs: []Org{OrgKaspi}, commission: true, source: "P.22, P.24"},
		{name: "P.18 a missing registry line is charged to the giving side",
			steps: cat(postomatToCell[:9], steps(time.Hour, IntakeDiscrepancy)),
			mutate: func(evs []Event) {
				evs[len(evs)-1].Payload.(*IntakeDiscrepancyData).Kind = DiscrepancyMissing
			},
			kinds: []ChargeKind{ChargeMissingLine}, orgs: []Org{OrgGK}, source: "P.18"},
		{name: "P.18 a damaged line is no charge",
			steps: cat(postomatToCell[:9], steps(time.Hour, IntakeDiscrepancy))},
		{name: "P.11 a missed deadline is charged to the organisation of the rule",
			steps: cat(postomatToCell[:10], steps(time.Hour, DeadlineMissed)),
			kinds: []ChargeKind{ChargeDeadlineMissed}, orgs: []Org{OrgKaspi}, source: "P.11"},
		{name: "a collected document carries no charge",
			steps: cat(postomatToCell, steps(time.Hour, CollectedByRecipient))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			evs, _ := run(t, uuid.New(), c.steps)
			if c.mutate != nil {
				c.mutate(evs)
			}
			charges := Liability(evs)
			require.Len(t, charges, len(c.kinds))
			for i, ch := range charges {
				assert.Equal(t, c.kinds[i], ch.Kind)
				assert.Equal(t, c.orgs[i], ch.Org)
				assert.Equal(t, c.commission, ch.ForCommission)
				assert.Equal(t, c.source, ch.Source)
				assert.NotEmpty(t, ch.Reasons)
				assert.Contains(t, ch.EventIDs, evs[len(evs)-1].ID, "cites the event")
			}
		})
	}
}

func TestLiabilityCorrected(t *testing.T) {
	evs, _ := run(t, uuid.New(), cat(postomatToCell[:10], steps(time.Hour, DocumentLost, EventCorrected)))
	lost := evs[len(evs)-2]
	evs[len(evs)-1].Payload.(*EventCorrectedData).Corrects = lost.ID
	charges := Liability(evs)
	require.Len(t, charges, 1)
	require.NotNil(t, charges[0].CorrectedBy)
	assert.Equal(t, evs[len(evs)-1].ID, *charges[0].CorrectedBy)
}

// Property: any sequence drawn from the events Decide accepts folds to a valid state;
// custody intervals never overlap nor leave a gap; exactly one holder exists from issue on.
func TestPropertyRandomJourneys(t *testing.T) {
	for seed := uint64(0); seed < 400; seed++ {
		rng := rand.New(rand.NewPCG(seed, 17))
		doc := uuid.New()
		s := State{DocumentID: doc, Status: StatusNew}
		at := t0
		var evs []Event
		for n := 0; n < 40; n++ {
			// jump a random while: minutes to weeks, so time-bound rules fire both ways
			at = at.Add(time.Duration(rng.IntN(4*24*60)) * time.Minute)
			var ok []Event
			for _, et := range EventTypes {
				e, a := propose(s, et, at)
				if Decide(s, a, e, at) == nil {
					ok = append(ok, e)
				}
			}
			if len(ok) == 0 {
				break
			}
			e := ok[rng.IntN(len(ok))]
			s = Evolve(s, e)
			evs = append(evs, e)
			if s.Status.Terminal() && rng.IntN(3) == 0 {
				break
			}
		}
		require.Equal(t, Fold(doc, evs), s, "seed %d: fold equals step-by-step evolve", seed)
		assert.NotEqual(t, StatusNew, s.Status)
		ivs := CustodyIntervals(evs)
		// One fold gives what the separate functions give (issue 9 §4).
		r := ReplayStream(doc, evs)
		require.Equal(t, s, r.State, "seed %d", seed)
		require.Equal(t, ivs, r.Intervals, "seed %d", seed)
		require.Equal(t, Liability(evs), r.Charges, "seed %d", seed)
		for i := range evs {
			require.Equal(t, Fold(doc, evs[:i]), r.Before[i], "seed %d: the state event %d met", seed, i)
			require.Equal(t, Fold(doc, evs[:i+1]), r.After(i), "seed %d", seed)
			require.Equal(t, slices.Contains(Allowed(r.Before[i].Status), evs[i].Type), r.Fitted(i, evs[i].Type))
		}
		if s.Status != StatusRequested {
			require.NotNil(t, s.Holder, "seed %d: a holder exists once issued", seed)
			require.NotEmpty(t, ivs)
			assert.Equal(t, *s.Holder, ivs[len(ivs)-1].Holder, "seed %d: the open interval is the holder", seed)
		}
		for i, iv := range ivs {
			if i < len(ivs)-1 {
				require.NotNil(t, iv.To, "seed %d: only the last interval is open", seed)
				assert.True(t, iv.To.Equal(ivs[i+1].From), "seed %d: no gap, no overlap", seed)
				assert.False(t, iv.To.Before(iv.From))
			} else {
				assert.Nil(t, iv.To)
			}
		}
		for _, c := range Liability(evs) {
			assert.NotEmpty(t, c.Org, "seed %d: every charge names an organisation", seed)
		}
	}
}
