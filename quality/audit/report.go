package audit

import (
	"bufio"
	"container/heap"
	"encoding/binary"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pwndex/pwndex/quality"
)

// Report is the outcome of an audit. Its JSON form (report.json) holds
// totals only, no identifier, and is the same for the local and the
// remote mode on the same data.
// ReportVersion is the format of the audit's report.json.
const ReportVersion = 1

type Report struct {
	// Version is report.json's format (ReportVersion); keys are camelCase,
	// as in every pwndex report.
	Version   int    `json:"version"`
	Input     string `json:"input"`
	Encoding  string `json:"encoding"`
	Delimiter string `json:"delimiter"`
	Counts
	// ExposedCustomers have at least one identifier in a breach.
	ExposedCustomers int64 `json:"exposedCustomers"`
	// ExposureRate is ExposedCustomers / Checked (0 when nothing was checked).
	ExposureRate float64 `json:"exposureRate"`
	// PasswordsExposed customers are in a breach whose data classes
	// include passwords.
	PasswordsExposed int64 `json:"passwordsExposedCustomers"`
	// EmailExposed and PhoneExposed count customers exposed through their
	// e-mail address, their phone number.
	EmailExposed int64 `json:"emailExposedCustomers"`
	PhoneExposed int64 `json:"phoneExposedCustomers"`
	// Breaches lists the breaches that hold customers, most customers first.
	Breaches []BreachStat `json:"breaches"`
	// DataClasses counts customers per exposed data class, most first.
	DataClasses []ClassStat `json:"dataClasses"`
	// Years counts customers per year of breach (a customer in breaches of
	// two years counts in both), oldest first.
	Years []YearStat `json:"years"`
	// BadRowSample holds the first bad_rows.csv entries.
	BadRowSample []BadRow `json:"badRowSample"`

	// Not in report.json:

	// Source describes the lookup ("index ./data", "remote https://...").
	Source string `json:"-"`
	// Resumed is set when the run continued an interrupted one.
	Resumed bool `json:"-"`
	// Files are the paths of the outputs.
	Files []string `json:"-"`
	// Duration is the run's wall time.
	Duration time.Duration `json:"-"`
	// Lookups is the number of range lookups this run made (remote: the
	// range requests, retries excluded), one per distinct kind and prefix
	// that could match; LookupTime is the wall time of that stage. Both
	// differ between modes (a local index rules most identifiers out with
	// its filter), so they are not in report.json.
	Lookups    int64         `json:"-"`
	LookupTime time.Duration `json:"-"`
	// Plan is the lookup stage's plan (prefix lengths, requests, time at
	// the key's rate).
	Plan *Plan `json:"-"`
	// Remote counts the requests and bytes of a remote lookup.
	Remote *RemoteStats `json:"-"`
}

// BreachStat is one breach and how many customers it holds.
type BreachStat struct {
	Name        string   `json:"name"`
	Title       string   `json:"title"`
	Domain      string   `json:"domain"`
	BreachDate  string   `json:"breachDate"`
	DataClasses []string `json:"dataClasses"`
	IsSensitive bool     `json:"isSensitive"`
	IsVerified  bool     `json:"isVerified"`
	Passwords   bool     `json:"passwords"`
	Customers   int64    `json:"customers"`
}

// ClassStat counts customers whose breaches expose a data class.
type ClassStat struct {
	Class     string `json:"class"`
	Customers int64  `json:"customers"`
}

// YearStat counts customers in breaches of one year.
type YearStat struct {
	Year      int   `json:"year"`
	Customers int64 `json:"customers"`
}

// BadRow is one entry of bad_rows.csv.
type BadRow struct {
	Line   int    `json:"line"`
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// badRowSampleSize bounds Report.BadRowSample.
const badRowSampleSize = 100

// hitReader streams one partition's hits file.
type hitReader struct {
	f   *os.File
	r   *bufio.Reader
	p   int
	cur hit
}

func (h *hitReader) next() (bool, error) {
	var hdr [11]byte
	if _, err := io.ReadFull(h.r, hdr[:]); err != nil {
		if err == io.EOF {
			return false, nil
		}
		return false, hitsError(h.p, errHits)
	}
	h.cur.line = binary.BigEndian.Uint64(hdr[:])
	h.cur.kinds = hdr[8]
	n := int(binary.BigEndian.Uint16(hdr[9:]))
	h.cur.breaches = h.cur.breaches[:0]
	var b [4]byte
	for i := 0; i < n; i++ {
		if _, err := io.ReadFull(h.r, b[:]); err != nil {
			return false, hitsError(h.p, errHits)
		}
		h.cur.breaches = append(h.cur.breaches, binary.BigEndian.Uint32(b[:]))
	}
	return true, nil
}

// hitHeap merges partitions by line.
type hitHeap []*hitReader

func (h hitHeap) Len() int           { return len(h) }
func (h hitHeap) Less(i, j int) bool { return h[i].cur.line < h[j].cur.line }
func (h hitHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *hitHeap) Push(x any)        { *h = append(*h, x.(*hitReader)) }
func (h *hitHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// idColumn re-reads the input to find each exposed line's customer ID.
type idColumn struct {
	t   *quality.Table
	f   *os.File
	row quality.Row
	eof bool
}

func (a *auditor) openIDColumn(t *quality.Table) *idColumn {
	if a.cfg.Path == "" || !t.Has(quality.FieldID) {
		return nil
	}
	f, err := os.Open(a.cfg.Path)
	if err != nil {
		return nil
	}
	t2, err := quality.OpenTable(bufio.NewReaderSize(f, 256<<10), a.cfg.Name, a.tableOptions())
	if err != nil || !t2.Has(quality.FieldID) {
		f.Close()
		return nil
	}
	return &idColumn{t: t2, f: f}
}

// lookup returns the ID of the record starting at line (lines ascend).
func (c *idColumn) lookup(line uint64) string {
	for !c.eof && uint64(c.row.Line) < line {
		row, err := c.t.Next()
		if err == io.EOF {
			c.eof = true
			break
		}
		var ie *quality.InputError
		if err != nil && (!errors.As(err, &ie) || ie.Line == 0) {
			c.eof = true
			break
		}
		c.row = row
	}
	if uint64(c.row.Line) == line {
		return c.t.Get(c.row, quality.FieldID)
	}
	return ""
}

// writeReport merges the hits by line into exposed.csv and the totals,
// then writes report.json, report.html and bad_rows.csv.
func (a *auditor) writeReport(ck *checkpoint, t *quality.Table) (Report, error) {
	a.progress(StageReport, 0, 1, ck.RowsDone)
	cat := a.cat.list()
	rep := Report{
		Version:   ReportVersion,
		Input:     filepath.Base(a.cfg.Name),
		Encoding:  t.Encoding(),
		Delimiter: string(t.Delimiter()),
		Counts:    ck.Counters,
		Source:    a.cfg.Lookup.Describe(),
		Resumed:   a.resumed,
	}
	n := 1 << uint(ck.Bits)
	h := make(hitHeap, 0, n)
	defer func() {
		for _, r := range h {
			r.f.Close()
		}
	}()
	for p := 0; p < n; p++ {
		f, err := os.Open(hitsName(a.work, p))
		if err != nil {
			return rep, fmt.Errorf("audit: %w", err)
		}
		fi, err := f.Stat()
		if err != nil || fi.Size() < hitsFooterSize {
			f.Close()
			return rep, hitsError(p, errHits)
		}
		r := &hitReader{f: f, r: bufio.NewReaderSize(io.LimitReader(f, fi.Size()-hitsFooterSize), 16<<10), p: p}
		ok, err := r.next()
		if err != nil {
			f.Close()
			return rep, err
		}
		if !ok {
			f.Close()
			continue
		}
		h = append(h, r)
	}
	heap.Init(&h)

	ids := a.openIDColumn(t)
	if ids != nil {
		defer ids.f.Close()
	}
	perBreach := make([]int64, len(cat))
	perClass := map[string]int64{}
	perYear := map[int]int64{}
	passwords := make([]bool, len(cat))
	for i := range cat {
		passwords[i] = cat[i].HasPasswords()
	}

	outPath := filepath.Join(a.cfg.OutDir, FileExposed)
	err := writeAtomic(outPath, func(f *os.File) error {
		bw := bufio.NewWriterSize(f, 256<<10)
		w := csv.NewWriter(bw)
		if d := t.Delimiter(); d == ';' || d == '\t' || d == '|' {
			w.Comma = d
		}
		head := []string{"line"}
		if ids != nil {
			head = append(head, "customer_id")
		}
		head = append(head, "identifiers", "breaches", "breach_count", "data_classes", "latest_breach", "passwords")
		if err := w.Write(head); err != nil {
			return err
		}
		var cust hit
		var rec []string
		var classes, names []string
		years := map[int]bool{}
		flush := func() error {
			if cust.kinds == 0 {
				return nil
			}
			slices.Sort(cust.breaches)
			cust.breaches = slices.Compact(cust.breaches)
			rep.ExposedCustomers++
			if cust.kinds&1 != 0 {
				rep.EmailExposed++
			}
			if cust.kinds&2 != 0 {
				rep.PhoneExposed++
			}
			classes, names = classes[:0], names[:0]
			clear(years)
			latest, pw := "", false
			for _, id := range cust.breaches {
				b := &cat[id]
				perBreach[id]++
				names = append(names, b.Name)
				classes = append(classes, b.DataClasses...)
				if b.BreachDate > latest {
					latest = b.BreachDate
				}
				if y, ok := breachYear(b.BreachDate); ok {
					years[y] = true
				}
				pw = pw || passwords[id]
			}
			slices.Sort(classes)
			classes = slices.Compact(classes)
			for _, c := range classes {
				perClass[c]++
			}
			for y := range years {
				perYear[y]++
			}
			if pw {
				rep.PasswordsExposed++
			}
			rec = append(rec[:0], strconv.FormatUint(cust.line, 10))
			if ids != nil {
				rec = append(rec, ids.lookup(cust.line))
			}
			rec = append(rec, kindsText(cust.kinds), strings.Join(names, "|"), strconv.Itoa(len(names)),
				strings.Join(classes, "|"), latest, yesNo(pw))
			cust = hit{breaches: cust.breaches[:0]}
			return w.Write(rec)
		}
		for h.Len() > 0 {
			r := h[0]
			if r.cur.line != cust.line && cust.kinds != 0 {
				if err := flush(); err != nil {
					return err
				}
			}
			cust.line = r.cur.line
			cust.kinds |= r.cur.kinds
			cust.breaches = append(cust.breaches, r.cur.breaches...)
			ok, err := r.next()
			if err != nil {
				return err
			}
			if ok {
				heap.Fix(&h, 0)
			} else {
				r.f.Close()
				heap.Pop(&h)
			}
		}
		if err := flush(); err != nil {
			return err
		}
		w.Flush()
		if err := w.Error(); err != nil {
			return err
		}
		return bw.Flush()
	}, true)
	if err != nil {
		return rep, err
	}
	h = nil
	if rep.Checked > 0 {
		rep.ExposureRate = float64(rep.ExposedCustomers) / float64(rep.Checked)
	}
	for i := range cat {
		if perBreach[i] == 0 {
			continue
		}
		b := &cat[i]
		rep.Breaches = append(rep.Breaches, BreachStat{Name: b.Name, Title: b.Title, Domain: b.Domain,
			BreachDate: b.BreachDate, DataClasses: nonNil(b.DataClasses), IsSensitive: b.IsSensitive,
			IsVerified: b.IsVerified, Passwords: passwords[i], Customers: perBreach[i]})
	}
	slices.SortStableFunc(rep.Breaches, func(x, y BreachStat) int {
		if x.Customers != y.Customers {
			return cmpDesc(x.Customers, y.Customers)
		}
		return strings.Compare(x.Name, y.Name)
	})
	for c, n := range perClass {
		rep.DataClasses = append(rep.DataClasses, ClassStat{Class: c, Customers: n})
	}
	slices.SortFunc(rep.DataClasses, func(x, y ClassStat) int {
		if x.Customers != y.Customers {
			return cmpDesc(x.Customers, y.Customers)
		}
		return strings.Compare(x.Class, y.Class)
	})
	for y, n := range perYear {
		rep.Years = append(rep.Years, YearStat{Year: y, Customers: n})
	}
	slices.SortFunc(rep.Years, func(x, y YearStat) int { return x.Year - y.Year })
	if rep.Breaches == nil {
		rep.Breaches = []BreachStat{}
	}
	if rep.DataClasses == nil {
		rep.DataClasses = []ClassStat{}
	}
	if rep.Years == nil {
		rep.Years = []YearStat{}
	}
	if rep.BadRowSample, err = a.badRowSample(); err != nil {
		return rep, err
	}
	badPath := filepath.Join(a.cfg.OutDir, FileBadRows)
	if err := copyFileAtomic(filepath.Join(a.work, FileBadRows), badPath); err != nil {
		return rep, err
	}
	js, err := json.MarshalIndent(&rep, "", "  ")
	if err != nil {
		return rep, fmt.Errorf("audit: report: %w", err)
	}
	jsonPath := filepath.Join(a.cfg.OutDir, FileJSON)
	if err := writeFileAtomic(jsonPath, append(js, '\n')); err != nil {
		return rep, err
	}
	htmlPath := filepath.Join(a.cfg.OutDir, FileHTML)
	if err := writeAtomic(htmlPath, func(f *os.File) error { return WriteHTML(f, &rep) }, true); err != nil {
		return rep, err
	}
	rep.Files = []string{outPath, jsonPath, htmlPath, badPath}
	a.progress(StageReport, 1, 1, ck.RowsDone)
	return rep, nil
}

// badRowSample reads the first entries of the work bad_rows.csv.
func (a *auditor) badRowSample() ([]BadRow, error) {
	f, err := os.Open(filepath.Join(a.work, FileBadRows))
	if err != nil {
		return nil, fmt.Errorf("audit: bad rows: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	out := []BadRow{}
	first := true
	for sc.Scan() && len(out) < badRowSampleSize {
		if first {
			first = false
			continue
		}
		parts := strings.SplitN(sc.Text(), ",", 3)
		if len(parts) != 3 {
			continue
		}
		line, _ := strconv.Atoi(parts[0])
		out = append(out, BadRow{Line: line, Field: parts[1], Reason: parts[2]})
	}
	return out, sc.Err()
}

func breachYear(date string) (int, bool) {
	if len(date) < 4 {
		return 0, false
	}
	y, err := strconv.Atoi(date[:4])
	return y, err == nil && y > 0
}

func kindsText(k uint8) string {
	switch k {
	case 1:
		return "email"
	case 2:
		return "phone"
	}
	return "email+phone"
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func cmpDesc(x, y int64) int {
	if x > y {
		return -1
	}
	return 1
}

// copyFileAtomic copies src to dst through writeAtomic.
func copyFileAtomic(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	defer in.Close()
	return writeAtomic(dst, func(f *os.File) error {
		_, err := io.Copy(f, in)
		return err
	}, true)
}
