package domain

import "github.com/google/uuid"

// Events of a dispute stream (`dispute-<uuid>`): the commission's case (P.36).
const (
	DisputeOpened   EventType = "DisputeOpened"   // P.36
	DisputeResolved EventType = "DisputeResolved" // P.36
)

// DisputeOpenedData: the commission takes up a disagreement (P.36).
type DisputeOpenedData struct {
	DocumentIDs []uuid.UUID `json:"document_ids"`
	Parties     []Org       `json:"parties"`
	Subject     string      `json:"subject"`
}

// DisputeResolvedData: the commission's decision, with its signed protocol (P.36).
type DisputeResolvedData struct {
	ProtocolNumber string `json:"protocol_number"`
	Decision       string `json:"decision"`
	ChargedTo      []Org  `json:"charged_to,omitempty"`
}

func (DisputeOpenedData) EventType() EventType   { return DisputeOpened }
func (DisputeResolvedData) EventType() EventType { return DisputeResolved }

func (d *DisputeOpenedData) Validate() error {
	if err := validIDs("document_ids", d.DocumentIDs, true); err != nil {
		return err
	}
	if err := validOrgs("parties", d.Parties); err != nil {
		return err
	}
	return needText("subject", d.Subject, 2000)
}

func (d *DisputeResolvedData) Validate() error {
	if err := needCode("protocol_number", d.ProtocolNumber); err != nil {
		return err
	}
	if err := validOrgs("charged_to", d.ChargedTo); err != nil {
		return err
	}
	return needText("decision", d.Decision, 4000)
}
