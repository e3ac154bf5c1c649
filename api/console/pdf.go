package console

import (
	"bytes"
	_ "embed"
	"fmt"
	"net/http"
	"strings"

	"github.com/go-pdf/fpdf"

	"github.com/custody-ledger/custody/domain"
	"github.com/custody-ledger/custody/projections/query"
)

// DejaVuSansConsole.ttf is DejaVu Sans cut down to what the forms print: Basic Latin, Latin-1
// and Latin Extended-A, Cyrillic with the Kazakh letters (ә ғ қ ң ө ұ ү һ і), punctuation, ₸,
// №, arrows, − ≠ ≤ ≥ and ✓ ✔ ✗ ✘ (TestFontCoversLabels). fpdf parses the font it is given on
// every PDF, and again to cut it when writing; the whole 760 KB font cost about 30 ms a PDF of
// CPU, this 60 KB cut a quarter of it. It was made once, not at build time, with fontTools:
//
//	pyftsubset DejaVuSans.ttf --output-file=DejaVuSansConsole.ttf --no-hinting --layout-features='' \
//	  --name-IDs='*' --notdef-outline --glyph-names --unicodes="U+0020-007E,U+00A0-017F,U+0400-04FF,\
//	  U+2010-2027,U+2030-203A,U+20AC,U+20B8,U+2116,U+2122,U+2190-2193,U+2212,U+2260-2265,U+2713-2718"
//
// Its licence (renamed modified copies allowed) is in static/DejaVuSans.LICENSE.
//
//go:embed static/DejaVuSansConsole.ttf
var fontTTF []byte

const fontName = "dejavu"

// form is an A4 PDF being written: the title, the lines, and the ledger's hash in the footer
// of every page, so that a paper copy can be checked against the ledger.
type form struct {
	pdf *fpdf.Fpdf
	l   lang
}

func newForm(l lang, title string, head streamHead, printed string) *form {
	p := fpdf.New("P", "mm", "A4", "")
	p.SetCompression(true)
	p.AddUTF8FontFromBytes(fontName, "", fontTTF)
	p.SetTitle(title, true)
	p.SetCreator("custody console", true)
	p.SetMargins(15, 15, 15)
	p.SetAutoPageBreak(true, 22)
	f := &form{pdf: p, l: l}
	p.SetFooterFunc(func() {
		p.SetY(-18)
		p.SetFont(fontName, "", 7)
		p.MultiCell(0, 3.5, fmt.Sprintf("%s: %s, %s %d, %s %d\nSHA-256 %s\n%s %s · %d/{nb}",
			tr(l, "ledger_hash"), head.Stream, tr(l, "version"), head.Version, tr(l, "position"), head.Position,
			head.Hash, tr(l, "asof"), printed, p.PageNo()), "T", "L", false)
	})
	p.AliasNbPages("{nb}")
	p.AddPage()
	p.SetFont(fontName, "", 14)
	p.MultiCell(0, 7, title, "", "L", false)
	p.Ln(2)
	p.SetFont(fontName, "", 9)
	return f
}

// field writes "label: value".
func (f *form) field(label, value string) {
	f.pdf.MultiCell(0, 5, label+": "+value, "", "L", false)
}

func (f *form) heading(s string) {
	f.pdf.Ln(2)
	f.pdf.SetFont(fontName, "", 11)
	f.pdf.MultiCell(0, 6, s, "", "L", false)
	f.pdf.SetFont(fontName, "", 8)
}

// table writes rows with fixed column widths (mm), wrapping none: cells are cut to fit.
func (f *form) table(widths []float64, header []string, rows [][]string) {
	p := f.pdf
	p.SetFont(fontName, "", 8)
	p.SetFillColor(235, 235, 235)
	for i, h := range header {
		p.CellFormat(widths[i], 6, fit(p, h, widths[i]), "1", 0, "L", true, 0, "")
	}
	p.Ln(-1)
	for _, row := range rows {
		for i, cell := range row {
			p.CellFormat(widths[i], 5.5, fit(p, cell, widths[i]), "1", 0, "L", false, 0, "")
		}
		p.Ln(-1)
	}
}

// fit shortens s to the cell's width.
func fit(p *fpdf.Fpdf, s string, w float64) string {
	if p.GetStringWidth(s) <= w-2 {
		return s
	}
	r := []rune(s)
	for len(r) > 1 && p.GetStringWidth(string(r)+"…") > w-2 {
		r = r[:len(r)-1]
	}
	return string(r) + "…"
}

func (f *form) signatures(who ...string) {
	f.pdf.Ln(8)
	f.pdf.SetFont(fontName, "", 9)
	for _, w := range who {
		f.pdf.MultiCell(0, 8, w+": ______________________  /  ______________", "", "L", false)
	}
}

func (f *form) send(w http.ResponseWriter, name string) error {
	var buf bytes.Buffer
	if err := f.pdf.Output(&buf); err != nil {
		return fmt.Errorf("console: pdf: %w", err)
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s"`, name))
	w.Header().Set("Cache-Control", "no-store")
	_, err := w.Write(buf.Bytes())
	return err
}

func (c *Console) registryPDF(w http.ResponseWriter, r *http.Request) error {
	d, err := c.loadRegistry(r)
	if err != nil {
		return err
	}
	l := viewerOf(r.Context()).Lang
	reg := d.R
	f := newForm(l, tr(l, "regkind."+string(reg.Kind)), d.Head, fmtTime(d.Now))
	f.field("ID", reg.RegistryID.String())
	f.field(tr(l, "status"), tr(l, "regstatus."+reg.Status))
	f.field(tr(l, "from"), holderLabel(reg.From))
	f.field(tr(l, "to"), holderLabel(reg.To))
	if reg.Courier != nil {
		f.field(tr(l, "courier"), holderLabel(*reg.Courier))
	}
	f.field(tr(l, "formed"), fmtTime(reg.FormedAt))
	f.field(tr(l, "handed"), tpOr(reg.HandedOverAt))
	f.field(tr(l, "accepted_at"), tpOr(reg.AcceptedAt))
	f.heading(fmt.Sprintf("%s: %d", tr(l, "lines"), reg.Counts.Lines))
	rows := make([][]string, len(reg.Lines))
	for i, ln := range reg.Lines {
		h := "—"
		if ln.Holder != nil {
			h = holderLabel(*ln.Holder)
		}
		rows[i] = []string{fmt.Sprint(ln.Line), ln.DocumentID.String(), tr(l, "linestate."+ln.State), tr(l, "state."+ln.DocumentStatus), h}
	}
	f.table([]float64{12, 68, 28, 34, 38}, []string{"№", tr(l, "document"), tr(l, "line_state"), tr(l, "state"), tr(l, "holder")}, rows)
	if rec := reg.Reconciliation; rec != nil {
		f.heading(tr(l, "reconciliation"))
		if rec.Balanced {
			f.field(tr(l, "reconciliation"), tr(l, "balanced"))
		}
		for _, g := range []struct {
			key   string
			items []query.Discrepancy
		}{{"missing", rec.Missing}, {"damaged", rec.Damaged}, {"extra", rec.Extra}} {
			for _, x := range g.items {
				f.field(tr(l, g.key), fmt.Sprintf("%s %d, %s; %s: %s", tr(l, "line"), x.Line, x.DocumentID,
					tr(l, "last_holder"), hpOr(x.LastHolder)))
			}
		}
	}
	f.signatures(tr(l, "from"), tr(l, "courier"), tr(l, "to"))
	return f.send(w, "registry-"+reg.RegistryID.String()+".pdf")
}

func (c *Console) caseFilePDF(w http.ResponseWriter, r *http.Request) error {
	d, err := c.loadCase(r)
	if err != nil {
		return err
	}
	l := viewerOf(r.Context()).Lang
	f := newForm(l, tr(l, "case_file")+": "+d.ID.String(), d.Head, fmtTime(d.Now))
	f.field(tr(l, "state"), tr(l, "state."+d.C.State))
	f.field(tr(l, "holder"), hpOr(d.C.Holder))
	chain := tr(l, "chain.ok")
	if !d.Chain.OK {
		chain = tr(l, "chain.broken")
	}
	f.field(tr(l, "chain"), fmt.Sprintf("%s (%d %s)", chain, d.Chain.Events, tr(l, "verify.events")))
	f.heading(tr(l, "intervals"))
	rows := make([][]string, len(d.C.Intervals))
	for i, iv := range d.C.Intervals {
		rows[i] = []string{holderLabel(iv.Holder), fmtTime(iv.From), tpOr(iv.To), iv.OpenedType}
	}
	f.table([]float64{62, 30, 30, 58}, []string{tr(l, "holder"), tr(l, "period_from"), tr(l, "period_to"), tr(l, "event")}, rows)
	if len(d.Registry) > 0 {
		f.heading(tr(l, "registries_of_doc"))
		for _, reg := range d.Registry {
			f.field(tr(l, "regkind."+string(reg.Kind)), fmt.Sprintf("%s, %s → %s, %s", reg.RegistryID,
				holderLabel(reg.From), holderLabel(reg.To), tr(l, "regstatus."+reg.Status)))
		}
	}
	f.heading(tr(l, "clocks"))
	rows = rows[:0]
	for _, k := range d.C.Deadlines {
		rows = append(rows, []string{tr(l, "rule."+k.Rule), string(k.Org), tpOr(k.Deadline), tpOr(k.BaseDeadline), tpOr(k.StoppedAt)})
	}
	f.table([]float64{56, 22, 34, 34, 34}, []string{tr(l, "rule"), tr(l, "charged"), tr(l, "deadline"), tr(l, "base_deadline"), tr(l, "stopped")}, rows)
	for _, fm := range d.FM {
		f.field(tr(l, "force_majeure"), fmt.Sprintf("%s – %s %s %s", fmtTime(fm.From), fmtTime(fm.To), fm.Region, fm.ID))
	}
	f.heading(tr(l, "charges"))
	for _, ch := range d.C.Liability {
		f.field(tr(l, "charge."+ch.Kind)+" · "+tr(l, "org."+string(ch.Org)), fmt.Sprintf("%s, %s; %s", ch.Source,
			fmtTime(ch.At), strings.Join(ch.Reasons, "; ")))
	}
	f.heading(tr(l, "evidence"))
	rows = rows[:0]
	for _, e := range d.Events {
		rows = append(rows, []string{fmt.Sprint(e.Version), e.Type, fmtTime(e.OccurredAt), e.EventID.String(), e.Hash})
	}
	f.table([]float64{8, 36, 26, 55, 55}, []string{"#", tr(l, "event"), tr(l, "occurred"), "ID", tr(l, "hash")}, rows)
	if p := d.Proofs; p != nil {
		f.heading(tr(l, "inclusion"))
		f.field(tr(l, "checkpoint"), fmt.Sprintf("%s, %s %d, %s", p.Checkpoint.Origin, tr(l, "tree_size"), p.Checkpoint.Size,
			fmtTime(p.Checkpoint.CreatedAt)))
		f.field(tr(l, "root"), p.Root)
		f.pdf.SetFont(fontName, "", 6)
		for _, e := range p.Events {
			line := fmt.Sprintf("%s #%d: %s", e.EventID, e.Position, tr(l, "pending"))
			if !e.Pending {
				line = fmt.Sprintf("%s #%d, %s %d: %s", e.EventID, e.Position, tr(l, "leaf"), e.Index, strings.Join(e.Hashes, " "))
			}
			f.pdf.MultiCell(0, 3, line, "", "L", false)
		}
		f.pdf.SetFont(fontName, "", 9)
	}
	if len(d.C.Disputes) > 0 {
		f.heading(tr(l, "disputes"))
		for _, x := range d.C.Disputes {
			dec := x.Decision
			if dec == "" {
				dec = tr(l, "no_decision")
			}
			f.field(tr(l, "dispute")+" "+x.DisputeID.String(), fmt.Sprintf("%s; %s: %s %s", x.Subject, tr(l, "decision"), x.Protocol, dec))
		}
	}
	f.signatures(tr(l, "parties"))
	return f.send(w, "case-"+d.ID.String()+".pdf")
}

func (c *Console) lossActPDF(w http.ResponseWriter, r *http.Request) error {
	d, err := c.loadCase(r)
	if err != nil {
		return err
	}
	a := d.LossAct
	if a == nil {
		return errNotFound
	}
	l := viewerOf(r.Context()).Lang
	f := newForm(l, tr(l, "loss_act")+" "+a.ActNumber+" (P.22–P.24)", d.Head, fmtTime(d.Now))
	f.field(tr(l, "document"), d.ID.String())
	f.field(tr(l, "occurred"), fmtTime(a.Report.OccurredAt))
	f.field(tr(l, "actor"), fmt.Sprintf("%s, %s", a.Report.Actor.Role, holderLabel(domain.Holder{Org: a.Report.Actor.Org,
		Unit: a.Report.Actor.Unit, EmployeeID: a.Report.Actor.EmployeeID})))
	f.field("cause", a.Cause)
	f.field(tr(l, "last_holder"), hpOr(a.LastHolder))
	for _, ch := range a.Charges {
		f.field(tr(l, "charged"), fmt.Sprintf("%s (%s): %s", tr(l, "org."+string(ch.Org)), ch.Source, strings.Join(ch.Reasons, "; ")))
	}
	f.heading(tr(l, "evidence"))
	for _, e := range []*eventRow{&a.Report, a.Act, a.Cancellation} {
		if e != nil {
			f.field(e.Type, fmt.Sprintf("%s, %s, SHA-256 %s", e.EventID, fmtTime(e.OccurredAt), e.Hash))
		}
	}
	f.signatures(tr(l, "org.gk"), tr(l, "org.rags"))
	return f.send(w, "loss-act-"+d.ID.String()+".pdf")
}
