package model

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/domain/calendar"
)

// BenchmarkDocument projects one postomat journey's rows, as a batch does per stream.
func BenchmarkDocument(b *testing.B) {
	id := uuid.New()
	steps := append(append([]domain.EventType{}, postomatSteps...), domain.CollectedByRecipient)
	evs := journey(b, id, time.Date(2026, 3, 2, 9, 0, 0, 0, domain.Almaty), time.Hour, steps...)
	env := Env{Calendar: calendar.Default()}
	b.ReportAllocs()
	for b.Loop() {
		Document(id, evs, env)
	}
}
