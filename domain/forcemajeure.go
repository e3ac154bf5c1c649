package domain

import "time"

// ForceMajeureDeclared is the one event of a force-majeure stream (`forcemajeure-<uuid>`).
const ForceMajeureDeclared EventType = "ForceMajeureDeclared" // P.37, P.38

// ForceMajeureDeclaredData: a period of force majeure (P.37) notified by a party (P.38).
type ForceMajeureDeclaredData struct {
	From         time.Time `json:"from"`
	To           time.Time `json:"to"`
	Orgs         []Org     `json:"orgs,omitempty"` // the declaring organisation only (P.37); empty in old records: every one
	Region       string    `json:"region,omitempty"`
	NotifyingOrg Org       `json:"notifying_org"`
	Description  string    `json:"description"`
	// Evidence is the authorised body's document that attests the facts (P.38); Notified the
	// parties the declaring organisation notified (P.38). Required of new declarations.
	Evidence *FMEvidence `json:"evidence,omitempty"`
	Notified []Org       `json:"notified,omitempty"`
}

func (ForceMajeureDeclaredData) EventType() EventType { return ForceMajeureDeclared }

func (d *ForceMajeureDeclaredData) Validate() error {
	if d.From.IsZero() || d.To.IsZero() {
		return invalid("from", "the period needs from and to")
	}
	if !d.To.After(d.From) {
		return invalid("to", "must lie after from")
	}
	if err := validOrgs("orgs", d.Orgs); err != nil {
		return err
	}
	if err := validOrgs("notifying_org", []Org{d.NotifyingOrg}); err != nil {
		return err
	}
	if len(d.Region) > 100 {
		return invalid("region", "longer than 100 bytes")
	}
	if err := needText("description", d.Description, 2000); err != nil {
		return err
	}
	return d.validateP38()
}

func validOrgs(field string, orgs []Org) error {
	for _, o := range orgs {
		switch o {
		case OrgRAGS, OrgGK, OrgKaspi:
		default:
			return invalid(field, "unknown organisation %q", o)
		}
	}
	return nil
}
