package esdb

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	kdb "github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/eventstore"
)

// syntheticAll is a $all transaction log for the paging and filtering logic of ReadAll and
// Head (not a server: no appends, no concurrency). It answers reads the way the adapter
// expects the server to: forwards from an event's position including (inclusive) or not that
// event, backwards from a position with the events before it, and (strict) an error for a
// position that is not an event's.
type syntheticAll struct {
	events    []*kdb.ResolvedEvent
	inclusive bool
	strict    bool
	froms     []kdb.AllPosition
}

func (l *syntheticAll) read(_ context.Context, opts kdb.ReadAllOptions, n uint64, fn func(*kdb.ResolvedEvent) (bool, error)) error {
	l.froms = append(l.froms, opts.From)
	var page []*kdb.ResolvedEvent
	switch from := opts.From.(type) {
	case kdb.Start:
		page = l.events
	case kdb.End:
		if opts.Direction == kdb.Forwards {
			return nil
		}
		page = l.events
	case kdb.Position:
		i := l.index(from)
		if i < 0 && l.strict && from.Commit <= l.last() {
			return errors.New("Unexpected error: invalid position") // what the server says, roughly
		}
		for _, re := range l.events {
			p := re.Event.Position
			switch {
			case opts.Direction == kdb.Backwards && posAfter(from, p):
				page = append(page, re)
			case opts.Direction == kdb.Forwards && (posAfter(p, from) || (l.inclusive && p == from)):
				page = append(page, re)
			}
		}
	}
	if opts.Direction == kdb.Backwards {
		rev := make([]*kdb.ResolvedEvent, len(page))
		for i, re := range page {
			rev[len(page)-1-i] = re
		}
		page = rev
	}
	for i, re := range page {
		if uint64(i) >= n {
			break
		}
		more, err := fn(re)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

func (l *syntheticAll) index(p kdb.Position) int {
	for i, re := range l.events {
		if re.Event.Position == p {
			return i
		}
	}
	return -1
}

func (l *syntheticAll) last() uint64 { return l.events[len(l.events)-1].Event.Position.Commit }

// add appends a raw event at the next position (gaps vary, as record sizes do).
func (l *syntheticAll) add(stream, typ string, meta []byte, id uuid.UUID) uint64 {
	pos := uint64(100)
	if len(l.events) > 0 {
		pos = l.last() + 37 + uint64(len(l.events)%5)*11
	}
	c := pos
	l.events = append(l.events, &kdb.ResolvedEvent{
		Event: &kdb.RecordedEvent{EventID: id, EventType: typ, StreamID: stream, Data: []byte(`{}`),
			UserMetadata: meta, Position: kdb.Position{Commit: pos, Prepare: pos}},
		Commit: &c,
	})
	return pos
}

// addOurs appends a ledger event of port stream id at version v.
func (l *syntheticAll) addOurs(t *testing.T, ns, id string, v uint64) eventstore.Record {
	t.Helper()
	r := eventstore.Record{StreamID: id, Version: v, EventID: uuid.New(), Type: "Tested", SchemaVersion: 1,
		Data: []byte(`{}`), RecordedAt: time.Now()}
	eventstore.Seal(eventstore.Hash{}, &r)
	ev, err := encodeEvent(&r, "b")
	require.NoError(t, err)
	r.Position = l.add(ns+id, ev.EventType, ev.Metadata, r.EventID)
	l.events[len(l.events)-1].Event.EventNumber = v - 1
	return r
}

func newSynthetic(t *testing.T) (*syntheticAll, []eventstore.Record) {
	l := &syntheticAll{inclusive: true, strict: true}
	var ours []eventstore.Record
	l.add("$stats-127.0.0.1:2113", "$statsCollected", nil, uuid.New())
	for i := range 9 {
		doc := fmt.Sprintf("doc-%d", i%2)
		l.add("custody-eventid-t1-"+uuid.NewString(), bindingType, nil, uuid.New())
		ours = append(ours, l.addOurs(t, "t1-", doc, uint64(i/2+1)))
		if i%3 == 0 {
			l.addOurs(t, "t2-", doc, 1) // another namespace on the same server
			l.add("invoice-1", "Invoiced", nil, uuid.New())
			l.add("$$t1-doc-0", "$metadata", nil, uuid.New())
		}
	}
	l.add("$stats-127.0.0.1:2113", "$statsCollected", nil, uuid.New())
	return l, ours
}

func syntheticStore(t *testing.T, l *syntheticAll, page int, opts ...Option) *Store {
	t.Helper()
	cfg, err := newConfig(append([]Option{WithNamespace("t1-"), WithCategories()}, opts...))
	require.NoError(t, err)
	return &Store{cfg: cfg, allPage: page, readAll: l.read}
}

func positions(recs []eventstore.Record) []uint64 {
	out := make([]uint64, len(recs))
	for i, r := range recs {
		out[i] = r.Position
	}
	return out
}

func TestReadAllPaging(t *testing.T) {
	ctx := context.Background()
	for _, variant := range []struct {
		name              string
		inclusive, strict bool
		page              int
	}{
		{"inclusive reads, page 2", true, true, 2},
		{"inclusive reads, page 3", true, true, 3},
		{"exclusive reads, page 2", false, true, 2},
		{"lenient positions, page 5", true, false, 5},
		{"one big page", true, true, 512},
	} {
		t.Run(variant.name, func(t *testing.T) {
			l, ours := newSynthetic(t)
			l.inclusive, l.strict = variant.inclusive, variant.strict
			s := syntheticStore(t, l, variant.page)

			got, err := s.ReadAll(ctx, 0, 0)
			require.NoError(t, err)
			require.Equal(t, positions(ours), positions(got), "only the namespace's events, in order")
			for i := range ours {
				assert.Equal(t, ours[i].EventID, got[i].EventID)
				assert.Equal(t, ours[i].StreamID, got[i].StreamID, "the namespace is not part of the port's stream id")
				assert.Equal(t, ours[i].Version, got[i].Version)
				assert.Equal(t, ours[i].Hash, got[i].Hash)
			}

			for i := range ours {
				for _, limit := range []int{0, 1, 2, 4} {
					got, err := s.ReadAll(ctx, ours[i].Position, limit)
					require.NoError(t, err)
					want := ours[i+1:]
					if limit > 0 && len(want) > limit {
						want = want[:limit]
					}
					assert.Equal(t, positions(want), positions(got), "after #%d limit %d", i, limit)
				}
			}

			got, err = s.ReadAll(ctx, ours[2].Position+1, 3)
			require.NoError(t, err, "a position between records is read from the origin")
			assert.Equal(t, positions(ours[3:6]), positions(got))

			got, err = s.ReadAll(ctx, l.last()+1000, 5)
			require.NoError(t, err, "past the head is not an error")
			assert.Empty(t, got)

			head, err := s.Head(ctx)
			require.NoError(t, err)
			assert.Equal(t, ours[len(ours)-1].Position, head, "Head skips the trailing foreign events")
		})
	}
}

func TestHeadAndOrigin(t *testing.T) {
	ctx := context.Background()
	l, ours := newSynthetic(t)

	empty := syntheticStore(t, l, 2)
	empty.cfg.namespace, empty.cfg.categories = "t9-", nil
	head, err := empty.Head(ctx)
	require.NoError(t, err)
	assert.Zero(t, head, "a namespace without events has head 0")

	// A log start after every event of ours: nothing before it is read or counted.
	start := l.events[len(l.events)-1].Event.Position
	s := syntheticStore(t, l, 2, withLogStart(start))
	head, err = s.Head(ctx)
	require.NoError(t, err)
	assert.Zero(t, head)
	l.froms = nil
	got, err := s.ReadAll(ctx, 0, 0)
	require.NoError(t, err)
	assert.Empty(t, got)
	require.NotEmpty(t, l.froms)
	assert.Equal(t, kdb.AllPosition(start), l.froms[0], "reads begin at the log start")
	got, err = s.ReadAll(ctx, 1000, 0)
	require.NoError(t, err, "a position before the log start reads from the log start")
	assert.Empty(t, got)

	// A log start in the middle.
	mid := syntheticStore(t, l, 3, withLogStart(kdb.Position{Commit: ours[4].Position, Prepare: ours[4].Position}))
	got, err = mid.ReadAll(ctx, 0, 0)
	require.NoError(t, err)
	assert.Equal(t, positions(ours[4:]), positions(got))
}

func TestReadAllRefusesForeignEventsInOurStreams(t *testing.T) {
	l, _ := newSynthetic(t)
	l.add("t1-doc-0", "Tested", nil, uuid.New()) // written by something else, without our metadata
	s := syntheticStore(t, l, 4)
	_, err := s.ReadAll(context.Background(), 0, 0)
	assert.ErrorIs(t, err, errForeign)
}
