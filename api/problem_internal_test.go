package api

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/custody-ledger/custody/domain"
)

// A document's refused transition and a refused registry, force-majeure or dispute step are
// one kind of answer (issue 9 §8): 422 illegal_transition with state and allowed.
func TestRefusalsMappedAlike(t *testing.T) {
	for name, c := range map[string]struct {
		err     error
		state   string
		allowed []string
	}{
		"transition": {&domain.TransitionError{State: domain.StatusPacked, Event: domain.Packed,
			Allowed: []domain.EventType{domain.AddedToRegistry, domain.HandedToCourier}},
			"packed", []string{"AddedToRegistry", "HandedToCourier"}},
		"registry step": {domain.RefuseRegistryStep(domain.Registry{Status: domain.RegistryStatusAccepted}, "already accepted"),
			"accepted", []string{}},
		"dispute step": {&domain.StepError{State: "opened", Allowed: []domain.EventType{domain.DisputeResolved}},
			"opened", []string{"DisputeResolved"}},
	} {
		p := problemOf(fmt.Errorf("document x: %w", c.err))
		assert.Equal(t, http.StatusUnprocessableEntity, p.Status, name)
		assert.Equal(t, CodeIllegalTransition, p.Code, name)
		assert.Equal(t, map[string]any{"state": c.state, "allowed": c.allowed}, p.Ext, name)
	}
}
