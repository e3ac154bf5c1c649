package esdb

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	kdb "github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/custody-ledger/custody/eventstore"
)

// envelopeFormat marks event metadata written by this adapter.
const envelopeFormat = 1

// recordedAtLayout keeps all six fractional digits so the text is fixed-width and exact.
const recordedAtLayout = "2006-01-02T15:04:05.000000Z07:00"

// envelope is the ESDB event metadata (the "custom metadata" bytes) of a ledger event: every
// field of eventstore.Record that ESDB has no place for. The event's own metadata travels
// inside it, as JSON when it is compact JSON (readable in the server's UI), else base64.
type envelope struct {
	Format        int             `json:"custody"`
	SchemaVersion int             `json:"schema_version"`
	RecordedAt    string          `json:"recorded_at"`
	PrevHash      string          `json:"prev_hash"`
	Hash          string          `json:"hash"`
	Batch         string          `json:"batch"`
	Meta          json.RawMessage `json:"meta,omitempty"`
	MetaB64       []byte          `json:"meta_b64,omitempty"`
}

// errForeign marks an event under the ledger's prefixes that this adapter did not write.
var errForeign = errors.New("esdb: event without custody metadata (not written by this adapter)")

// encodeEvent turns a sealed record into the event sent to the server.
func encodeEvent(r *eventstore.Record, batch string) (kdb.EventData, error) {
	env := envelope{
		Format:        envelopeFormat,
		SchemaVersion: r.SchemaVersion,
		RecordedAt:    r.RecordedAt.UTC().Format(recordedAtLayout),
		PrevHash:      r.PrevHash.String(),
		Hash:          r.Hash.String(),
		Batch:         batch,
	}
	if len(r.Metadata) > 0 {
		if isCompactJSON(r.Metadata) {
			env.Meta = r.Metadata
		} else {
			env.MetaB64 = r.Metadata
		}
	}
	meta, err := marshalEnvelope(&env)
	if err != nil {
		return kdb.EventData{}, err
	}
	// The raw-JSON form must give back the exact bytes; if anything was re-escaped, use base64.
	if env.Meta != nil {
		if back, derr := decodeEnvelope(meta); derr != nil || !bytes.Equal(back.metadata(), r.Metadata) {
			env.Meta, env.MetaB64 = nil, r.Metadata
			if meta, err = marshalEnvelope(&env); err != nil {
				return kdb.EventData{}, err
			}
		}
	}
	ct := kdb.ContentTypeBinary
	if len(r.Data) > 0 && json.Valid(r.Data) {
		ct = kdb.ContentTypeJson // the server stores the bytes as given either way
	}
	return kdb.EventData{EventID: r.EventID, EventType: r.Type, ContentType: ct, Data: r.Data, Metadata: meta}, nil
}

func marshalEnvelope(env *envelope) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // keep raw metadata as given
	if err := enc.Encode(env); err != nil {
		return nil, fmt.Errorf("esdb: encode event metadata: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func isCompactJSON(b []byte) bool {
	if !json.Valid(b) {
		return false
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return false
	}
	return bytes.Equal(buf.Bytes(), b)
}

func decodeEnvelope(b []byte) (*envelope, error) {
	if len(b) == 0 {
		return nil, errForeign
	}
	var env envelope
	if err := json.Unmarshal(b, &env); err != nil || env.Format == 0 {
		return nil, errForeign
	}
	if env.Format != envelopeFormat {
		return nil, fmt.Errorf("esdb: event metadata format %d is newer than this adapter (%d)", env.Format, envelopeFormat)
	}
	return &env, nil
}

func (env *envelope) metadata() []byte {
	switch {
	case len(env.Meta) > 0:
		return []byte(env.Meta)
	case len(env.MetaB64) > 0:
		return env.MetaB64
	}
	return nil
}

// stored is a decoded event with the request digest it was written under.
type stored struct {
	rec   eventstore.Record
	batch string
}

// decodeEvent maps a server event to a Record. streamID is the port's stream id (namespace
// removed); position is the event's commit position.
func decodeEvent(ev *kdb.RecordedEvent, streamID string, position uint64) (stored, error) {
	env, err := decodeEnvelope(ev.UserMetadata)
	if err != nil {
		return stored{}, fmt.Errorf("%s@%d (%s): %w", ev.StreamID, ev.EventNumber, ev.EventID, err)
	}
	at, err := time.Parse(recordedAtLayout, env.RecordedAt)
	if err != nil {
		return stored{}, fmt.Errorf("esdb: %s@%d: recorded_at %q: %w", ev.StreamID, ev.EventNumber, env.RecordedAt, err)
	}
	prev, err := eventstore.ParseHash(env.PrevHash)
	if err != nil {
		return stored{}, fmt.Errorf("esdb: %s@%d: prev_hash: %w", ev.StreamID, ev.EventNumber, err)
	}
	hash, err := eventstore.ParseHash(env.Hash)
	if err != nil {
		return stored{}, fmt.Errorf("esdb: %s@%d: hash: %w", ev.StreamID, ev.EventNumber, err)
	}
	var data []byte
	if len(ev.Data) > 0 {
		data = ev.Data
	}
	return stored{
		rec: eventstore.Record{
			StreamID:      streamID,
			Version:       versionOf(ev.EventNumber),
			Position:      position,
			EventID:       ev.EventID,
			Type:          ev.EventType,
			SchemaVersion: env.SchemaVersion,
			Data:          data,
			Metadata:      env.metadata(),
			RecordedAt:    at.UTC(),
			PrevHash:      prev,
			Hash:          hash,
		},
		batch: env.Batch,
	}, nil
}

// noPosition is what the server sends for an event whose $all position it does not know
// (stream reads on servers before 22.6, events of explicit transactions).
const noPosition = math.MaxUint64

// eventPosition is the commit position of a read event: the global position of a Record. On
// KurrentDB every event appended without an explicit transaction has its own commit position
// (equal to its prepare position), so positions are unique and increase in commit order.
func eventPosition(re *kdb.ResolvedEvent) (uint64, bool) {
	if re.Commit != nil && *re.Commit != noPosition {
		return *re.Commit, true
	}
	if ev := re.OriginalEvent(); ev != nil && ev.Position.Commit != noPosition {
		return ev.Position.Commit, true
	}
	return 0, false
}

// allPos is the full $all position of a read event, used as a read cursor.
func allPos(re *kdb.ResolvedEvent) kdb.Position {
	ev := re.OriginalEvent()
	p := ev.Position
	if re.Commit != nil && *re.Commit != noPosition {
		p.Commit = *re.Commit
	}
	return p
}

// posAfter reports whether a comes strictly after b in $all order.
func posAfter(a, b kdb.Position) bool {
	if a.Commit != b.Commit {
		return a.Commit > b.Commit
	}
	return a.Prepare > b.Prepare
}

// versionOf maps a 0-based ESDB stream revision to our 1-based stream version.
func versionOf(revision uint64) uint64 { return revision + 1 }

// expectedRevision maps an expected version onto the server's. The adapter itself always
// appends with the exact revision of the tail it read (the hash chain needs the previous event),
// so this mapping documents the correspondence and serves callers of the raw client.
func expectedRevision(v eventstore.ExpectedVersion) (kdb.ExpectedRevision, error) {
	switch {
	case v == eventstore.Any:
		return kdb.Any{}, nil
	case v == eventstore.StreamExists:
		return kdb.StreamExists{}, nil
	case v == eventstore.NoStream:
		return kdb.NoStream{}, nil
	case v > 0:
		return kdb.Revision(uint64(v) - 1), nil
	}
	return nil, fmt.Errorf("%w: expected version %d", eventstore.ErrInvalid, int64(v))
}

// revisionAt is the exact expected revision of a stream at version v.
func revisionAt(v uint64) kdb.ExpectedRevision {
	if v == 0 {
		return kdb.NoStream{}
	}
	return kdb.Revision(v - 1)
}

// streamFrom maps ReadStream's from (a version, 0 and 1 both meaning the first) to a revision.
func streamFrom(from uint64) kdb.StreamPosition {
	if from <= 1 {
		return kdb.Start{}
	}
	return kdb.Revision(from - 1)
}

// readCount maps a port limit (<= 0: no limit) to a read count.
func readCount(limit int) uint64 {
	if limit <= 0 {
		return math.MaxUint64
	}
	return uint64(limit)
}

// batchDigest identifies an append request by its streams and ordered event ids (not by the
// expected versions, which a retry may change). Each stored event carries it, so a retry of the
// same AppendMulti can tell its own earlier, partly applied writes from another append's.
func batchDigest(parts []eventstore.StreamAppend) string {
	idx := make([]int, len(parts))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return strings.Compare(parts[a].StreamID, parts[b].StreamID) })
	h := sha256.New()
	var n [8]byte
	for _, i := range idx {
		p := &parts[i]
		binary.BigEndian.PutUint64(n[:], uint64(len(p.StreamID)))
		h.Write(n[:])
		h.Write([]byte(p.StreamID))
		binary.BigEndian.PutUint64(n[:], uint64(len(p.Events)))
		h.Write(n[:])
		for _, e := range p.Events {
			h.Write(e.ID[:])
		}
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// partOutcome is what the stored events say about one part of an append request.
type partOutcome int

const (
	partNew  partOutcome = iota // none of its ids is stored: write it
	partDone                    // stored by this same request earlier: its original result
)

// classifyPart compares one part with the events already stored under its ids (found, all in
// the part's stream). It is eventstore.MatchRetry per part plus the request digest: MatchRetry
// calls a request with some parts stored and others not a conflict, which is right for stores
// with atomic multi-stream appends, but here such a request may be our own, partly applied, and
// must be allowed to complete. A part is done only if every event is stored, with the same content, at
// consecutive versions in request order, and was written by the same request (batch); any
// other overlap is a DuplicateConflictError: first an event with other content, else the first
// stored event.
func classifyPart(p *eventstore.StreamAppend, found map[uuid.UUID]stored, batch string) (partOutcome, eventstore.AppendResult, error) {
	if len(found) == 0 {
		return partNew, eventstore.AppendResult{}, nil
	}
	var first *stored
	missing := false
	for i := range p.Events {
		e := &p.Events[i]
		s, ok := found[e.ID]
		if !ok {
			missing = true
			continue
		}
		if !eventstore.SameContent(&s.rec, e) {
			return 0, eventstore.AppendResult{}, &eventstore.DuplicateConflictError{EventID: e.ID, StreamID: s.rec.StreamID}
		}
		if first == nil {
			first = &s
		}
	}
	if first == nil {
		return partNew, eventstore.AppendResult{}, nil
	}
	conflict := &eventstore.DuplicateConflictError{EventID: first.rec.EventID, StreamID: first.rec.StreamID}
	if missing {
		return 0, eventstore.AppendResult{}, conflict
	}
	recs := make([]eventstore.Record, len(p.Events))
	for i, e := range p.Events {
		s := found[e.ID]
		if s.batch != batch || (i > 0 && s.rec.Version != recs[i-1].Version+1) {
			return 0, eventstore.AppendResult{}, conflict
		}
		recs[i] = s.rec
	}
	return partDone, eventstore.AppendResult{StreamID: p.StreamID, Version: recs[len(recs)-1].Version, Records: recs}, nil
}

// seal builds the records of one part appended after a stream tail: versions, RecordedAt and
// the hash chain. RecordedAt is the adapter's clock, never earlier than the tail's, so it does
// not go back within a stream when application hosts' clocks disagree slightly.
func seal(p *eventstore.StreamAppend, t tail, now time.Time) []eventstore.Record {
	at := now.UTC().Truncate(time.Microsecond)
	if at.Before(t.recordedAt) {
		at = t.recordedAt
	}
	recs := make([]eventstore.Record, len(p.Events))
	prev := t.hash
	for i, e := range p.Events {
		r := &recs[i]
		*r = eventstore.Record{
			StreamID:      p.StreamID,
			Version:       t.version + uint64(i) + 1,
			EventID:       e.ID,
			Type:          e.Type,
			SchemaVersion: e.SchemaVersion,
			Data:          e.Data,
			Metadata:      e.Metadata,
			RecordedAt:    at,
		}
		eventstore.Seal(prev, r)
		prev = r.Hash
	}
	return recs
}

// tail is what an append needs to know about a stream's last event.
type tail struct {
	version    uint64
	position   uint64
	hash       eventstore.Hash
	recordedAt time.Time
}

// parseWrongExpected reads the current version out of the client's WrongExpectedVersion
// message ("... expecting 'X' but got 'Y'"), where Y is a 0-based revision or no_stream.
func parseWrongExpected(msg string) (uint64, bool) {
	const marker = "but got '"
	i := strings.LastIndex(msg, marker)
	if i < 0 {
		return 0, false
	}
	rest := msg[i+len(marker):]
	j := strings.IndexByte(rest, '\'')
	if j < 0 {
		return 0, false
	}
	got := rest[:j]
	if got == "no_stream" {
		return 0, true
	}
	var rev uint64
	if _, err := fmt.Sscanf(got, "%d", &rev); err != nil || fmt.Sprint(rev) != got {
		return 0, false
	}
	return versionOf(rev), true
}
