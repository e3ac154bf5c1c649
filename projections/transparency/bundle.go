package transparency

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/transparency-dev/merkle/proof"
	"golang.org/x/mod/sumdb/note"

	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/eventstore"
)

// BundleFormat names the audit bundle's format and version.
const BundleFormat = "custody-audit-bundle/v1"

// Bundle is an audit bundle: events, each with its inclusion proof against one signed
// checkpoint, and the log's public key. VerifyBundle checks it with nothing else.
type Bundle struct {
	Format     string        `json:"format"`
	PublicKey  string        `json:"public_key"` // the log's verifier key (note format)
	Checkpoint string        `json:"checkpoint"` // the signed checkpoint note the proofs lead to
	Scope      Scope         `json:"scope"`
	Events     []BundleEvent `json:"events"`
	// Before and After are the leaves just outside a position range (absent at the log's
	// ends), so the range is shown complete at both edges.
	Before *Leaf `json:"before,omitempty"`
	After  *Leaf `json:"after,omitempty"`
	// Consistency proves the checkpoint extends earlier ones the auditor may hold.
	Consistency []ConsistencyProof `json:"consistency,omitempty"`
	// Head is the stream head of a document's or an application's stream in the checkpoint's
	// heads tree: the bundle's last event must be it, so no event of the stream came after it
	// (absent when the checkpoint was signed without heads).
	Head *HeadProof `json:"head,omitempty"`
}

// Scope is what a bundle claims to hold: every event of one document, of one application (the
// RAGS services' streams), or every event with a position in [From, To]. It names one of the
// three.
type Scope struct {
	Document    *uuid.UUID `json:"document,omitempty"`
	Application *uuid.UUID `json:"application,omitempty"`
	From        uint64     `json:"from,omitempty"`
	To          uint64     `json:"to,omitempty"`
}

// Validate reports a scope that names more than one of a document, an application and a
// range.
func (s Scope) Validate() error {
	n := 0
	for _, given := range []bool{s.Document != nil, s.Application != nil, s.From != 0 || s.To != 0} {
		if given {
			n++
		}
	}
	if n > 1 {
		return fmt.Errorf("%w: a bundle's scope is one of a document, an application or a position range, not %d of them", eventstore.ErrInvalid, n)
	}
	return nil
}

// Stream is the one stream a document's or an application's scope holds, and what it is
// ("document", "application"); ok is false for a range. Both are proved the same way: the
// stream from version 1 to its head at the checkpoint.
func (s Scope) Stream() (stream, kind string, ok bool) {
	switch {
	case s.Document != nil:
		return domain.DocumentStream(*s.Document), "document", true
	case s.Application != nil:
		return domain.ApplicationStream(*s.Application), "application", true
	}
	return "", "", false
}

// String names the scope in messages: "document ID", "application ID" or "positions F to T".
func (s Scope) String() string {
	switch {
	case s.Document != nil:
		return "document " + s.Document.String()
	case s.Application != nil:
		return "application " + s.Application.String()
	}
	return fmt.Sprintf("positions %d to %d", s.From, s.To)
}

// Leaf is a leaf's contents (no payload) with its inclusion proof.
type Leaf struct {
	Index    uint64    `json:"index"`
	Position uint64    `json:"position"`
	StreamID string    `json:"stream_id"`
	Version  uint64    `json:"version"`
	EventID  uuid.UUID `json:"event_id"`
	Hash     HexHash   `json:"hash"`
	Proof    [][]byte  `json:"proof"`
}

// BundleEvent is a whole stored event, its leaf index and its inclusion proof.
type BundleEvent struct {
	Index         uint64    `json:"index"`
	Position      uint64    `json:"position"`
	StreamID      string    `json:"stream_id"`
	Version       uint64    `json:"version"`
	EventID       uuid.UUID `json:"event_id"`
	Type          string    `json:"type"`
	SchemaVersion int       `json:"schema_version"`
	Data          []byte    `json:"data"`
	Metadata      []byte    `json:"metadata"`
	RecordedAt    time.Time `json:"recorded_at"`
	PrevHash      HexHash   `json:"prev_hash"`
	Hash          HexHash   `json:"hash"`
	Proof         [][]byte  `json:"proof"`
	// Redacted events carry no data or metadata (personal data the reader may not see): their
	// place in the log is proved, their content is not.
	Redacted bool `json:"redacted,omitempty"`
}

// Redact drops the event's data and metadata.
func (e *BundleEvent) Redact() { e.Data, e.Metadata, e.Redacted = nil, nil, true }

// ConsistencyProof proves that the tree of size From is a prefix of the checkpoint's tree.
type ConsistencyProof struct {
	From  uint64   `json:"from"`
	Proof [][]byte `json:"proof"`
}

func (e *BundleEvent) record() eventstore.Record {
	return eventstore.Record{StreamID: e.StreamID, Version: e.Version, Position: e.Position, EventID: e.EventID,
		Type: e.Type, SchemaVersion: e.SchemaVersion, Data: e.Data, Metadata: e.Metadata, RecordedAt: e.RecordedAt,
		PrevHash: eventstore.Hash(e.PrevHash), Hash: eventstore.Hash(e.Hash)}
}

func (f *Leaf) record() eventstore.Record {
	return eventstore.Record{StreamID: f.StreamID, Version: f.Version, Position: f.Position, EventID: f.EventID, Hash: eventstore.Hash(f.Hash)}
}

// ErrNotCheckpointed: part of the scope is newer than the latest checkpoint; export again
// after the next one.
var ErrNotCheckpointed = errors.New("transparency: not yet covered by a signed checkpoint")

// Export builds a bundle of the scope against the latest checkpoint (the newest whose stream
// heads are stored), with consistency proofs from each of the sizes in since. A range with
// To = 0 ends at the checkpoint. A document's or an application's bundle holds its stream's
// events up to the checkpoint and the stream's head there.
func Export(ctx context.Context, store eventstore.Store, l *Log, scope Scope, since ...uint64) (*Bundle, error) {
	if err := scope.Validate(); err != nil {
		return nil, fmt.Errorf("transparency: export: %w", err)
	}
	stream, kind, one := scope.Stream()
	cp, leaves, err := l.headsCheckpoint(ctx)
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("%w: the log has no checkpoint yet", ErrNotCheckpointed)
	}
	if err != nil {
		return nil, err
	}
	heads, err := noteHeads(cp.Note)
	if err != nil {
		return nil, err
	}
	if heads != nil && leaves == nil {
		return nil, fmt.Errorf("%w: the stream heads of the checkpoint of size %d are not stored", ErrNotCheckpointed, cp.Size)
	}
	var recs []eventstore.Record
	if one {
		if recs, err = store.ReadStream(ctx, stream, 1, 0); err != nil {
			return nil, fmt.Errorf("transparency: export: %w", err)
		}
	} else {
		if scope.To == 0 {
			scope.To = cp.Position
		}
		if scope.From == 0 || scope.From > scope.To {
			return nil, fmt.Errorf("transparency: export: %w: positions from %d to %d", eventstore.ErrInvalid, scope.From, scope.To)
		}
		if recs, err = readRange(ctx, store, scope.From, scope.To); err != nil {
			return nil, err
		}
	}
	b := &Bundle{Format: BundleFormat, PublicKey: cp.PublicKey, Checkpoint: string(cp.Note), Scope: scope}
	positions := make([]uint64, len(recs))
	for i := range recs {
		positions[i] = recs[i].Position
	}
	idx, err := l.Indexes(ctx, positions)
	if err != nil {
		return nil, err
	}
	for i := range recs {
		r := &recs[i]
		at, ok := idx[r.Position]
		if (!ok || at >= cp.Size) && one {
			if i == 0 {
				return nil, fmt.Errorf("%w: %s has no event in the checkpoint of size %d (it was created after it); export again after the next checkpoint",
					ErrNotCheckpointed, scope, cp.Size)
			}
			break // the stream as of the checkpoint: its head there proves where it ends
		}
		if !ok || at >= cp.Size {
			return nil, fmt.Errorf("%w: position %d (checkpoint size %d)", ErrNotCheckpointed, r.Position, cp.Size)
		}
		p, err := l.InclusionProof(ctx, at, cp.Size)
		if err != nil {
			return nil, err
		}
		b.Events = append(b.Events, BundleEvent{Index: at, Position: r.Position, StreamID: r.StreamID, Version: r.Version,
			EventID: r.EventID, Type: r.Type, SchemaVersion: r.SchemaVersion, Data: r.Data, Metadata: r.Metadata,
			RecordedAt: r.RecordedAt, PrevHash: HexHash(r.PrevHash), Hash: HexHash(r.Hash), Proof: p})
	}
	if one && heads != nil {
		if b.Head, err = l.proveHeadAt(ctx, store, stream, cp, leaves); err != nil {
			return nil, fmt.Errorf("transparency: export: the %s's head: %w", kind, err)
		}
	}
	if !one {
		if b.Before, b.After, err = edges(ctx, store, l, b.Events, scope, cp.Size); err != nil {
			return nil, err
		}
	}
	for _, from := range since {
		p, err := l.ConsistencyProof(ctx, from, cp.Size)
		if err != nil {
			return nil, err
		}
		b.Consistency = append(b.Consistency, ConsistencyProof{From: from, Proof: p})
	}
	return b, nil
}

func readRange(ctx context.Context, store eventstore.LogReader, from, to uint64) ([]eventstore.Record, error) {
	var out []eventstore.Record
	for after := from - 1; after < to; {
		page, err := store.ReadAll(ctx, after, eventstore.FollowPage)
		if err != nil {
			return nil, fmt.Errorf("transparency: export: %w", err)
		}
		for _, r := range page {
			if r.Position > to {
				return out, nil
			}
			out = append(out, r)
		}
		if len(page) < eventstore.FollowPage {
			break
		}
		after = page[len(page)-1].Position
	}
	return out, nil
}

// edges are the leaves just before and after a range's events in the tree of size.
func edges(ctx context.Context, store eventstore.LogReader, l *Log, evs []BundleEvent, scope Scope, size uint64) (before, after *Leaf, err error) {
	leafAt := func(position uint64) (*Leaf, error) {
		recs, err := store.ReadAll(ctx, position-1, 1)
		if err != nil || len(recs) == 0 || recs[0].Position != position {
			return nil, fmt.Errorf("transparency: export: the event at position %d: %w", position, err)
		}
		r := recs[0]
		at, err := l.Index(ctx, position)
		if err != nil {
			return nil, err
		}
		p, err := l.InclusionProof(ctx, at, size)
		if err != nil {
			return nil, err
		}
		return &Leaf{Index: at, Position: r.Position, StreamID: r.StreamID, Version: r.Version, EventID: r.EventID, Hash: HexHash(r.Hash), Proof: p}, nil
	}
	// The leaves' positions come from the tree's own index, which knows the neighbours.
	first, last := uint64(0), size // leaf indexes bounding the range, exclusive
	if len(evs) > 0 {
		first, last = evs[0].Index, evs[len(evs)-1].Index+1
	} else if first, err = l.firstIndexAfter(ctx, scope.To); err != nil {
		return nil, nil, err
	} else {
		first = min(first, size)
		last = first
	}
	if first > 0 {
		pos, err := l.positionOf(ctx, first-1)
		if err != nil {
			return nil, nil, err
		}
		if before, err = leafAt(pos); err != nil {
			return nil, nil, err
		}
	}
	if last < size {
		pos, err := l.positionOf(ctx, last)
		if err != nil {
			return nil, nil, err
		}
		if after, err = leafAt(pos); err != nil {
			return nil, nil, err
		}
	}
	return before, after, nil
}

// VerifyOptions are what the auditor brings besides the bundle.
type VerifyOptions struct {
	// PublicKey pins the log's key; nil trusts the bundle's own (and says so in the result).
	PublicKey note.Verifier
	// Earlier are signed checkpoints obtained before (from a witness); the bundle's checkpoint
	// must extend each of them.
	Earlier [][]byte
}

// Verified is what a bundle was shown to hold.
type Verified struct {
	Checkpoint   Checkpoint
	Events       int
	Redacted     int      // events whose content was withheld, so not checked
	KeyPinned    bool     // the key was given by the auditor, not taken from the bundle
	ExtendsSizes []uint64 // earlier checkpoints the bundle's checkpoint was shown to extend
	// HeadVersion is the version of a document's or an application's stream shown to be its
	// head at the checkpoint (the bundle is complete up to it); 0 when the checkpoint has no
	// heads line.
	HeadVersion uint64
}

// VerifyBundle checks a bundle offline: the checkpoint's signature, every event's chain hash
// and inclusion proof, that the events are the whole scope, and consistency with earlier
// checkpoints. The error lists every failure found.
func VerifyBundle(b *Bundle, opts VerifyOptions) (Verified, error) {
	var (
		out   Verified
		fails []error
	)
	fail := func(format string, args ...any) { fails = append(fails, fmt.Errorf(format, args...)) }
	if b.Format != BundleFormat {
		return out, fmt.Errorf("bundle: format %q, want %q", b.Format, BundleFormat)
	}
	if err := b.Scope.Validate(); err != nil {
		return out, fmt.Errorf("bundle: %w", err)
	}
	_, _, one := b.Scope.Stream()
	v := opts.PublicKey
	if v == nil {
		var err error
		if v, err = note.NewVerifier(b.PublicKey); err != nil {
			return out, fmt.Errorf("bundle: public key: %w", err)
		}
	} else {
		out.KeyPinned = true
	}
	cp, err := Open([]byte(b.Checkpoint), v)
	if err != nil {
		return out, fmt.Errorf("checkpoint: %w", err)
	}
	out.Checkpoint = cp
	included := func(what string, index uint64, r *eventstore.Record, p [][]byte) {
		if err := proof.VerifyInclusion(hasher, index, cp.Size, LeafHash(r), p, cp.Root); err != nil {
			fail("%s: inclusion proof at index %d does not lead to the checkpoint's root: %w", what, index, err)
		}
	}
	type tip struct {
		version uint64
		hash    eventstore.Hash
	}
	tips := map[string]tip{}
	for i := range b.Events {
		e := &b.Events[i]
		what := fmt.Sprintf("event at position %d (%s v%d)", e.Position, e.StreamID, e.Version)
		r := e.record()
		if e.Redacted {
			out.Redacted++
		} else if eventstore.ChainHash(r.PrevHash, &r) != r.Hash {
			fail("%s: its hash does not match its content", what)
		}
		included(what, e.Index, &r, e.Proof)
		if i > 0 {
			prev := &b.Events[i-1]
			if e.Position <= prev.Position || e.Index <= prev.Index {
				fail("%s: out of order after position %d", what, prev.Position)
			}
			if !one && e.Index != prev.Index+1 {
				fail("%s: leaves %d to %d are missing from the range", what, prev.Index+1, e.Index-1)
			}
		}
		t, seen := tips[e.StreamID]
		if seen && e.Version != t.version+1 {
			fail("%s: versions %d to %d of the stream are missing", what, t.version+1, e.Version-1)
		}
		if seen && e.Version == t.version+1 && r.PrevHash != t.hash {
			fail("%s: prev_hash is not the hash of version %d", what, t.version)
		}
		tips[e.StreamID] = tip{version: e.Version, hash: r.Hash}
	}
	out.Events = len(b.Events)
	verifyScope(b, cp, &out.HeadVersion, included, fail)
	for _, earlier := range opts.Earlier {
		e, err := Open(earlier, v)
		if err != nil {
			fail("earlier checkpoint: %w", err)
			continue
		}
		if err := consistent(b, cp, e); err != nil {
			fail("earlier checkpoint of size %d: %w", e.Size, err)
			continue
		}
		out.ExtendsSizes = append(out.ExtendsSizes, e.Size)
	}
	return out, errors.Join(fails...)
}

func verifyScope(b *Bundle, cp Checkpoint, headVersion *uint64, included func(string, uint64, *eventstore.Record, [][]byte), fail func(string, ...any)) {
	s := b.Scope
	if stream, kind, ok := s.Stream(); ok {
		if len(b.Events) == 0 {
			fail("%s: the bundle has no events", s)
			return
		}
		for _, e := range b.Events {
			if e.StreamID != stream {
				fail("event at position %d belongs to %s, not to %s", e.Position, e.StreamID, s)
			}
		}
		if first := b.Events[0]; first.Version != 1 || !eventstore.Hash(first.PrevHash).IsZero() {
			fail("%s: the bundle does not start at the stream's first event", s)
		}
		*headVersion = verifyHead(b, cp, stream, kind, fail)
		return
	}
	// A range: the leaves just outside it must lie outside [From, To], and the events inside.
	if b.Before != nil {
		r := b.Before.record()
		included("the leaf before the range", b.Before.Index, &r, b.Before.Proof)
		if r.Position >= s.From {
			fail("the leaf before the range is at position %d, inside it", r.Position)
		}
	}
	if b.After != nil {
		r := b.After.record()
		included("the leaf after the range", b.After.Index, &r, b.After.Proof)
		if r.Position <= s.To {
			fail("the leaf after the range is at position %d, inside it", r.Position)
		}
	}
	first, end := uint64(0), cp.Size // the leaf indexes the range must span
	if b.Before != nil {
		first = b.Before.Index + 1
	}
	if b.After != nil {
		end = b.After.Index
	}
	if end < first {
		fail("the leaves before and after the range overlap")
		return
	}
	switch n := uint64(len(b.Events)); {
	case n != end-first:
		fail("the range spans leaves %d to %d but the bundle has %d events", first, end, n)
	case n > 0 && b.Events[0].Index != first:
		fail("the range's first event is leaf %d, not %d", b.Events[0].Index, first)
	}
	for _, e := range b.Events {
		if e.Position < s.From || e.Position > s.To {
			fail("event at position %d is outside the range %d to %d", e.Position, s.From, s.To)
		}
	}
}

// verifyHead checks that the last event of a document's or an application's bundle (kind) is
// its stream's head in the checkpoint's heads tree, and returns the head's version (0 if not
// shown).
func verifyHead(b *Bundle, cp Checkpoint, stream, kind string, fail func(string, ...any)) uint64 {
	if cp.Heads == nil {
		return 0 // signed before the heads commitment: completeness unproven, not failed
	}
	h := b.Head
	if h == nil {
		fail("%s: the checkpoint commits to stream heads but the bundle carries no head of the %s's stream", b.Scope, kind)
		return 0
	}
	if h.StreamID != stream {
		fail("%s: the bundle's head is of stream %s, not %s", b.Scope, h.StreamID, stream)
		return 0
	}
	if err := VerifyHead(h, *cp.Heads); err != nil {
		fail("the head of %s (version %d): %w", stream, h.Version, err)
		return 0
	}
	last := &b.Events[len(b.Events)-1]
	r := last.record()
	if last.Version != h.Version || last.Index != h.Index || !bytes.Equal(LeafHash(&r), h.LeafHash) {
		fail("%s is incomplete: the bundle ends at version %d (leaf %d) but the stream's head at the checkpoint of size %d is version %d (leaf %d)",
			b.Scope, last.Version, last.Index, cp.Size, h.Version, h.Index)
		return 0
	}
	return h.Version
}

// consistent checks that the bundle's checkpoint cp extends the earlier checkpoint e.
func consistent(b *Bundle, cp, e Checkpoint) error {
	switch {
	case e.Size > cp.Size:
		return fmt.Errorf("it is newer than the bundle's checkpoint (size %d); export a newer bundle", cp.Size)
	case e.Size == cp.Size:
		if !slices.Equal(e.Root, cp.Root) {
			return errors.New("same size, different root: the log was rewritten")
		}
		return nil
	}
	for _, c := range b.Consistency {
		if c.From == e.Size {
			if err := proof.VerifyConsistency(hasher, e.Size, cp.Size, c.Proof, e.Root, cp.Root); err != nil {
				return fmt.Errorf("the bundle's checkpoint does not extend it (the log was rewritten): %w", err)
			}
			return nil
		}
	}
	return fmt.Errorf("the bundle has no consistency proof from size %d (export with --since %d)", e.Size, e.Size)
}

// HexHash is a chain hash written as hex in JSON.
type HexHash eventstore.Hash

// MarshalText writes the hash as hex.
func (h HexHash) MarshalText() ([]byte, error) { return []byte(eventstore.Hash(h).String()), nil }

// UnmarshalText reads a hex hash.
func (h *HexHash) UnmarshalText(b []byte) error {
	v, err := eventstore.ParseHash(string(b))
	*h = HexHash(v)
	return err
}
