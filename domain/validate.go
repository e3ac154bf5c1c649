package domain

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/custody-ledger/custody/domain/calendar"
)

// ValidationError says which field of an event is wrong and why. Messages never repeat
// personal data (IIN, phone): they name the field only.
type ValidationError struct {
	Field  string
	Reason string
}

func (e *ValidationError) Error() string { return fmt.Sprintf("%s: %s", e.Field, e.Reason) }

func invalid(field, format string, args ...any) error {
	return &ValidationError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

var (
	reCode      = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$`) // application no., service code, units
	reWaybill   = regexp.MustCompile(`^[A-Z0-9][A-Z0-9-]{5,31}$`)
	rePostomat  = regexp.MustCompile(`^[A-Z0-9][A-Z0-9-]{2,31}$`)
	reCell      = regexp.MustCompile(`^[A-Z0-9]{1,8}$`)
	reSeal      = regexp.MustCompile(`^[A-Z0-9][A-Z0-9-]{3,31}$`)
	rePhone     = regexp.MustCompile(`^\+77[0-9]{9}$`)
	reCertNo    = regexp.MustCompile(`^[0-9]{6,12}$`)
	reEmployee  = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)
	iinWeights1 = [11]int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
	iinWeights2 = [11]int{3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2}
)

// ValidIIN checks a Kazakh individual identification number: 12 digits, a birth date in the
// first six (YYMMDD), the century-and-sex digit 0–6, and the control digit: the weighted sum of
// the first 11 digits (weights 1..11) mod 11; if that is 10, weights 3..11,1,2; if it is 10 again
// the number is never issued.
func ValidIIN(s string) bool {
	if len(s) != 12 {
		return false
	}
	var d [12]int
	for i := 0; i < 12; i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
		d[i] = int(s[i] - '0')
	}
	month, day := d[2]*10+d[3], d[4]*10+d[5]
	if month < 1 || month > 12 || day < 1 || day > 31 || d[6] > 6 {
		return false
	}
	sum := func(w [11]int) int {
		t := 0
		for i := 0; i < 11; i++ {
			t += d[i] * w[i]
		}
		return t % 11
	}
	c := sum(iinWeights1)
	if c == 10 {
		c = sum(iinWeights2)
		if c == 10 {
			return false
		}
	}
	return c == d[11]
}

// ValidPhone checks a Kazakh mobile number in E.164 form (+77XXXXXXXXX), as SMS 1414 needs.
func ValidPhone(s string) bool { return rePhone.MatchString(s) }

func needCode(field, v string) error {
	if v == "" {
		return invalid(field, "required")
	}
	if !reCode.MatchString(v) {
		return invalid(field, "must be 1–64 letters, digits, '.', '_', '/' or '-'")
	}
	return nil
}

func needMatch(field, v string, re *regexp.Regexp, what string) error {
	if v == "" {
		return invalid(field, "required")
	}
	if !re.MatchString(v) {
		return invalid(field, "must be %s", what)
	}
	return nil
}

func needText(field, v string, max int) error {
	if strings.TrimSpace(v) == "" {
		return invalid(field, "required")
	}
	if len(v) > max {
		return invalid(field, "longer than %d bytes", max)
	}
	return nil
}

func (h Holder) validate(field string, needUnit bool) error {
	switch h.Org {
	case OrgRAGS, OrgGK, OrgKaspi:
	case OrgRecipient:
		if h.Unit != "" || h.EmployeeID != "" {
			return invalid(field, "the recipient holder carries no unit or employee")
		}
		return nil
	case "":
		return invalid(field+".org", "required")
	default:
		return invalid(field+".org", "unknown organisation %q", h.Org)
	}
	if needUnit || h.Unit != "" {
		if err := needCode(field+".unit", h.Unit); err != nil {
			return err
		}
	}
	if h.EmployeeID != "" && !reEmployee.MatchString(h.EmployeeID) {
		return invalid(field+".employee_id", "must be 1–64 letters, digits, '.', '_' or '-'")
	}
	return nil
}

func (t Transfer) validate() error {
	if err := t.From.validate("from", true); err != nil {
		return err
	}
	return t.To.validate("to", true)
}

func validMethod(m DeliveryMethod) error {
	switch m {
	case MethodPostomat, MethodCON:
		return nil
	case "":
		return invalid("method", "required")
	}
	return invalid("method", "must be postomat or con")
}

func (d *DeliveryRequestedData) Validate() error {
	if err := needCode("application_no", d.ApplicationNo); err != nil {
		return err
	}
	if err := needCode("service_code", d.ServiceCode); err != nil {
		return err
	}
	if err := validMethod(d.Method); err != nil {
		return err
	}
	if err := needText("city", d.City, 100); err != nil {
		return err
	}
	if d.Method == MethodPostomat {
		if err := needMatch("postomat_id", d.PostomatID, rePostomat, "3–32 capital letters, digits or '-'"); err != nil {
			return err
		}
		// P.4: the recipient picks a postomat in their own city.
		if d.PostomatCity != "" && !strings.EqualFold(d.PostomatCity, d.City) {
			return invalid("postomat_city", "the postomat must be in the recipient's city (P.4)")
		}
	}
	if !ValidIIN(d.Recipient.IIN) {
		return invalid("recipient.iin", "not a valid IIN (12 digits with a correct control digit)")
	}
	if !ValidPhone(d.Recipient.Phone) {
		return invalid("recipient.phone", "not a Kazakh mobile number in the form +77XXXXXXXXX")
	}
	return nil
}

func (d *DocumentIssuedData) Validate() error {
	if err := d.To.validate("to", true); err != nil {
		return err
	}
	if d.To.Org != OrgRAGS {
		return invalid("to.org", "a document is issued into the registering office's custody")
	}
	if !d.From.IsZero() {
		return invalid("from", "nobody holds a document before it is issued")
	}
	if err := needCode("application_no", d.ApplicationNo); err != nil {
		return err
	}
	if err := needCode("service_code", d.ServiceCode); err != nil {
		return err
	}
	if d.Method != "" {
		if err := validMethod(d.Method); err != nil {
			return err
		}
	}
	if len(d.City) > 100 {
		return invalid("city", "longer than 100 bytes")
	}
	if len(d.CertificateSeries) > 16 {
		return invalid("certificate_series", "longer than 16 bytes")
	}
	return needMatch("certificate_number", d.CertificateNumber, reCertNo, "6–12 digits")
}

func (d *KaspiOrderCreatedData) Validate() error {
	return needMatch("waybill", d.Waybill, reWaybill, "6–32 capital letters, digits or '-'")
}

func (d *CollectedFromRagsData) Validate() error      { return d.validate() }
func (d *ReceivedAtAccumulationData) Validate() error { return d.validate() }
func (d *OutForPostomatDeliveryData) Validate() error { return d.validate() }
func (d *CollectedByRecipientData) Validate() error   { return d.validate() }
func (d *RemovedFromCellData) Validate() error        { return d.validate() }
func (d *ReturnedToKaspiIntakeData) Validate() error  { return d.validate() }
func (d *ReceivedAtIssuanceData) Validate() error {
	if len(d.CONAddress) > 500 {
		return invalid("con_address", "longer than 500 bytes")
	}
	return d.validate()
}
func (d *IssuedToRecipientData) Validate() error {
	if err := d.validate(); err != nil {
		return err
	}
	if d.Identity == nil {
		return invalid("identity", "required: how the recipient's identity was checked (in person, or a representative's notarised power of attorney; 003 §9, P.35)")
	}
	return d.Identity.validate("identity")
}
func (d *TransferredForStorageData) Validate() error { return d.validate() }
func (d *AcceptedAtKaspiIntakeData) Validate() error { return d.validate() }

func (d *RoutedForDeliveryData) Validate() error { return validMethod(d.Method) }

func validKind(k RegistryKind) error {
	switch k {
	case RegistryDispatch, RegistryRagsIssuance, RegistryIntakeAcceptance, RegistryReturnCollection:
		return nil
	}
	return invalid("kind", "unknown registry kind %q", k)
}

func (d *AddedToRegistryData) Validate() error {
	if d.RegistryID == uuid.Nil {
		return invalid("registry_id", "required")
	}
	if d.Line < 1 {
		return invalid("line", "must be 1 or more")
	}
	if d.To != nil {
		if err := d.To.validate("to", true); err != nil {
			return err
		}
	}
	return validKind(d.Kind)
}

func (d *PackedData) Validate() error {
	if err := needMatch("envelope_label", d.EnvelopeLabel, reWaybill, "the waybill number (P.16)"); err != nil {
		return err
	}
	return needMatch("seal_number", d.SealNumber, reSeal, "4–32 capital letters, digits or '-'")
}

func (d *HandedToCourierData) Validate() error {
	if d.RegistryID == uuid.Nil {
		return invalid("registry_id", "required: documents leave by dispatch registry (P.17)")
	}
	return d.validate()
}

func (d *CollectedFromKaspiIntakeData) Validate() error {
	if d.RegistryID == uuid.Nil {
		return invalid("registry_id", "required: returns are collected by registry (P.33)")
	}
	return d.validate()
}

func (d *PlacedInCellData) Validate() error {
	if err := d.validate(); err != nil {
		return err
	}
	if err := needMatch("postomat_id", d.PostomatID, rePostomat, "3–32 capital letters, digits or '-'"); err != nil {
		return err
	}
	return needMatch("cell_id", d.CellID, reCell, "1–8 capital letters or digits")
}

func (d *DeliveryDelayedData) Validate() error {
	if d.NewDate.IsZero() {
		return invalid("new_date", "required (P.27)")
	}
	if len(d.Reason) > 500 {
		return invalid("reason", "longer than 500 bytes")
	}
	return nil
}

func (d *IntakeDiscrepancyData) Validate() error {
	if d.RegistryID == uuid.Nil {
		return invalid("registry_id", "required")
	}
	switch d.Kind {
	case DiscrepancyMissing, DiscrepancyDamaged, DiscrepancyExtra:
	default:
		return invalid("kind", "must be missing, damaged or extra")
	}
	if err := d.Giver.validate("giver", true); err != nil {
		return err
	}
	if err := d.Receiver.validate("receiver", true); err != nil {
		return err
	}
	if len(d.Note) > 500 {
		return invalid("note", "longer than 500 bytes")
	}
	return nil
}

func (d *DocumentLostData) Validate() error {
	if err := needText("cause", d.Cause, 1000); err != nil {
		return err
	}
	if err := d.LastSeen.validate("last_seen", false); err != nil {
		return err
	}
	if d.LossAct == (LossAct{}) {
		return nil // the act may follow (LossActDrawnUp)
	}
	return d.LossAct.validate()
}

// validate checks a whole act: number, date and circumstances go together (P.22(2), P.23(2)).
func (a LossAct) validate() error {
	if err := needCode("act_number", a.ActNumber); err != nil {
		return err
	}
	if a.ActDate == "" {
		return invalid("act_date", "required with the act")
	}
	if _, err := time.Parse(time.DateOnly, a.ActDate); err != nil {
		return invalid("act_date", "must be a date, YYYY-MM-DD")
	}
	return needText("circumstances", a.Circumstances, 2000)
}

func (d *LossActDrawnUpData) Validate() error { return d.LossAct.validate() }

func (d *LossActRegisteredData) Validate() error { return needCode("act_number", d.ActNumber) }

func (d *ApplicationCancelledData) Validate() error { return needCode("act_number", d.ActNumber) }

func (d *DuplicateRequestedData) Validate() error {
	if d.DuplicateDocumentID == uuid.Nil {
		return invalid("duplicate_document_id", "required")
	}
	return nil
}

func (d *DuplicateIssuedData) Validate() error {
	if d.DuplicateDocumentID == uuid.Nil {
		return invalid("duplicate_document_id", "required")
	}
	return nil
}

func (d *DeadlineMissedData) Validate() error {
	if err := needCode("rule", d.Rule); err != nil {
		return err
	}
	if d.Deadline.IsZero() {
		return invalid("deadline", "required")
	}
	return needText("source", d.Source, 100)
}

func (d *EventCorrectedData) Validate() error {
	if d.Corrects == uuid.Nil {
		return invalid("corrects", "required: name the event being corrected")
	}
	return needText("reason", d.Reason, 1000)
}

// MaxClockSkew is how far in the future an occurred_at may lie (clients' clocks drift).
const MaxClockSkew = 2 * time.Minute

// ValidateEvent checks an event's envelope and payload, independent of the stream's state,
// against the embedded calendar's years.
func ValidateEvent(e Event) error { return ValidateEventIn(e, calendar.Default()) }

// ValidateEventIn is ValidateEvent against cal, the calendar the service runs with (the
// embedded one with an operator's override applied).
func ValidateEventIn(e Event, cal *calendar.Calendar) error {
	if e.ID == uuid.Nil {
		return invalid("event_id", "required")
	}
	if e.DocumentID == uuid.Nil {
		return invalid("document_id", "required")
	}
	if e.OccurredAt.IsZero() {
		return invalid("occurred_at", "required")
	}
	if e.Payload == nil {
		return invalid("data", "required")
	}
	if e.Payload.EventType() != e.Type {
		return invalid("type", "payload is of type %s", e.Payload.EventType())
	}
	if err := e.Payload.Validate(); err != nil {
		var ve *ValidationError
		if errors.As(err, &ve) {
			return &ValidationError{Field: "data." + ve.Field, Reason: ve.Reason}
		}
		return err
	}
	return plausible(e, cal)
}
