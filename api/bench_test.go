package api_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/custody-ledger/custody/api"
	"github.com/custody-ledger/custody/api/keys"
	"github.com/custody-ledger/custody/commands"
	"github.com/custody-ledger/custody/commands/demo"
	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/eventstore/memory"
)

// BenchmarkWriteRequest is one write request through the whole API (key check, decoding,
// validation, the command loop, the answer) on the in-memory store, so that allocs/op is the
// API's own cost per write (issue 14). Each request starts a new document.
func BenchmarkWriteRequest(b *testing.B) {
	ctx := b.Context()
	ks := keys.NewCached(keys.NewMemory())
	c := demo.Almaty
	secret, _, err := ks.Create(ctx, domain.OrgOf(domain.RoleKaspiPlatform), demo.Platform.Unit, domain.RoleKaspiPlatform)
	if err != nil {
		b.Fatal(err)
	}
	h, err := api.New(api.Config{Service: commands.New(memory.New()), Keys: ks, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	bodies := make([][]byte, b.N)
	for i := range bodies {
		doc := uuid.New()
		e, a := demo.Next(c, domain.State{DocumentID: doc, Status: domain.StatusNew}, i, domain.DeliveryRequested, now)
		if a.Role != domain.RoleKaspiPlatform {
			b.Fatalf("DeliveryRequested is recorded by %s", a.Role)
		}
		bodies[i], err = json.Marshal(map[string]any{"document_id": doc, "event_id": uuid.New(), "type": e.Type,
			"occurred_at": e.OccurredAt, "actor": map[string]string{"org": string(a.Org), "unit": a.Unit, "employee_id": a.EmployeeID},
			"data": e.Payload})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		req := httptest.NewRequest(http.MethodPost, "/v1/documents", bytes.NewReader(bodies[i]))
		req.Header.Set("Authorization", "Bearer "+secret)
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusCreated {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
	}
}
