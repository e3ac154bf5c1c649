package pgtest

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSchemaIsCreatedUsedAndDropped(t *testing.T) {
	ctx := context.Background()
	var schema string
	t.Run("inner", func(t *testing.T) {
		conn, err := pgx.Connect(ctx, Schema(t))
		require.NoError(t, err)
		defer conn.Close(ctx)
		require.NoError(t, conn.QueryRow(ctx, "SELECT current_schema()").Scan(&schema))
		assert.Regexp(t, `^t_[0-9a-f]{12}$`, schema)
		_, err = conn.Exec(ctx, "CREATE TABLE here (x int)")
		require.NoError(t, err)
	})
	conn, err := pgx.Connect(ctx, URL(t))
	require.NoError(t, err)
	defer conn.Close(ctx)
	var exists bool
	require.NoError(t, conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", schema).Scan(&exists))
	assert.False(t, exists, "the schema is dropped when its test ends")
}

func TestDatabaseIsCreatedUsedAndDropped(t *testing.T) {
	ctx := context.Background()
	var db string
	t.Run("inner", func(t *testing.T) {
		conn, err := pgx.Connect(ctx, Database(t))
		require.NoError(t, err)
		defer conn.Close(ctx)
		require.NoError(t, conn.QueryRow(ctx, "SELECT current_database()").Scan(&db))
		assert.Regexp(t, `^t_[0-9a-f]{12}$`, db)
		_, err = conn.Exec(ctx, "CREATE TABLE here (x int)")
		require.NoError(t, err)
	})
	conn, err := pgx.Connect(ctx, URL(t))
	require.NoError(t, err)
	defer conn.Close(ctx)
	var exists bool
	require.NoError(t, conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", db).Scan(&exists))
	assert.False(t, exists, "the database is dropped when its test ends")
}
