package notify

import (
	"context"
	"fmt"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// JetStream headers besides nats.MsgIdHdr (Nats-Msg-Id), which carries the dedup key so the
// server itself drops a repeat within the stream's duplicate window.
const (
	NatsHeaderDedupKey = "Custody-Dedup-Key"
	NatsHeaderChannel  = "Custody-Channel"
)

// JetStreamConfig names the stream and the subjects notifications go to.
type JetStreamConfig struct {
	Stream        string        // default CUSTODY_NOTIFICATIONS
	SubjectPrefix string        // default custody.notifications; a message goes to <prefix>.<topic>
	Duplicates    time.Duration // the server's dedup window, default 24h
	Timeout       time.Duration // per publish, default 10s
}

// JetStream is a Watermill publisher onto a NATS JetStream stream, written over nats.go
// directly (a small adapter: publish with acknowledgement, the dedup key as Nats-Msg-Id).
type JetStream struct {
	js  jetstream.JetStream
	cfg JetStreamConfig
}

var _ message.Publisher = (*JetStream)(nil)

// NewJetStream creates (or updates) the stream on nc's server and returns the publisher.
func NewJetStream(ctx context.Context, nc *nats.Conn, cfg JetStreamConfig) (*JetStream, error) {
	if cfg.Stream == "" {
		cfg.Stream = "CUSTODY_NOTIFICATIONS"
	}
	if cfg.SubjectPrefix == "" {
		cfg.SubjectPrefix = "custody.notifications"
	}
	if cfg.Duplicates <= 0 {
		cfg.Duplicates = 24 * time.Hour
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("notify: jetstream: %w", err)
	}
	_, err = js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: cfg.Stream, Subjects: []string{cfg.SubjectPrefix + ".>"}, Storage: jetstream.FileStorage,
		Duplicates: cfg.Duplicates,
	})
	if err != nil {
		return nil, fmt.Errorf("notify: jetstream stream %s: %w", cfg.Stream, err)
	}
	return &JetStream{js: js, cfg: cfg}, nil
}

// Subject returns the subject a topic is published on.
func (j *JetStream) Subject(topic string) string { return j.cfg.SubjectPrefix + "." + topic }

// Publish sends each message and waits for the server's acknowledgement.
func (j *JetStream) Publish(topic string, msgs ...*message.Message) error {
	for _, m := range msgs {
		ctx := m.Context()
		if ctx == nil {
			ctx = context.Background()
		}
		ctx, cancel := context.WithTimeout(ctx, j.cfg.Timeout)
		nm := nats.NewMsg(j.Subject(topic))
		nm.Data = m.Payload
		for k, v := range m.Metadata {
			nm.Header.Set("Custody-Meta-"+k, v)
		}
		key := m.Metadata.Get(MetaDedupKey)
		if key == "" {
			key = m.UUID
		}
		nm.Header.Set(nats.MsgIdHdr, key)
		nm.Header.Set(NatsHeaderDedupKey, key)
		nm.Header.Set(NatsHeaderChannel, m.Metadata.Get(MetaChannel))
		_, err := j.js.PublishMsg(ctx, nm)
		cancel()
		if err != nil {
			return fmt.Errorf("notify: jetstream publish to %s: %w", nm.Subject, err)
		}
	}
	return nil
}

// Close does nothing: the connection belongs to the caller.
func (j *JetStream) Close() error { return nil }
