package domain

import (
	"regexp"
	"time"
)

var reDocNo = regexp.MustCompile(`^[A-Za-z0-9№ -]{1,32}$`) // identity documents, powers of attorney

func (a RecipientContact) validateApplicant(field string) error {
	if !ValidIIN(a.IIN) {
		return invalid(field+".iin", "not a valid IIN (12 digits with a correct control digit)")
	}
	if !ValidPhone(a.Phone) {
		return invalid(field+".phone", "not a Kazakh mobile number in the form +77XXXXXXXXX")
	}
	return nil
}

func validTo(field string, h Holder, org Org) error {
	if err := h.validate(field, org != OrgRecipient); err != nil {
		return err
	}
	if h.Org != org {
		return invalid(field+".org", "must be %q", org)
	}
	return nil
}

func (d *ApplicationAcceptedData) Validate() error {
	if !d.From.IsZero() {
		return invalid("from", "the applicant hands in the file: no holder gives it")
	}
	if err := validTo("to", d.To, OrgGK); err != nil {
		return err
	}
	if err := needCode("receipt_no", d.ReceiptNo); err != nil {
		return err
	}
	if err := needCode("service_code", d.ServiceCode); err != nil {
		return err
	}
	if err := validCity(d.City); err != nil {
		return err
	}
	return d.Applicant.validateApplicant("applicant")
}

// validCity: an application's city is optional and, like a document's, at most 100 bytes.
func validCity(c string) error {
	if c != "" {
		return needText("city", c, 100)
	}
	return nil
}

func (d *ApplicationRefusedAtIntakeData) Validate() error {
	if err := needCode("receipt_no", d.ReceiptNo); err != nil {
		return err
	}
	if err := needCode("service_code", d.ServiceCode); err != nil {
		return err
	}
	if len(d.Missing) == 0 || len(d.Missing) > 50 {
		return invalid("missing", "name the 1–50 documents missing from the set (A1–A3 §9)")
	}
	for _, m := range d.Missing {
		if err := needText("missing", m, 200); err != nil {
			return err
		}
	}
	if err := validCity(d.City); err != nil {
		return err
	}
	return d.Applicant.validateApplicant("applicant")
}

func (d *ApplicationForwardedData) Validate() error {
	if err := validTo("from", d.From, OrgGK); err != nil {
		return err
	}
	return validTo("to", d.To, OrgRAGS)
}

func (d *ApplicationRegisteredData) Validate() error {
	if err := needCode("registration_no", d.RegistrationNo); err != nil {
		return err
	}
	if err := validCity(d.City); err != nil {
		return err
	}
	if d.ServiceCode != "" {
		if err := needCode("service_code", d.ServiceCode); err != nil {
			return err
		}
	}
	switch d.Channel {
	case "", ChannelOffice, ChannelPortal:
	case ChannelGK:
		return invalid("channel", "an application filed at a ЦОН starts with ApplicationAccepted")
	default:
		return invalid("channel", "must be office or portal")
	}
	if d.Applicant != nil {
		if err := d.Applicant.validateApplicant("applicant"); err != nil {
			return err
		}
	}
	if d.To != nil {
		return validTo("to", *d.To, OrgRAGS)
	}
	return nil
}

func (d *ResolutionImposedData) Validate() error {
	if err := needMatch("executor", d.Executor, reEmployee, "an employee id"); err != nil {
		return err
	}
	if d.Due.IsZero() {
		return invalid("due", "required (§5.2: the resolution names the due date)")
	}
	return nil
}

func (d *ReviewCompletedData) Validate() error {
	switch d.Decision {
	case DecisionApprove:
		if len(d.Reasons) > 0 {
			return invalid("reasons", "an approval carries no refusal reasons")
		}
		return nil
	case DecisionRefuse:
		if len(d.Reasons) == 0 || len(d.Reasons) > 20 {
			return invalid("reasons", "a refusal states 1–20 reasons")
		}
		for _, r := range d.Reasons {
			if err := needText("reasons", r, 1000); err != nil {
				return err
			}
		}
		return nil
	}
	return invalid("decision", "must be approve or refuse")
}

func (d *ReviewExtendedData) Validate() error {
	if d.Days < 1 || d.Days > 366 {
		return invalid("days", "calendar days of the extension, 1 or more")
	}
	return needText("reason", d.Reason, 1000)
}

func (d *ExtensionNotifiedData) Validate() error {
	if len(d.Extension) > 64 {
		return invalid("extension_event_id", "longer than 64 bytes")
	}
	return nil
}

func (d *RecordFormedData) Validate() error { return needCode("record_no", d.RecordNo) }

func (r Result) validate() error {
	switch r.Kind {
	case ResultCertificate:
		if len(r.Series) > 16 {
			return invalid("result.series", "longer than 16 bytes")
		}
		return needMatch("result.number", r.Number, reCertNo, "6–12 digits")
	case ResultSpravka, ResultAnswer, ResultRefusal:
		if r.Series != "" {
			return invalid("result.series", "only a certificate has a series")
		}
		return needCode("result.number", r.Number)
	}
	return invalid("result.kind", "must be certificate, spravka, answer or refusal")
}

func (d *ResultSignedData) Validate() error { return d.Result.validate() }

func (c IdentityCheck) validate(field string) error {
	if err := needCode(field+".document_type", c.DocumentType); err != nil {
		return err
	}
	if err := needMatch(field+".document_number", c.DocumentNumber, reDocNo, "1–32 letters, digits or '-'"); err != nil {
		return err
	}
	switch c.Method {
	case IdentityInPerson:
		if c.PowerOfAttorney != nil {
			return invalid(field+".power_of_attorney", "only a representative shows a power of attorney")
		}
		return nil
	case IdentityRepresentative:
		p := c.PowerOfAttorney
		if p == nil {
			return invalid(field+".power_of_attorney", "required: a representative shows a notarised power of attorney (§9)")
		}
		if err := needMatch(field+".power_of_attorney.number", p.Number, reDocNo, "1–32 letters, digits or '-'"); err != nil {
			return err
		}
		if _, err := time.Parse(time.DateOnly, p.Date); err != nil {
			return invalid(field+".power_of_attorney.date", "must be a date YYYY-MM-DD")
		}
		return nil
	}
	return invalid(field+".method", "must be in_person or representative")
}

func (d *ResultDispatchedData) Validate() error {
	if err := validTo("from", d.From, OrgRAGS); err != nil {
		return err
	}
	switch d.Destination {
	case ToGK:
		if d.Identity != nil {
			return invalid("identity", "checked when GK issues the result, not at dispatch")
		}
		return validTo("to", d.To, OrgGK)
	case ToPortal:
		if d.Identity != nil {
			return invalid("identity", "a portal result needs no identity check here")
		}
		return validTo("to", d.To, OrgRecipient)
	case ToRecipient:
		if d.Identity == nil {
			return invalid("identity", "required: the result is issued against an identity document")
		}
		if err := d.Identity.validate("identity"); err != nil {
			return err
		}
		return validTo("to", d.To, OrgRecipient)
	}
	return invalid("destination", "must be recipient, gk or portal")
}

func (d *ResultReceivedAtGKData) Validate() error {
	if err := validTo("from", d.From, OrgGK); err != nil {
		return err
	}
	return validTo("to", d.To, OrgGK)
}

func (d *ResultIssuedData) Validate() error {
	if err := validTo("from", d.From, OrgGK); err != nil {
		return err
	}
	if err := validTo("to", d.To, OrgRecipient); err != nil {
		return err
	}
	if err := needCode("receipt_no", d.ReceiptNo); err != nil {
		return err
	}
	return d.Identity.validate("identity")
}
