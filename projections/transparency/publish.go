package transparency

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Publisher hands a new checkpoint to a party outside the operator (a witness).
type Publisher interface {
	Publish(ctx context.Context, cp Signed) error
}

// NewPublisher is a directory (a file per checkpoint, <size>.checkpoint) or, for an http(s)://
// target, a webhook that receives each checkpoint's note as a POST.
func NewPublisher(target string) (Publisher, error) {
	if strings.HasPrefix(target, "http://") || strings.HasPrefix(target, "https://") {
		return &Webhook{URL: target, Client: &http.Client{Timeout: 10 * time.Second}}, nil
	}
	if err := os.MkdirAll(target, 0o755); err != nil {
		return nil, fmt.Errorf("transparency: checkpoint directory: %w", err)
	}
	return Dir(target), nil
}

// Dir writes each checkpoint to <dir>/<size>.checkpoint (through a temporary file, so a
// reader never sees half of one).
type Dir string

// Publish writes the checkpoint's file.
func (d Dir) Publish(_ context.Context, cp Signed) error {
	name := filepath.Join(string(d), FileName(cp.Size))
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, cp.Note, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, name)
}

// FileName is the name of a published checkpoint's file: the size in 20 digits, so names sort
// as sizes do.
func FileName(size uint64) string { return fmt.Sprintf("%020d.checkpoint", size) }

// Webhook POSTs each checkpoint's note (text/plain) to URL; any 2xx answer accepts it.
type Webhook struct {
	URL    string
	Client *http.Client
}

// Publish sends the checkpoint.
func (w *Webhook) Publish(ctx context.Context, cp Signed) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(cp.Note))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	req.Header.Set("X-Checkpoint-Size", fmt.Sprint(cp.Size))
	resp, err := w.Client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("webhook answered %s", resp.Status)
	}
	return nil
}
