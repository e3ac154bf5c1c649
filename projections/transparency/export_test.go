package transparency

import "context"

// CheckpointNow signs and stores a checkpoint of the sequencer's tree as it holds it, due or
// not: a deposed sequencer's late checkpoint, in tests.
func (s *Sequencer) CheckpointNow(ctx context.Context) (bool, error) { return s.checkpoint(ctx, true) }
