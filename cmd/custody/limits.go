package main

import (
	"flag"
	"fmt"
	"net"
	"strconv"
	"time"

	"golang.org/x/net/netutil"

	"github.com/custody-ledger/custody/api"
)

// serverLimits are serve's limits on what clients may hold of it (issue 10 §6).
type serverLimits struct {
	storeTimeout time.Duration
	maxConns     int
}

func addLimitFlags(fs *flag.FlagSet) *serverLimits {
	l := &serverLimits{}
	fs.DurationVar(&l.storeTimeout, "store-timeout", envDuration("CUSTODY_STORE_TIMEOUT", api.DefaultStoreTimeout),
		"deadline of a request's store calls; past it 503 with Retry-After (env CUSTODY_STORE_TIMEOUT)")
	fs.IntVar(&l.maxConns, "max-conns", envInt("CUSTODY_MAX_CONNS", 1024),
		"open client connections at most; more wait to be accepted (env CUSTODY_MAX_CONNS)")
	return l
}

// listen opens the HTTP listener, accepting at most maxConns connections at a time.
func (l *serverLimits) listen(addr string) (net.Listener, error) {
	if l.maxConns < 1 {
		return nil, fmt.Errorf("--max-conns must be at least 1, not %d", l.maxConns)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	return netutil.LimitListener(ln, l.maxConns), nil
}

func envDuration(name string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(envOr(name, "")); err == nil {
		return d
	}
	return def
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(envOr(name, "")); err == nil {
		return n
	}
	return def
}
