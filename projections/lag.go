package projections

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/custody-ledger/custody/projections/internal/model"
	"github.com/custody-ledger/custody/projections/internal/sqldb"
)

// Lag is how far the live read models are behind the log.
type Lag struct {
	Generation int64   `json:"generation"`
	Head       uint64  `json:"head"`
	Position   uint64  `json:"position"`
	Positions  uint64  `json:"positions"` // head − position
	Seconds    float64 `json:"seconds"`   // age of the oldest event not applied yet (0 when caught up)
}

// Lag measures the live generation's lag.
func (p *Projections) Lag(ctx context.Context) (Lag, error) {
	g, err := sqldb.Live(ctx, p.db)
	if err != nil {
		return Lag{}, err
	}
	head, err := p.store.Head(ctx)
	if err != nil {
		return Lag{}, fmt.Errorf("projections: lag: %w", err)
	}
	l := Lag{Generation: g.Gen, Head: head, Position: g.Position}
	if head > g.Position {
		l.Positions = head - g.Position
		recs, err := p.store.ReadAll(ctx, g.Position, 1)
		if err != nil {
			return Lag{}, fmt.Errorf("projections: lag: %w", err)
		}
		if len(recs) > 0 {
			l.Seconds = max(0, time.Since(recs[0].RecordedAt).Seconds())
		}
	}
	return l, nil
}

// Ready reports whether the read models can serve. A generation first met by this process
// (on its first start, or after a rebuild switched generations) must first reach the head the
// log had when it was met: a bounded lag alone would call nearly empty read models ready
// while the log they must show is short. From then on it must stay within ReadyMaxLagSecs
// and ReadyMaxLagCount of the head. The error says why not.
func (p *Projections) Ready(ctx context.Context) error {
	g, err := sqldb.Live(ctx, p.db)
	if err != nil {
		return fmt.Errorf("projections: not ready: %w", err)
	}
	if g.ModelVersion != model.Version {
		return fmt.Errorf("projections: not ready: rebuilding to model version %d", model.Version)
	}
	l, err := p.Lag(ctx)
	if err != nil {
		return fmt.Errorf("projections: not ready: %w", err)
	}
	if ok, target := p.caughtUp(l); !ok {
		return fmt.Errorf("projections: not ready: catching up: the read models (generation %d) are at position %d of %d",
			l.Generation, l.Position, target)
	}
	if l.Seconds > p.opts.ReadyMaxLagSecs || l.Positions > p.opts.ReadyMaxLagCount {
		return fmt.Errorf("projections: not ready: %d positions and %.1fs behind the log (at most %d and %.1fs)",
			l.Positions, l.Seconds, p.opts.ReadyMaxLagCount, p.opts.ReadyMaxLagSecs)
	}
	return nil
}

// readyGate is what Ready remembers of the live generation it met first.
type readyGate struct {
	mu      sync.Mutex
	gen     int64
	target  uint64 // the head when the generation was met
	reached bool
}

// caughtUp reports whether the live generation has reached the head it was first met at.
func (p *Projections) caughtUp(l Lag) (bool, uint64) {
	p.gate.mu.Lock()
	defer p.gate.mu.Unlock()
	if p.gate.gen != l.Generation {
		p.gate.gen, p.gate.target, p.gate.reached = l.Generation, l.Head, false
	}
	if l.Position >= p.gate.target {
		p.gate.reached = true
	}
	return p.gate.reached, p.gate.target
}
