package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
)

// Webhook headers.
const (
	HeaderSignature = "X-Custody-Signature" // "sha256=" + hex HMAC-SHA256 of the body with the shared secret
	HeaderDedupKey  = "X-Custody-Dedup-Key"
	HeaderTopic     = "X-Custody-Topic"
)

// WebhookBody is what the webhook POSTs: the message's dedup key, topic and metadata, and
// the notification payload as JSON.
type WebhookBody struct {
	Topic     string            `json:"topic"`
	MessageID string            `json:"message_id"`
	DedupKey  string            `json:"dedup_key"`
	Metadata  map[string]string `json:"metadata"`
	Payload   json.RawMessage   `json:"payload"`
}

// Webhook is a Watermill publisher that POSTs each message as JSON to URL, signed with
// HMAC-SHA256 over the exact body. Any answer but 2xx, or no answer within the client's
// timeout, fails the publish; the Dispatcher retries it with backoff and poisons it after
// MaxAttempts.
type Webhook struct {
	URL    string
	Secret []byte
	Client *http.Client // default: 10 s timeout
}

var _ message.Publisher = (*Webhook)(nil)

// Sign returns the signature header value for body.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks a signature header against body, in constant time (for receivers).
func Verify(secret, body []byte, header string) bool {
	want := Sign(secret, body)
	return hmac.Equal([]byte(want), []byte(strings.TrimSpace(header)))
}

// Publish POSTs the messages one by one; it stops at the first failure.
func (w *Webhook) Publish(topic string, msgs ...*message.Message) error {
	client := w.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	for _, m := range msgs {
		body, err := json.Marshal(WebhookBody{Topic: topic, MessageID: m.UUID, DedupKey: m.Metadata.Get(MetaDedupKey),
			Metadata: m.Metadata, Payload: json.RawMessage(m.Payload)})
		if err != nil {
			return fmt.Errorf("notify: webhook body: %w", err)
		}
		ctx := m.Context()
		if ctx == nil {
			ctx = context.Background()
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
		if err != nil {
			return fmt.Errorf("notify: webhook request: %w", err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(HeaderSignature, Sign(w.Secret, body))
		req.Header.Set(HeaderDedupKey, m.Metadata.Get(MetaDedupKey))
		req.Header.Set(HeaderTopic, topic)
		resp, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("notify: webhook: %w", err)
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		_ = resp.Body.Close()
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			return &StatusError{Code: resp.StatusCode}
		}
	}
	return nil
}

// Close does nothing: the webhook holds no resources.
func (w *Webhook) Close() error { return nil }

// StatusError is a webhook answer other than 2xx.
type StatusError struct{ Code int }

func (e *StatusError) Error() string { return fmt.Sprintf("notify: webhook answered %d", e.Code) }

// IsStatus reports whether err is a webhook answer with this code.
func IsStatus(err error, code int) bool {
	var se *StatusError
	return errors.As(err, &se) && se.Code == code
}
