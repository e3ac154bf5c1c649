package query

import (
	"fmt"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"

	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/projections/internal/model"
)

// A late status of doc lies after the overdue list's cursor (same deadline, same document)
// exactly when its outbox key lies after transmissionBound: the keyset read of the outbox index
// resumes where a page of merged clocks and statuses ended.
func TestTransmissionBoundFollowsTheListOrder(t *testing.T) {
	doc := uuid.MustParse("5a1d0000-0000-4000-8000-000000000001")
	events := []uuid.UUID{uuid.MustParse("10000000-0000-4000-8000-000000000000"),
		uuid.MustParse("80000000-0000-4000-8000-000000000000"), uuid.MustParse("f0000000-0000-4000-8000-000000000000")}
	for _, c := range []struct {
		rule, org string
	}{
		{"cell_storage", "kaspi"}, {"intake_wait", "kaspi"}, {"return_collection", ""}, {RuleTransmission, "kaspi"},
		{RuleTransmission, "gk"}, {RuleTransmission, "rags"}, {"iis", "zz"}, {"iis_con_transmission_", ""},
	} {
		for _, start := range events {
			bound := transmissionBound(doc.String(), c.rule, start.String(), c.org)
			for _, ev := range events {
				after := overdueLess(
					Overdue{DocumentID: doc, Rule: c.rule, StartEvent: start, Charged: domain.Org(c.org)},
					Overdue{DocumentID: doc, Rule: RuleTransmission, StartEvent: ev, Charged: domain.OrgKaspi})
				key := model.DedupKey(doc, ev, model.ChannelIISCON)
				assert.Equal(t, after, key > bound, fmt.Sprintf("cursor %s/%s/%s, status %s", c.rule, start, c.org, ev))
			}
		}
	}
}
