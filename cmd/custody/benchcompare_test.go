package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// bench --compare runs both contenders through their real paths (the API over loopback HTTP
// with the bench's own client, the store directly) and prints both rates and the ratio.
func TestBenchCompareRunsBothPaths(t *testing.T) {
	var out bytes.Buffer
	store := "sqlite:" + filepath.Join(t.TempDir(), "custody.db")
	require.NoError(t, benchCompare(context.Background(), store, "", 2, 3, 150*time.Millisecond, &out))
	assert.Regexp(t, `http +\d+ events/s .*÷ store \d+\.\d\d`, out.String())
	assert.Regexp(t, `store +\d+ events/s`, out.String())
}

// rawConn keeps one connection across requests, hands back a refusal's body, and redials when
// the server closes the connection.
func TestRawConnKeepsAliveAndRedials(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var conns atomic.Int32
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer k" {
				http.Error(w, "no key", http.StatusUnauthorized)
				return
			}
			if r.URL.Path == "/close" {
				w.Header().Set("Connection", "close")
			}
			w.WriteHeader(http.StatusCreated)
			_, _ = w.Write([]byte(`{"ok":true}`))
		}),
		ConnState: func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				conns.Add(1)
			}
		},
	}
	go func() { _ = srv.Serve(l) }()
	defer srv.Close()

	c := &rawConn{addr: l.Addr().String()}
	defer c.close()
	ctx := context.Background()
	for range 3 {
		status, answer, err := c.post(ctx, "/x", "Bearer k", []byte(`{}`))
		require.NoError(t, err)
		assert.Equal(t, http.StatusCreated, status)
		assert.Nil(t, answer)
	}
	status, answer, err := c.post(ctx, "/x", "Bearer wrong", []byte(`{}`))
	require.NoError(t, err)
	assert.Equal(t, http.StatusUnauthorized, status)
	assert.Contains(t, string(answer), "no key")
	status, _, err = c.post(ctx, "/close", "Bearer k", []byte(`{}`))
	require.NoError(t, err)
	assert.Equal(t, http.StatusCreated, status)
	status, _, err = c.post(ctx, "/x", "Bearer k", []byte(`{}`))
	require.NoError(t, err)
	assert.Equal(t, http.StatusCreated, status)
	assert.EqualValues(t, 2, conns.Load(), "one connection until the server closed it, then one more")
}
