package esdb

import (
	"strings"
	"testing"

	kdb "github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/eventstore"
)

func TestParseConnection(t *testing.T) {
	cases := []struct {
		name     string
		url      string
		address  string
		seeds    []string
		noTLS    bool
		discover bool
		user     string
		ns       string
		cats     []string
	}{
		{name: "single node", url: "esdb://localhost:2113?tls=false", address: "localhost:2113", noTLS: true},
		{name: "default port", url: "esdb://db.internal", address: "db.internal:2113"},
		{name: "credentials and TLS", url: "esdb://admin:changeit@db1:2113?tls=true&tlsVerifyCert=true", address: "db1:2113", user: "admin"},
		{
			name:  "gossip seeds",
			url:   "esdb://admin:changeit@node1:2113,node2:2113,node3:2113?tls=true&nodePreference=leader",
			seeds: []string{"node1:2113", "node2:2113", "node3:2113"}, user: "admin",
		},
		{name: "DNS discovery", url: "esdb+discover://cluster.example.com:2113", address: "cluster.example.com:2113", discover: true},
		{name: "kurrentdb scheme", url: "kurrentdb+discover://cluster.example.com:2113", address: "cluster.example.com:2113", discover: true},
		{
			name:    "our parameters are taken out",
			url:     "esdb://localhost:2113?tls=false&custodyNamespace=prod-&custodyCategories=document-,registry-",
			address: "localhost:2113", noTLS: true, ns: "prod-", cats: []string{"document-", "registry-"},
		},
		{
			name:  "our parameters with gossip seeds",
			url:   "esdb://a:2113,b:2113?custodyCategories=document-%2Cregistry-&tls=false",
			seeds: []string{"a:2113", "b:2113"}, noTLS: true, cats: []string{"document-", "registry-"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			conf, opts, err := parseConnection(c.url)
			require.NoError(t, err)
			if c.seeds == nil {
				assert.Equal(t, c.address, conf.Address)
			} else {
				var seeds []string
				for _, s := range conf.GossipSeeds {
					seeds = append(seeds, s.String())
				}
				assert.Equal(t, c.seeds, seeds)
			}
			assert.Equal(t, c.noTLS, conf.DisableTLS)
			assert.Equal(t, c.discover, conf.DnsDiscover)
			assert.Equal(t, c.user, conf.Username)
			assert.Equal(t, kdb.NodePreferenceLeader, conf.NodePreference)
			// cmd passes the ledger's categories; the URL's own parameter overrides them.
			cfg, err := newConfig(append([]Option{WithCategories(domain.StreamPrefixes()...)}, opts...))
			require.NoError(t, err)
			if c.cats == nil {
				c.cats = domain.StreamPrefixes()
			}
			assert.Equal(t, c.ns, cfg.namespace)
			assert.Equal(t, c.cats, cfg.categories)
		})
	}
}

func TestParseConnectionRefuses(t *testing.T) {
	for name, url := range map[string]string{
		"another scheme":     "postgres://localhost/custody",
		"no host":            "esdb://",
		"follower reads":     "esdb://localhost:2113?nodePreference=follower",
		"bad port":           "esdb://localhost:abc",
		"bad escape in ours": "esdb://localhost:2113?custodyNamespace=%zz",
	} {
		_, _, err := parseConnection(url)
		assert.Error(t, err, name)
	}
}

func TestSplitStoreURL(t *testing.T) {
	cases := []struct{ in, out string }{
		{"esdb://h:2113", "esdb://h:2113"},
		{"esdb://h:2113?tls=false", "esdb://h:2113?tls=false"},
		{"esdb://h:2113?custodyNamespace=x-", "esdb://h:2113"},
		{"kurrentdb://h:2113?tls=false", "esdb://h:2113?tls=false"},
		{"kurrentdb+discover://h:2113", "esdb+discover://h:2113"},
		{"esdb://h:2113?tls=false&CUSTODYNAMESPACE=x-&keepAliveInterval=10000", "esdb://h:2113?tls=false&keepAliveInterval=10000"},
	}
	for _, c := range cases {
		out, _, err := splitStoreURL(c.in)
		require.NoError(t, err)
		assert.Equal(t, c.out, out, c.in)
	}
}

func TestConfigValidation(t *testing.T) {
	cases := []struct {
		name string
		opts []Option
		ok   bool
	}{
		{"the ledger's categories", []Option{WithCategories(domain.StreamPrefixes()...)}, true},
		{"no categories and no namespace", nil, false},
		{"namespace", []Option{WithNamespace("eu-")}, true},
		{"namespace only (tests)", []Option{WithNamespace("t1-"), WithCategories()}, true},
		{"everything on the server", []Option{WithCategories()}, false},
		{"system namespace", []Option{WithNamespace("$x")}, false},
		{"system category", []Option{WithCategories("$ce-")}, false},
		{"empty category", []Option{WithCategories("")}, false},
		{"index under a category", []Option{WithCategories("custody-")}, false},
		{"category under the index", []Option{WithIDIndexPrefix("doc")}, false},
		{"empty index prefix", []Option{WithIDIndexPrefix("")}, false},
		{"bad backoff", []Option{WithResubscribeBackoff(0, 0)}, false},
	}
	for _, c := range cases {
		_, err := newConfig(c.opts)
		if c.ok {
			assert.NoError(t, err, c.name)
		} else {
			assert.Error(t, err, c.name)
		}
	}
}

func TestFilterPrefixes(t *testing.T) {
	cfg, err := newConfig([]Option{WithNamespace("eu-"), WithCategories(domain.StreamPrefixes()...)})
	require.NoError(t, err)
	assert.Equal(t, []string{"eu-document-", "eu-registry-", "eu-dispute-", "eu-forcemajeure-", "eu-application-"}, cfg.filterPrefixes())
	cfg, err = newConfig([]Option{WithNamespace("t1-"), WithCategories()})
	require.NoError(t, err)
	assert.Equal(t, []string{"t1-"}, cfg.filterPrefixes())
}

func TestStreamNaming(t *testing.T) {
	cfg, err := newConfig([]Option{WithNamespace("eu-"), WithCategories(domain.StreamPrefixes()...)})
	require.NoError(t, err)
	s := &Store{cfg: cfg}
	id := uuid.MustParse("6f1c2d3e-0000-4000-8000-000000000001")

	assert.Equal(t, "eu-document-1", s.serverStream("document-1"))
	for name, c := range map[string]struct {
		server, port string
		ours         bool
	}{
		"document":             {"eu-document-1", "document-1", true},
		"registry":             {"eu-registry-" + id.String(), "registry-" + id.String(), true},
		"other namespace":      {"us-document-1", "", false},
		"no namespace":         {"document-1", "", false},
		"other category":       {"eu-invoice-1", "", false},
		"system stream":        {"$stats-127.0.0.1:2113", "", false},
		"metadata stream":      {"$$eu-document-1", "", false},
		"by-category":          {"$ce-document", "", false},
		"id index":             {s.indexStream(id), "", false},
		"category without ns":  {"eu-document-", "document-", true},
		"prefix of a category": {"eu-doc", "", false},
	} {
		port, ok := s.portStream(c.server)
		assert.Equal(t, c.ours, ok, name)
		assert.Equal(t, c.port, port, name)
	}
	assert.Equal(t, "custody-eventid-eu-"+id.String(), s.indexStream(id))
}

func TestValidate(t *testing.T) {
	cfg, err := newConfig([]Option{WithCategories(domain.StreamPrefixes()...)})
	require.NoError(t, err)
	s := &Store{cfg: cfg}
	ev := func() eventstore.EventData {
		return eventstore.EventData{ID: uuid.New(), Type: "DocumentIssued", SchemaVersion: 1, Data: []byte(`{}`)}
	}
	part := func(stream string, evs ...eventstore.EventData) eventstore.StreamAppend {
		return eventstore.StreamAppend{StreamID: stream, Expected: eventstore.Any, Events: evs}
	}
	twice := ev()
	nilID := ev()
	nilID.ID = uuid.Nil
	sysType := ev()
	sysType.Type = "$metadata"
	badExpected := part("document-1", ev())
	badExpected.Expected = -3

	assert.NoError(t, s.validate([]eventstore.StreamAppend{part("document-1", ev()), part("registry-1", ev())}))
	for name, parts := range map[string][]eventstore.StreamAppend{
		"no parts":              nil,
		"empty stream":          {part("", ev())},
		"outside the prefixes":  {part("invoice-1", ev())},
		"system stream":         {part("$all", ev())},
		"stream twice":          {part("document-1", ev()), part("document-1", ev())},
		"no events":             {part("document-1")},
		"id twice in a part":    {part("document-1", twice, twice)},
		"id twice across parts": {part("document-1", twice), part("registry-1", twice)},
		"nil id":                {part("document-1", nilID)},
		"system event type":     {part("document-1", sysType)},
		"bad expected version":  {badExpected},
	} {
		err := s.validate(parts)
		assert.ErrorIs(t, err, eventstore.ErrInvalid, name)
	}
	err = s.checkStream("invoice-1")
	require.Error(t, err)
	assert.True(t, strings.Contains(err.Error(), "global log"), "the error says why: %v", err)
}
