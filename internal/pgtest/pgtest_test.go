package pgtest

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCreatedUsedAndDropped: Schema and Database each give a test a place of its own, named
// t_ and 12 hex digits, that is gone when the test ends.
func TestCreatedUsedAndDropped(t *testing.T) {
	for _, c := range []struct {
		name          string
		open          func(testing.TB) string
		current, gone string
	}{
		{"schema", Schema, "SELECT current_schema()", "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)"},
		{"database", Database, "SELECT current_database()", "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			var name string
			t.Run("inner", func(t *testing.T) {
				conn, err := pgx.Connect(ctx, c.open(t))
				require.NoError(t, err)
				defer conn.Close(ctx)
				require.NoError(t, conn.QueryRow(ctx, c.current).Scan(&name))
				assert.Regexp(t, `^t_[0-9a-f]{12}$`, name)
				_, err = conn.Exec(ctx, "CREATE TABLE here (x int)")
				require.NoError(t, err)
			})
			conn, err := pgx.Connect(ctx, URL(t))
			require.NoError(t, err)
			defer conn.Close(ctx)
			var exists bool
			require.NoError(t, conn.QueryRow(ctx, c.gone, name).Scan(&exists))
			assert.False(t, exists, "the %s is dropped when its test ends", c.name)
		})
	}
}
