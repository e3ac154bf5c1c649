package api_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/custody-ledger/custody/api"
	"github.com/custody-ledger/custody/api/keys"
	"github.com/custody-ledger/custody/commands"
	"github.com/custody-ledger/custody/eventstore/memory"
)

// TestSharedMembersWrongType: the members every write body shares (event_id, occurred_at,
// actor) are named as the body names them when their JSON type is wrong, on every write route.
func TestSharedMembersWrongType(t *testing.T) {
	e := newEnv(t, func(t *testing.T) (*commands.Service, keys.Store) {
		return commands.New(memory.New(), clock()), keys.NewMemory()
	})
	const id = "11111111-1111-4111-8111-111111111111"
	paths := []string{"/v1/documents", "/v1/documents/" + id + "/events", "/v1/registries",
		"/v1/registries/" + id + "/handover", "/v1/registries/" + id + "/acceptance", "/v1/force-majeure",
		"/v1/disputes", "/v1/disputes/" + id + "/resolution"}
	for _, path := range paths {
		for _, c := range []struct {
			member string
			value  any
			field  string
		}{
			{"event_id", 5, "event_id"},
			{"occurred_at", 5, "occurred_at"},
			{"actor", 5, "actor"},
			{"actor", map[string]any{"org": 5}, "actor.org"},
		} {
			r := e.do("POST", path, "admin", map[string]any{c.member: c.value})
			e.problem(r, http.StatusBadRequest, api.CodeMalformed)
			assert.Equal(t, c.field, r.str("field"), "%s %s: %s", path, c.member, r)
			assert.Contains(t, r.str("detail"), c.field+": wrong JSON type", "%s: %s", path, r)
		}
	}
}
