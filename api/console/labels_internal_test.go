package console

import (
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/domain/deadline"
	"github.com/custody-ledger/custody/domain/services"
	"github.com/custody-ledger/custody/projections"
	"github.com/custody-ledger/custody/projections/notify"
	"github.com/custody-ledger/custody/projections/query"
)

// domainStatuses reads every constant of type domain.Status from the domain package's source,
// so a status added later without a label fails the test below.
func domainStatuses(t *testing.T) []string { return domainConsts(t, "Status") }

// domainConsts reads the string constants of a named type from the domain package's source.
func domainConsts(t *testing.T, typ string) []string {
	t.Helper()
	pkgs, err := parser.ParseDir(token.NewFileSet(), "../../domain", nil, 0)
	require.NoError(t, err)
	var out []string
	for _, pkg := range pkgs {
		for _, f := range pkg.Files {
			for _, d := range f.Decls {
				g, ok := d.(*ast.GenDecl)
				if !ok || g.Tok != token.CONST {
					continue
				}
				for _, sp := range g.Specs {
					v := sp.(*ast.ValueSpec)
					if id, ok := v.Type.(*ast.Ident); !ok || id.Name != typ {
						continue
					}
					for _, val := range v.Values {
						if lit, ok := val.(*ast.BasicLit); ok {
							s, err := strconv.Unquote(lit.Value)
							require.NoError(t, err)
							out = append(out, s)
						}
					}
				}
			}
		}
	}
	return out
}

func assertLabel(t *testing.T, key string) {
	t.Helper()
	m, ok := messages[key]
	if assert.True(t, ok, "no label for %s", key) {
		assert.NotEmpty(t, m[0], "no ru label for %s", key)
		assert.NotEmpty(t, m[1], "no kk label for %s", key)
	}
}

func TestEveryDomainNameHasLabels(t *testing.T) {
	states := domainStatuses(t)
	require.Contains(t, states, string(domain.AppInReview)) // the parse found application statuses
	require.Contains(t, states, string(domain.StatusInCell))
	for _, s := range states {
		assertLabel(t, "state."+s)
	}
	for _, r := range deadline.Rules() {
		assertLabel(t, "rule."+string(r.ID))
	}
	for _, r := range services.Rules() {
		assertLabel(t, "rule."+string(r))
	}
	assertLabel(t, "rule."+query.RuleTransmission)
	events := slices.Concat(domain.EventTypes, domain.StreamEventTypes, domain.ApplicationEventTypes)
	require.Contains(t, events, domain.PlacedInCell)
	for _, e := range events {
		require.True(t, domain.KnownType(e), e)
		assertLabel(t, "event."+string(e))
	}
	// Every event type the domain declares is in one of the lists above.
	declared := domainEventTypes(t)
	require.Contains(t, declared, string(domain.DisputeResolved)) // the parse found them
	for _, e := range declared {
		assert.Contains(t, events, domain.EventType(e), "event type %s is in no list of domain's", e)
	}
	for _, ch := range []string{projections.ChannelKaspiApp, projections.ChannelSMS1414, projections.ChannelIISCON} {
		assertLabel(t, "channel."+ch)
	}
	for _, st := range []string{notify.StatusPending, notify.StatusDelivered, notify.StatusPoison, notify.StatusUndeliverable,
		notify.StatusExpired} {
		assertLabel(t, "notif."+st)
	}
	for _, k := range []string{"loss", "deadline_missed", "missing_line"} {
		assertLabel(t, "charge."+k)
	}
}

// domainEventTypes reads every constant of type domain.EventType from the domain package's
// source, so a type added later without a label fails the test above.
func domainEventTypes(t *testing.T) []string {
	return domainConsts(t, "EventType")
}

func TestEventLabel(t *testing.T) {
	assert.Equal(t, "рассмотрение завершено", eventLabel(ru, string(domain.ReviewCompleted)))
	assert.Equal(t, "қарау аяқталды", eventLabel(kk, string(domain.ReviewCompleted)))
	assert.Equal(t, "помещён в ячейку", eventLabel(ru, string(domain.PlacedInCell)))
	assert.Empty(t, eventLabel(ru, "SomethingNew"), "a type without a label shows only its code")
}

func TestAllowedSpan(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"15m0s", "15 мин"},
		{"26h30m0s", "1 д 2 ч"},
		{"", "—"}, // a report without a term
		{"0s", "—"},
	} {
		assert.Equal(t, c.want, allowedSpan(ru, c.in), c.in)
	}
}
