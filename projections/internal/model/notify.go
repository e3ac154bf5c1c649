package model

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/custody-ledger/custody/domain"
)

// Notification channels (DOMAIN.md, Notifications).
const (
	ChannelKaspiApp = "kaspi_app" // the Kaspi mobile app (P.28)
	ChannelSMS1414  = "sms_1414"  // SMS from 1414, the e-government short number (P.25, P.34)
)

// DedupKey identifies a notification: one per document, trigger event and channel.
func DedupKey(doc, trigger uuid.UUID, channel string) string {
	return doc.String() + "/" + trigger.String() + "/" + channel
}

// Text is a notification's text in Russian and Kazakh.
type Text struct {
	RU string `json:"ru"`
	KK string `json:"kk"`
}

// Details are the facts a notification states, for consumers that format their own text.
type Details struct {
	ApplicationNo string    `json:"application_no,omitempty"`
	PostomatID    string    `json:"postomat_id,omitempty"`
	CellID        string    `json:"cell_id,omitempty"`
	PickUpBy      time.Time `json:"pick_up_by,omitzero"`
	NewDate       time.Time `json:"new_date,omitzero"`
	Reason        string    `json:"reason,omitempty"`
	CONAddress    string    `json:"con_address,omitempty"`
	ActNumber     string    `json:"act_number,omitempty"`
	// Bring lists what the recipient brings to the ЦОН for a repeat certificate (P.25).
	Bring []string `json:"bring,omitempty"`
}

// bringForRepeat is what a recipient shows at the ЦОН to apply for the repeat certificate
// (P.25, P.26): their identity document and the application's number.
var bringForRepeat = []string{"identity_document", "application_no"}

// Payload is the delivered message body. Recipient is the raw contact: it exists only here,
// in the outbox and on the wire to the channel, never in the read models or logs.
type Payload struct {
	DedupKey    string                  `json:"dedup_key"`
	DocumentID  uuid.UUID               `json:"document_id"`
	TriggerID   uuid.UUID               `json:"trigger_event_id"`
	TriggerType domain.EventType        `json:"trigger_type"`
	Channel     string                  `json:"channel"`
	Recipient   domain.RecipientContact `json:"recipient"`
	Text        Text                    `json:"text"`
	Source      string                  `json:"source"`
	Details     Details                 `json:"details"`
	CreatedAt   time.Time               `json:"created_at"`
}

const dateFmt = "02.01.2006 15:04"

// notifications adds the notifications triggered on a document stream (DOMAIN.md,
// Notifications): each depends only on the events up to its trigger, so it never changes once
// made.
func notifications(res *Result, id uuid.UUID, events []Event, rp domain.Replay, env Env) {
	var lost, returned bool
	accumulation := "" // the ЦОН whose accumulation sector took the document in (P.7)
	acks := acknowledgements(events, rp)
	for i, e := range events {
		if !rp.Fitted(i, e.Type) {
			continue // replay stays total: an event that did not fit triggers nothing
		}
		s := rp.After(i)
		if src, ok := domain.Transmitted(rp.Before[i], e.Event); ok {
			transmission(res, id, e, s, src, acks[e.ID])
		}
		var (
			channels []string
			text     Text
			source   string
			det      = Details{ApplicationNo: s.ApplicationNo}
		)
		switch p := e.Payload.(type) {
		case *domain.PlacedInCellData: // P.28, P.29
			by := e.OccurredAt.Add(domain.CellStorage).In(domain.Almaty)
			det.PostomatID, det.CellID, det.PickUpBy = p.PostomatID, p.CellID, by
			channels, source = []string{ChannelKaspiApp}, "P.28, P.29"
			text = Text{
				RU: fmt.Sprintf("Ваш документ в постамате %s, ячейка %s. Заберите до %s.", p.PostomatID, p.CellID, by.Format(dateFmt)),
				KK: fmt.Sprintf("Құжатыңыз %s постаматында, ұяшық %s. %s дейін алыңыз.", p.PostomatID, p.CellID, by.Format(dateFmt)),
			}
		case *domain.DeliveryDelayedData: // P.27
			nd := p.NewDate.In(domain.Almaty)
			det.NewDate, det.Reason = nd, p.Reason
			channels, source = []string{ChannelKaspiApp}, "P.27"
			text = Text{
				RU: fmt.Sprintf("Доставка документа задерживается. Новая дата: %s.", nd.Format(dateFmt)),
				KK: fmt.Sprintf("Құжатты жеткізу кешіктіріледі. Жаңа күні: %s.", nd.Format(dateFmt)),
			}
		case *domain.ApplicationCancelledData: // P.25, after a loss (P.22–P.24)
			if !lost {
				break
			}
			// P.25: the cancellation carries the instruction for the repeat certificate
			// through GK: which ЦОН (the one that took the document in, else the city's) and
			// what to bring; P.26: free, within 3 working days of the request.
			con := conAddress(env, accumulation)
			if con == "" {
				con = s.City
			}
			det.ActNumber, det.CONAddress, det.Bring = p.ActNumber, con, bringForRepeat
			channels, source = []string{ChannelKaspiApp, ChannelSMS1414}, "P.25, P.26"
			text = Text{
				RU: fmt.Sprintf("Заявка на доставку отменена: документ утерян (акт %s). Повторное свидетельство о рождении выдаётся "+
					"бесплатно через Госкорпорацию в течение 3 рабочих дней после обращения. Обратитесь в ЦОН: %s; "+
					"при себе иметь удостоверение личности и номер заявки %s.", p.ActNumber, con, s.ApplicationNo),
				KK: fmt.Sprintf("Жеткізу өтінімі жойылды: құжат жоғалды (акт %s). Туу туралы қайталама куәлік Мемлекеттік корпорация "+
					"арқылы өтініш берілгеннен кейін 3 жұмыс күні ішінде тегін беріледі. ХҚКО-ға жүгініңіз: %s; "+
					"өзіңізбен бірге жеке куәлік пен %s өтінім нөмірін алыңыз.", p.ActNumber, con, s.ApplicationNo),
			}
		case *domain.ReceivedAtIssuanceData: // P.34, after a return (P.30–P.33)
			if !returned {
				break
			}
			addr := p.CONAddress
			if addr == "" {
				addr = conAddress(env, p.To.Unit)
			}
			if addr == "" {
				addr = p.To.Unit
			}
			det.CONAddress = addr
			channels, source = []string{ChannelKaspiApp, ChannelSMS1414}, "P.34"
			text = Text{
				RU: fmt.Sprintf("Документ не получен из постамата и передан в ЦОН: %s.", addr),
				KK: fmt.Sprintf("Құжат постаматтан алынбады және ХҚКО-ға жіберілді: %s.", addr),
			}
		case *domain.ReceivedAtAccumulationData:
			accumulation = p.To.Unit
		case *domain.DocumentLostData:
			lost = true
		case *domain.ReturnedToKaspiIntakeData:
			returned = true
		}
		var contact domain.RecipientContact
		if s.Recipient != nil {
			contact = *s.Recipient
		}
		for _, ch := range channels {
			addNotification(res, id, e, ch, text, source, det, contact, s.Recipient == nil)
		}
	}
}

// addNotification adds one notification: its read-model row, with the contact masked, and its
// outbox message, with the raw contact.
func addNotification(res *Result, id uuid.UUID, e Event, ch string, text Text, source string, det Details,
	contact domain.RecipientContact, noContact bool) {
	key := DedupKey(id, e.ID, ch)
	res.Rows.Add(Notifications, Row{key, id.String(), e.ID.String(), string(e.Type), ch, int64(e.Position),
		Micros(e.OccurredAt), JSON(contact.Masked()), text.RU, text.KK, source, JSON(det)})
	res.Messages[key] = Message{DedupKey: key, DocumentID: id.String(), Channel: ch, Position: e.Position,
		CreatedAt: e.OccurredAt, NoContact: noContact,
		body: &Payload{DedupKey: key, DocumentID: id, TriggerID: e.ID, TriggerType: e.Type, Channel: ch,
			Recipient: contact, Text: text, Source: source, Details: det, CreatedAt: e.OccurredAt.In(domain.Almaty)}}
}

func conAddress(env Env, unit string) string {
	if env.CONAddress == nil || unit == "" {
		return ""
	}
	return env.CONAddress(unit)
}

func unmarshal(s string, v any) error {
	if err := json.Unmarshal([]byte(s), v); err != nil {
		return fmt.Errorf("model: decode stored JSON: %w", err)
	}
	return nil
}
