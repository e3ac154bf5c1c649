// Package model holds the read models as data: the tables (one definition for SQLite and
// PostgreSQL), and pure functions from a stream's events to the rows that stream owns. The
// runner diffs a stream's rows before and after a batch and writes only the difference, so the
// tables are always a function of the log prefix they have seen: a rebuild from position zero
// gives the same rows, byte for byte, as incremental application.
package model

import (
	"fmt"
	"strings"
)

// Column is one column of a read-model table. Values are int64 or string, never NULL, so the
// same SQL runs on both databases and rows compare exactly (times are Unix microseconds, UTC;
// zero means "none"; JSON is stored as text).
type Column struct {
	Name string
	Text bool
}

// Table is a read-model table. Its first PK columns are its primary key. Each generation
// has its own copy, named by Name(gen).
type Table struct {
	Base    string
	Cols    []Column
	PK      int
	Indexes []Index
}

// Index is a secondary index. Indexes the runner itself needs while it builds a generation
// (Build) are created with the table; the others only when a rebuild has caught up, because
// building an index over a full table is much cheaper than maintaining it row by row.
type Index struct {
	Cols  []string
	Build bool
}

func ix(cols ...string) Index    { return Index{Cols: cols} }
func build(cols ...string) Index { return Index{Cols: cols, Build: true} }

// Name is the table's name in generation gen: rm<gen>_<base>.
func (t *Table) Name(gen int64) string { return fmt.Sprintf("rm%d_%s", gen, t.Base) }

// ColNames lists the column names in order.
func (t *Table) ColNames() []string {
	out := make([]string, len(t.Cols))
	for i, c := range t.Cols {
		out[i] = c.Name
	}
	return out
}

// Col returns the index of a column, or panics (table definitions are static).
func (t *Table) Col(name string) int {
	for i, c := range t.Cols {
		if c.Name == name {
			return i
		}
	}
	panic("model: no column " + name + " in " + t.Base)
}

// DDL returns the statement that creates the table in generation gen. The types (BIGINT,
// TEXT) mean the same on SQLite and PostgreSQL.
func (t *Table) DDL(gen int64) string {
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE TABLE %s (", t.Name(gen))
	for _, c := range t.Cols {
		typ := "BIGINT NOT NULL DEFAULT 0"
		if c.Text {
			typ = "TEXT NOT NULL DEFAULT ''"
		}
		fmt.Fprintf(&b, "%s %s, ", c.Name, typ)
	}
	fmt.Fprintf(&b, "PRIMARY KEY (%s))", strings.Join(t.ColNames()[:t.PK], ", "))
	return b.String()
}

// IndexDDL returns the statements that create the table's secondary indexes in generation
// gen: those needed while building (build true) or the others.
func (t *Table) IndexDDL(gen int64, build bool) []string {
	var out []string
	for i, x := range t.Indexes {
		if x.Build == build {
			out = append(out, fmt.Sprintf("CREATE INDEX %s_i%d ON %s (%s)", t.Name(gen), i, t.Name(gen), strings.Join(x.Cols, ", ")))
		}
	}
	return out
}

func txt(n string) Column { return Column{Name: n, Text: true} }
func num(n string) Column { return Column{Name: n} }

// The read-model tables. Column order is the order of Row values.
var (
	// Documents: one row per document stream, its folded state.
	Documents = &Table{Base: "documents", PK: 1, Cols: []Column{
		txt("document_id"), txt("status"), txt("method"), txt("application_no"), txt("service_code"), txt("city"),
		txt("holder_org"), txt("holder_unit"), txt("holder_employee"), num("holder_since"),
		num("version"), num("last_occurred"), num("last_position"), txt("flags"),
	}, Indexes: []Index{ix("holder_unit"), build("city"), ix("status", "document_id"), // city: the region a force-majeure period covers; status: the console's documents by state
		ix("status", "holder_org")}} // the console's overview counts by state and holder from the index alone

	// Intervals: custody intervals of each document (domain.CustodyIntervals).
	Intervals = &Table{Base: "intervals", PK: 2, Cols: []Column{
		txt("document_id"), num("seq"), txt("holder_org"), txt("holder_unit"), txt("holder_employee"),
		num("from_at"), num("to_at"), txt("opened_by"), txt("opened_type"), txt("closed_by"), txt("closed_type"),
	}, Indexes: []Index{ix("from_at")}} // the console's hand-overs today

	// Clocks: every deadline clock of every document, one row per charged organisation ("" for
	// rules that charge no one), with the deadline moved by force majeure for that
	// organisation. due is the deadline the watch still has to record as missed (a breach,
	// not yet recorded, on a document that can still take the record), else 0. notice_owed is
	// 1 when the rule wants the recipient told of a delay and no notice was recorded (P.27).
	Clocks = &Table{Base: "clocks", PK: 4, Cols: []Column{
		txt("document_id"), txt("rule"), txt("start_event"), txt("org"),
		num("start_at"), num("deadline"), num("adjusted"), num("breach"), txt("source"), txt("charged"),
		txt("start_holder"), num("stopped"), num("stopped_at"), txt("stop_event"), txt("stop_type"),
		txt("force_majeure"), txt("error"), txt("missed_event"), num("due"), num("notice_owed"),
	}, Indexes: []Index{build("stopped", "adjusted"), build("error"), ix("due"),
		// the overdue list's order: a page reads its rows in index order and stops
		ix("stopped", "error", "adjusted", "document_id", "rule", "start_event", "org"), // the first two find clocks a force-majeure period moves
		// the same list filtered by rule (and organisation: a rule charges mostly one, so the
		// index's org column filters a dense run; one index less to write on every clock change)
		ix("rule", "stopped", "error", "adjusted", "document_id", "start_event", "org")}}

	// Charges: liability per document (domain.Liability): losses, missed deadlines, missing lines.
	Charges = &Table{Base: "charges", PK: 2, Cols: []Column{
		txt("document_id"), num("seq"), txt("org"), txt("kind"), txt("rule"), txt("source"), num("at"),
		txt("holder"), txt("event_ids"), txt("reasons"), num("for_commission"), txt("corrected_by"),
		txt("superseded_by"), // JSON list of the force-majeure periods that moved a recorded miss; '' when live
	}, Indexes: []Index{ix("org", "at"), ix("at")}}

	// Notifications: every notification a trigger of DOMAIN.md produced, with masked contact.
	// Delivery status lives in the outbox, which outlives generations.
	Notifications = &Table{Base: "notifications", PK: 1, Cols: []Column{
		txt("dedup_key"), txt("document_id"), txt("trigger_event"), txt("trigger_type"), txt("channel"),
		num("position"), num("created_at"), txt("recipient"), txt("text_ru"), txt("text_kk"), txt("source"), txt("details"),
	}, Indexes: []Index{ix("position"), ix("document_id", "position", "dedup_key")}} // a document's, in list order

	// Registries: one row per registry stream.
	Registries = &Table{Base: "registries", PK: 1, Cols: []Column{
		txt("registry_id"), txt("kind"), txt("status"), txt("from_org"), txt("from_unit"), txt("to_org"), txt("to_unit"),
		txt("courier"), num("formed_at"), txt("formed_date"), num("handed_at"), num("accepted_at"), txt("accepted_by"),
		num("n_lines"), num("n_accepted"), num("n_missing"), num("n_damaged"), num("n_extra"),
		num("version"), num("last_position"),
	}, Indexes: []Index{ix("formed_at")}}

	// RegistryLines: the lines of each registry and what became of each (listed, handed_over,
	// accepted, damaged, missing, extra), from the registry stream.
	RegistryLines = &Table{Base: "registry_lines", PK: 2, Cols: []Column{
		txt("registry_id"), txt("document_id"), num("line"), txt("state"),
	}}

	// Discrepancies: the IntakeDiscrepancy events of document streams, by registry: who gave
	// (held last) and who received each missing, damaged or extra line.
	Discrepancies = &Table{Base: "discrepancies", PK: 3, Cols: []Column{
		txt("registry_id"), txt("document_id"), txt("kind"), txt("event_id"), num("at"),
		txt("giver"), txt("receiver"), txt("note"),
	}}

	// ForceMajeure: declared periods (P.37–P.39).
	ForceMajeure = &Table{Base: "force_majeure", PK: 1, Cols: []Column{
		txt("fm_id"), num("from_at"), num("to_at"), txt("orgs"), txt("region"), txt("notifying_org"),
		num("notified_at"), num("timely"), txt("description"), num("position"),
	}}

	// Disputes: the commission's record (P.36).
	Disputes = &Table{Base: "disputes", PK: 1, Cols: []Column{
		txt("dispute_id"), num("opened_at"), txt("document_ids"), txt("parties"), txt("subject"), txt("status"),
		num("resolved_at"), txt("protocol"), txt("decision"), txt("charged_to"),
	}}

	// DisputeDocuments indexes disputes by document.
	DisputeDocuments = &Table{Base: "dispute_documents", PK: 2, Cols: []Column{
		txt("document_id"), txt("dispute_id"), num("opened_at"),
	}}
)

// Quarantine: events this generation skipped because it could not project them (they do
// not decode, or projecting them failed), so that the runner goes on. Never the payload. A
// rebuild makes a new generation, so a fix plus a rebuild clears them.
var Quarantine = &Table{Base: "quarantine", PK: 1, Cols: []Column{
	num("position"), txt("stream"), num("version"), txt("type"), txt("error"), num("recorded_at"),
}}

// Tables lists every read-model table of a generation.
var Tables = []*Table{Documents, Intervals, Clocks, Charges, Notifications, Registries, RegistryLines,
	Discrepancies, ForceMajeure, Disputes, DisputeDocuments, Quarantine, Transmissions, AppSteps}

// Transmissions: the statuses Kaspi passes to ИИС ЦОН (P.9, P.20, P.22(3), P.31), one per
// status event, and ИИС ЦОН's acknowledgement (StatusTransmissionAcknowledged). Delivery
// status lives in the outbox, as for notifications.
var Transmissions = &Table{Base: "transmissions", PK: 1, Cols: []Column{
	txt("dedup_key"), txt("document_id"), txt("trigger_event"), txt("status"), txt("source"), num("position"),
	num("created_at"), txt("ack_event"), num("acked_at"), num("received_at"),
}, Indexes: []Index{ix("document_id"), ix("created_at")}}

// Version is the read models' version: change it whenever a table or a row function
// changes, so that a generation built by older code is rebuilt instead of read.
const Version = 7
