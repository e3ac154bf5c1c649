package console

import (
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/domain/deadline"
	"github.com/custody-ledger/custody/domain/services"
)

// domainStatuses reads every constant of type domain.Status from the domain package's source,
// so a status added later without a label fails the test below.
func domainStatuses(t *testing.T) []string {
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
					if id, ok := v.Type.(*ast.Ident); !ok || id.Name != "Status" {
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
	for _, e := range domain.ApplicationEventTypes {
		assertLabel(t, "event."+string(e))
	}
}

func TestEventLabel(t *testing.T) {
	assert.Equal(t, "рассмотрение завершено", eventLabel(ru, string(domain.ReviewCompleted)))
	assert.Equal(t, "қарау аяқталды", eventLabel(kk, string(domain.ReviewCompleted)))
	assert.Empty(t, eventLabel(ru, string(domain.PlacedInCell)), "a type without a label shows only its code")
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
