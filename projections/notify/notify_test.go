package notify_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"
	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/custody-ledger/custody/eventstore/sqlite"
	"github.com/custody-ledger/custody/projections/internal/model"
	"github.com/custody-ledger/custody/projections/internal/sqldb"
	"github.com/custody-ledger/custody/projections/notify"
)

// outbox opens an SQLite database with the projections' tables and n pending messages.
func outbox(t *testing.T, n int) (*sql.DB, []model.Message) {
	t.Helper()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "outbox.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	require.NoError(t, sqldb.Migrate(ctx, s.DB(), sqldb.SQLite))
	var msgs []model.Message
	for i := range n {
		doc, trig := uuid.New(), uuid.New()
		key := model.DedupKey(doc, trig, model.ChannelSMS1414)
		body, _ := json.Marshal(map[string]any{"dedup_key": key, "recipient": map[string]string{"phone": "+77010000042"}, "n": i})
		msgs = append(msgs, model.Message{DedupKey: key, DocumentID: doc.String(), Channel: model.ChannelSMS1414,
			Position: uint64(i + 1), CreatedAt: time.Now(), Payload: body})
	}
	tx, err := s.DB().BeginTx(ctx, nil)
	require.NoError(t, err)
	require.NoError(t, notify.Enqueue(ctx, tx, sqldb.SQLite, msgs, time.Now(), time.Time{}))
	require.NoError(t, notify.Enqueue(ctx, tx, sqldb.SQLite, msgs, time.Now(), time.Time{}), "enqueueing again adds nothing")
	require.NoError(t, tx.Commit())
	return s.DB(), msgs
}

func status(t *testing.T, db *sql.DB, key string) (string, int64, string) {
	t.Helper()
	var (
		s, payload string
		a          int64
	)
	require.NoError(t, db.QueryRow(`SELECT status, attempts, payload FROM projections_outbox WHERE dedup_key = $1`, key).Scan(&s, &a, &payload))
	return s, a, payload
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// receiver is an HTTP endpoint that checks signatures and answers with the next status code.
type receiver struct {
	mu       sync.Mutex
	secret   []byte
	answers  []int
	bodies   []notify.WebhookBody
	badSigs  int
	requests int
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests++
	if !notify.Verify(r.secret, body, req.Header.Get(notify.HeaderSignature)) {
		r.badSigs++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var b notify.WebhookBody
	_ = json.Unmarshal(body, &b)
	if b.DedupKey != req.Header.Get(notify.HeaderDedupKey) {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	r.bodies = append(r.bodies, b)
	code := http.StatusOK
	if len(r.answers) > 0 {
		code, r.answers = r.answers[0], r.answers[1:]
	}
	w.WriteHeader(code)
}

func TestWebhookSignedAndRetried(t *testing.T) {
	db, msgs := outbox(t, 1)
	key := msgs[0].DedupKey
	rcv := &receiver{secret: []byte("s3cret"), answers: []int{http.StatusInternalServerError}}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	clk := &fakeClock{t: time.Date(2026, 4, 6, 10, 0, 0, 0, time.UTC)}
	d := &notify.Dispatcher{DB: db, Publisher: &notify.Webhook{URL: srv.URL, Secret: []byte("s3cret")}, Now: clk.Now}
	ctx := context.Background()

	n, err := d.DeliverDue(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	st, attempts, _ := status(t, db, key)
	assert.Equal(t, notify.StatusPending, st, "a 500 answer is retried")
	assert.Equal(t, int64(1), attempts)

	n, err = d.DeliverDue(ctx)
	require.NoError(t, err)
	assert.Zero(t, n, "not before the backoff")
	clk.Add(2 * time.Second)
	n, err = d.DeliverDue(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	st, attempts, payload := status(t, db, key)
	assert.Equal(t, notify.StatusDelivered, st)
	assert.Equal(t, int64(2), attempts)
	assert.Empty(t, payload, "the raw contact is cleared once delivered")

	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	assert.Zero(t, rcv.badSigs)
	require.Len(t, rcv.bodies, 2)
	for _, b := range rcv.bodies {
		assert.Equal(t, key, b.DedupKey, "both attempts carry the dedup key, so the receiver can drop a repeat")
		assert.Equal(t, model.ChannelSMS1414, b.Topic)
		assert.Contains(t, string(b.Payload), "+77010000042")
	}
	assert.Equal(t, "2", rcv.bodies[1].Metadata[notify.MetaAttempt])
}

func TestWebhookBadSecretAndPoison(t *testing.T) {
	db, msgs := outbox(t, 2)
	rcv := &receiver{secret: []byte("right")}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	clk := &fakeClock{t: time.Date(2026, 4, 6, 10, 0, 0, 0, time.UTC)}
	poison := gochannel.NewGoChannel(gochannel.Config{OutputChannelBuffer: 10}, watermill.NopLogger{})
	defer poison.Close()
	dead, err := poison.Subscribe(context.Background(), notify.PoisonTopic)
	require.NoError(t, err)
	d := &notify.Dispatcher{DB: db, Publisher: &notify.Webhook{URL: srv.URL, Secret: []byte("wrong")}, Now: clk.Now,
		MaxAttempts: 3, Poison: poison, Backoff: func(int) time.Duration { return time.Second }}
	for range 3 {
		_, err := d.DeliverDue(context.Background())
		require.NoError(t, err)
		clk.Add(time.Second)
	}
	for _, m := range msgs {
		st, attempts, _ := status(t, db, m.DedupKey)
		assert.Equal(t, notify.StatusPoison, st)
		assert.Equal(t, int64(3), attempts)
	}
	got := map[string]bool{}
	for range msgs {
		select {
		case m := <-dead:
			got[m.Metadata.Get(notify.MetaDedupKey)] = true
			assert.Contains(t, m.Metadata.Get("error"), "401")
			m.Ack()
		case <-time.After(5 * time.Second):
			t.Fatal("poison queue empty")
		}
	}
	assert.Len(t, got, len(msgs))
	rcv.mu.Lock()
	assert.Equal(t, 6, rcv.badSigs, "a wrong signature is refused by the receiver")
	rcv.mu.Unlock()
}

func natsConn(t *testing.T) *nats.Conn {
	t.Helper()
	url := os.Getenv("CUSTODY_TEST_NATS")
	if url == "" {
		url = "nats://127.0.0.1:4222"
	}
	nc, err := nats.Connect(url, nats.Timeout(2*time.Second))
	if err != nil {
		if os.Getenv("CUSTODY_REQUIRE_NATS") == "1" {
			t.Fatalf("NATS at %s required: %v", url, err)
		}
		t.Skipf("NATS at %s unreachable: %v", url, err)
	}
	t.Cleanup(nc.Close)
	return nc
}

func TestJetStream(t *testing.T) {
	nc := natsConn(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	suffix := uuid.NewString()[:8]
	cfg := notify.JetStreamConfig{Stream: "CUSTODY_TEST_" + suffix, SubjectPrefix: "custody-test-" + suffix}
	pub, err := notify.NewJetStream(ctx, nc, cfg)
	require.NoError(t, err)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	t.Cleanup(func() { _ = js.DeleteStream(context.Background(), cfg.Stream) })

	db, msgs := outbox(t, 3)
	d := &notify.Dispatcher{DB: db, Publisher: pub}
	n, err := d.DeliverDue(ctx)
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	// A repeat (a crash between publishing and marking) carries the same key: JetStream drops it.
	again := message.NewMessage(msgs[0].DedupKey, msgs[0].Payload)
	again.Metadata.Set(notify.MetaDedupKey, msgs[0].DedupKey)
	require.NoError(t, pub.Publish(model.ChannelSMS1414, again))

	stream, err := js.Stream(ctx, cfg.Stream)
	require.NoError(t, err)
	cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	require.NoError(t, err)
	batch, err := cons.Fetch(3, jetstream.FetchMaxWait(2*time.Second))
	require.NoError(t, err)
	got := map[string]string{}
	for m := range batch.Messages() {
		assert.Equal(t, pub.Subject(model.ChannelSMS1414), m.Subject())
		key := m.Headers().Get(notify.NatsHeaderDedupKey)
		assert.Equal(t, key, m.Headers().Get(nats.MsgIdHdr))
		got[key] = string(m.Data())
	}
	require.NoError(t, batch.Error())
	assert.Len(t, got, 3)
	for _, m := range msgs {
		assert.Equal(t, string(m.Payload), got[m.DedupKey])
		st, _, _ := status(t, db, m.DedupKey)
		assert.Equal(t, notify.StatusDelivered, st)
	}
	info, err := stream.Info(ctx)
	require.NoError(t, err)
	assert.Equal(t, uint64(3), info.State.Msgs, "the repeat was dropped by the server: %v", fmt.Sprint(info.State))
}

// panicky is a publisher that panics on its first n calls.
type panicky struct {
	mu sync.Mutex
	n  int
}

func (p *panicky) Publish(string, ...*message.Message) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.n > 0 {
		p.n--
		panic("publisher bug")
	}
	return nil
}

func (p *panicky) Close() error { return nil }

// TestPublisherPanicIsAFailedAttempt: a publisher that panics neither ends the process nor
// stops delivery (issue 10 §1): the attempt counts as failed and is retried.
func TestPublisherPanicIsAFailedAttempt(t *testing.T) {
	db, msgs := outbox(t, 1)
	key := msgs[0].DedupKey
	clk := &fakeClock{t: time.Date(2026, 4, 6, 10, 0, 0, 0, time.UTC)}
	d := &notify.Dispatcher{DB: db, Publisher: &panicky{n: 1}, Now: clk.Now}
	ctx := context.Background()

	n, err := d.DeliverDue(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	st, attempts, _ := status(t, db, key)
	assert.Equal(t, notify.StatusPending, st)
	assert.Equal(t, int64(1), attempts)
	var lastErr string
	require.NoError(t, db.QueryRow(`SELECT last_error FROM projections_outbox WHERE dedup_key = $1`, key).Scan(&lastErr))
	assert.Contains(t, lastErr, "publisher bug")

	clk.Add(2 * time.Second)
	_, err = d.DeliverDue(ctx)
	require.NoError(t, err)
	st, attempts, _ = status(t, db, key)
	assert.Equal(t, notify.StatusDelivered, st)
	assert.Equal(t, int64(2), attempts)
}
