package domain

import "fmt"

// Refusal is implemented by the errors that refuse a step a stream's state does not admit:
// *TransitionError (documents) and *StepError (registry, force-majeure and dispute streams).
// Callers match it with errors.As and answer both alike (API: 422 illegal_transition with
// state and allowed).
type Refusal interface {
	error
	// RefusedState is the stream's state that refused the step.
	RefusedState() string
	// AllowedSteps are the event types the stream accepts now.
	AllowedSteps() []EventType
}

var (
	_ Refusal = (*TransitionError)(nil)
	_ Refusal = (*StepError)(nil)
)

func (e *TransitionError) RefusedState() string      { return string(e.State) }
func (e *TransitionError) AllowedSteps() []EventType { return e.Allowed }
func (e *StepError) RefusedState() string            { return e.State }
func (e *StepError) AllowedSteps() []EventType       { return e.Allowed }

// StepError refuses a step on a registry, force-majeure or dispute stream that does not fit
// the stream's state (API: 422 illegal_transition with state and allowed).
type StepError struct {
	State   string
	Allowed []EventType // the steps the stream accepts now
	Reason  string
}

func (e *StepError) Error() string {
	return fmt.Sprintf("not accepted in state %q: %s (accepted now: %v)", e.State, e.Reason, e.Allowed)
}
