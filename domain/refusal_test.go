package domain

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRefusalMatchesBothKinds(t *testing.T) {
	for name, c := range map[string]struct {
		err     error
		state   string
		allowed []EventType
	}{
		"document": {&TransitionError{State: StatusIssued, Event: Packed, Allowed: Allowed(StatusIssued)},
			"issued", Allowed(StatusIssued)},
		"registry": {RefuseRegistryStep(Registry{}, "not formed"), "new", []EventType{RegistryFormed}},
		"dispute":  {&StepError{State: "resolved", Allowed: []EventType{}}, "resolved", []EventType{}},
	} {
		var r Refusal
		require.True(t, errors.As(fmt.Errorf("wrapped: %w", c.err), &r), name)
		assert.Equal(t, c.state, r.RefusedState(), name)
		assert.Equal(t, c.allowed, r.AllowedSteps(), name)
	}
	var r Refusal
	assert.False(t, errors.As(&ForbiddenError{Role: RoleRAGS}, &r), "a forbidden actor is not a refused step")
}
