package domain

// Role is what an API key may do; see DOMAIN.md, Parties.
type Role string

const (
	RoleRAGS           Role = "rags"
	RoleGKCourier      Role = "gk_courier"
	RoleGKAccumulation Role = "gk_accumulation"
	RoleGKIssuance     Role = "gk_issuance"
	RoleKaspiIntake    Role = "kaspi_intake"
	RoleKaspiCourier   Role = "kaspi_courier"
	RolePostomat       Role = "postomat"
	RoleRecipient      Role = "recipient"
	RoleKaspiPlatform  Role = "kaspi_platform"
	RoleIISCON         Role = "iis_con"
	RoleAuditor        Role = "auditor"
	RoleCommission     Role = "commission"
	RoleAdmin          Role = "admin"
	// RoleSystem is the ledger itself (the deadline watch). No key can carry it.
	RoleSystem Role = "system"
)

// The provider's positions for the services of seed 003 (DOMAIN.md, Other services).
const (
	RoleRAGSOffice   Role = "rags_office"   // канцелярия: registers, dispatches, tells of extensions
	RoleRAGSHead     Role = "rags_head"     // руководитель: resolution, extension, signature
	RoleRAGSExecutor Role = "rags_executor" // ответственный исполнитель: review, record
)

// Org is an organisation that answers for a document while it holds it.
type Org string

const (
	OrgRAGS      Org = "rags"
	OrgGK        Org = "gk"
	OrgKaspi     Org = "kaspi"
	OrgRecipient Org = "recipient"
	// OrgLedger is the ledger's own deadline watch.
	OrgLedger Org = "ledger"
)

// Roles lists every role a key may carry.
var Roles = []Role{RoleRAGS, RoleGKCourier, RoleGKAccumulation, RoleGKIssuance, RoleKaspiIntake,
	RoleKaspiCourier, RolePostomat, RoleRecipient, RoleKaspiPlatform, RoleIISCON, RoleAuditor,
	RoleCommission, RoleAdmin, RoleRAGSOffice, RoleRAGSHead, RoleRAGSExecutor}

// OrgOf returns the organisation a role acts for ("" for roles outside the three
// organisations: auditor, commission, admin).
func OrgOf(r Role) Org {
	switch r {
	case RoleRAGS, RoleRAGSOffice, RoleRAGSHead, RoleRAGSExecutor:
		return OrgRAGS
	case RoleGKCourier, RoleGKAccumulation, RoleGKIssuance, RoleIISCON:
		return OrgGK
	case RoleKaspiIntake, RoleKaspiCourier, RolePostomat, RoleKaspiPlatform:
		return OrgKaspi
	case RoleRecipient:
		return OrgRecipient
	case RoleSystem:
		return OrgLedger
	}
	return ""
}

// ValidRole reports whether r is a role a key may carry.
func ValidRole(r Role) bool {
	for _, x := range Roles {
		if x == r {
			return true
		}
	}
	return false
}

// Holder is whoever physically holds a document: organisation, unit (office, sector,
// intake point, postomat) and the employee who signed for it.
type Holder struct {
	Org        Org    `json:"org"`
	Unit       string `json:"unit,omitempty"`
	EmployeeID string `json:"employee_id,omitempty"`
}

// SamePlace reports whether two holders are the same organisation and unit (the employee
// who signs may differ between shifts).
func (h Holder) SamePlace(o Holder) bool { return h.Org == o.Org && h.Unit == o.Unit }

// IsZero reports whether h names nobody.
func (h Holder) IsZero() bool { return h == Holder{} }

// Actor is who records an event: the key's role, organisation and unit, and the employee.
type Actor struct {
	Role       Role   `json:"role"`
	Org        Org    `json:"org"`
	Unit       string `json:"unit,omitempty"`
	EmployeeID string `json:"employee_id,omitempty"`
}
