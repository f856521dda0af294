package quality

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pwndex/pwndex/index"
	"github.com/pwndex/pwndex/index/ident"
)

// DefaultRetention is the CNIL's recommended limit for prospect data: three
// years from collection or last contact.
const DefaultRetention = 3 * 365 * 24 * time.Hour

// DefaultRetentionYears is DefaultRetention in calendar years, the
// default of Vet.
const DefaultRetentionYears = 3

// DefaultProvenanceThreshold is the share of rows found in one breach
// above which the report says the file is likely derived from it.
const DefaultProvenanceThreshold = 0.3

// VetOptions configures Vet. The zero value vets for e-mail prospecting
// with the default retention and policy.
type VetOptions struct {
	Table   TableOptions
	Purpose Purpose // email (default), sms or postal
	// Retention is a consent age limit as a duration (legacy); <0 means
	// none. When RetentionYears and Retention are both 0, consents are kept
	// DefaultRetentionYears calendar years.
	Retention time.Duration
	// RetentionYears is the consent age limit in calendar years (a
	// fraction counts in months): a consent dated exactly that long before
	// Now's day is inside, the day before is outside. It takes precedence
	// over Retention.
	RetentionYears float64
	Now            time.Time // reference time for consent ages; zero means time.Now()
	// SourceOptional accepts rows without a consent source.
	SourceOptional bool
	// SkipConsent disables consent checks (files that are not prospect
	// acquisitions, e.g. existing customers).
	SkipConsent bool
	OptOut      *OptOutList   // suppression list, optional
	Index       ExposureIndex // breach index, optional
	// ProvenanceThreshold: 0 means DefaultProvenanceThreshold.
	ProvenanceThreshold float64
	// Policy decides the verdict; nil means DefaultPolicy.
	Policy *Policy
	// Workers is the number of goroutines checking rows; 0 means GOMAXPROCS.
	Workers int
	// KeepColumns names columns (field names such as "comment" or
	// "birth_date", or header cells) that are copied to clean.csv and
	// rejects.csv although data minimisation leaves them out: free-text
	// comments and birth dates are not copied otherwise.
	KeepColumns []string
}

// Outputs receives vet's row outputs; nil writers are skipped.
type Outputs struct {
	Clean   io.Writer // clean.csv: UTF-8, normalised columns, source line
	Rejects io.Writer // rejects.csv: original cells, source line, reasons
	// KeepDelimiter writes both files with the input's delimiter (French
	// files use ';', which Excel in a French locale expects) instead of ','.
	KeepDelimiter bool
}

// CleanHeader is clean.csv's header.
var CleanHeader = []string{
	"source_line", "id", "civility", "first_name", "last_name", "company",
	"email", "email_kind", "phone", "phone_type", "phone_region",
	"address_line1", "address_line2", "postcode", "city", "city_line", "country",
	"consent_date", "consent_source", "breach_count",
	"raw_first_name", "raw_last_name", "raw_email", "raw_phone", "raw_postcode", "raw_city",
	"warnings",
}

// checked is one row after the per-row checks.
type checked struct {
	row      Row
	parseErr string
	reasons  reasonSet
	detail   string // typo suggestion, duplicate reference
	email    EmailResult
	phone    PhoneResult
	first    NameResult
	last     NameResult
	civility string
	company  string
	postal   PostalResult
	region   string
	consent  ConsentResult
	source   string
	id       string
	breaches []index.BreachID
	lookErr  error
	hashed   bool // an identifier was hashed (and looked up)
	// Duplicate keys of the names, computed by the parallel stage so the
	// sequential writer only compares.
	firstKey, lastKey string
	consentAt         string // consent date, RFC 3339, for clean.csv
	dupOf             int    // source line of the duplicate group's first row
	noSource          bool   // the consent source is blank or a placeholder
}

type batch struct {
	rows []checked
	done chan struct{}
}

const batchSize = 256

// batchPool recycles batches (their row slices) between the writer and
// the reader.
var batchPool = sync.Pool{New: func() any { return &batch{rows: make([]checked, 0, batchSize)} }}

// vetter holds the state of one Vet run.
type vetter struct {
	opts     VetOptions
	t        *Table
	now      time.Time
	ret      time.Duration // retention, for the report
	oldest   time.Time     // oldest consent day inside the retention (zero: none)
	ncols    int
	provenTh float64
}

// Vet reads a contact file, checks every row, writes clean and rejected rows
// to out and returns the report with its verdict. Rows are checked in
// parallel and written in input order; memory stays bounded whatever the
// file size. Unusable input is an *InputError; a negative verdict is not an
// error (see Report.Verdict).
func Vet(ctx context.Context, r io.Reader, name string, opts VetOptions, out Outputs) (Report, error) {
	start := time.Now()
	if opts.Purpose == "" {
		opts.Purpose = PurposeEmail
	}
	if _, err := ParsePurpose(string(opts.Purpose)); err != nil {
		return Report{}, err
	}
	pol := DefaultPolicy()
	if opts.Policy != nil {
		pol = *opts.Policy
		if err := pol.Validate(); err != nil {
			return Report{}, err
		}
	}
	t, err := OpenTable(r, name, opts.Table)
	if err != nil {
		return Report{}, err
	}
	v := &vetter{opts: opts, t: t, now: opts.Now, ret: opts.Retention, ncols: len(t.Header()), provenTh: opts.ProvenanceThreshold}
	if v.now.IsZero() {
		v.now = time.Now()
	}
	switch years := opts.RetentionYears; {
	case years > 0:
		whole := int(years)
		v.oldest = RetentionLimit(v.now, whole, int((years-float64(whole))*12+0.5))
	case v.ret == 0:
		v.oldest = RetentionLimit(v.now, DefaultRetentionYears, 0)
	case v.ret > 0:
		y, m, d := v.now.Add(-v.ret).Date()
		v.oldest = time.Date(y, m, d, 0, 0, 0, 0, v.now.Location())
	}
	if !v.oldest.IsZero() {
		v.ret = v.now.Sub(v.oldest)
	}
	if v.provenTh <= 0 {
		v.provenTh = DefaultProvenanceThreshold
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}

	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	work := make(chan *batch, workers*2)
	order := make(chan *batch, workers*4)
	var readErr error
	go func() { // reader
		defer close(work)
		defer close(order)
		for {
			b := batchPool.Get().(*batch)
			b.rows, b.done = b.rows[:0], make(chan struct{})
			for len(b.rows) < batchSize {
				row, err := t.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					var ie *InputError
					if errors.As(err, &ie) && ie.Line > 0 {
						b.rows = append(b.rows, checked{row: row, parseErr: err.Error()})
						continue
					}
					readErr = err
					break
				}
				b.rows = append(b.rows, checked{row: row})
			}
			if len(b.rows) == 0 {
				return
			}
			select {
			case work <- b:
			case <-ctx.Done():
				return
			}
			select {
			case order <- b:
			case <-ctx.Done():
				return
			}
			if readErr != nil || len(b.rows) < batchSize {
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var ws workerState
			for b := range work {
				for i := range b.rows {
					v.check(&b.rows[i], &ws)
				}
				close(b.done)
			}
		}()
	}

	w := newWriter(v, out)
	defer w.dd.free()
	var werr error
	for b := range order {
		select {
		case <-b.done:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			werr = ctx.Err()
			break
		}
		for i := range b.rows {
			if err := w.row(&b.rows[i]); err != nil && werr == nil {
				werr = err
			}
		}
		if werr != nil {
			break
		}
		clear(b.rows)
		batchPool.Put(b)
	}
	cancel()
	wg.Wait()
	for range order { // drain after an early stop
	}
	if werr != nil {
		return Report{}, werr
	}
	if err := parent.Err(); err != nil {
		return Report{}, err
	}
	if readErr != nil {
		return Report{}, readErr
	}
	if err := w.flush(); err != nil {
		return Report{}, err
	}
	if w.rep.Rows == 0 {
		return Report{}, &InputError{File: name, Err: errors.New("no data rows after the header")}
	}
	rep := w.finish(time.Since(start))
	rep.Verdict = pol.decide(&rep)
	return rep, nil
}

// workerState is one checking goroutine's private memo.
type workerState struct {
	domains domainCache
}

// check runs every per-row check; it is called concurrently, each
// goroutine with its own ws.
func (v *vetter) check(c *checked, ws *workerState) {
	if c.parseErr != "" {
		c.reasons.add(RowMalformed)
		return
	}
	t, f := v.t, c.row
	if len(f.Fields) != v.ncols {
		c.reasons.add(RowColumns)
		c.detail = fmt.Sprintf("%d cells, header has %d", len(f.Fields), v.ncols)
		return
	}
	p := v.opts.Purpose
	// text reads a text field, mojibake repaired (UTF-8 read as
	// Windows-1252), before any check.
	text := func(fl Field) string {
		s := t.Get(f, fl)
		if r, ok := RepairMojibake(s); ok {
			c.reasons.add(TextMojibake)
			return r
		}
		return s
	}
	c.id = t.Get(f, FieldID)
	c.civility = civilityKey(t.Get(f, FieldCivility))
	c.company = collapseSpaces(text(FieldCompany))
	country := text(FieldCountry)
	postcode := t.Get(f, FieldPostcode)
	c.region = CountryRegion(country)

	// E-mail.
	if t.Has(FieldEmail) || p == PurposeEmail {
		c.email = checkEmail(t.Get(f, FieldEmail), &ws.domains)
		if c.email.Bad {
			if c.email.Reason != EmailMissing || p == PurposeEmail {
				c.reasons.add(c.email.Reason)
			}
			if c.email.Reason == EmailTypo {
				c.detail = "suggest " + c.email.Suggestion
			}
		}
		if c.email.Role {
			c.reasons.add(EmailRole)
		}
		if c.email.Unwrapped {
			c.reasons.add(EmailUnwrapped)
		}
	}

	// Phone: the mobile column first, else the phone column.
	raw := t.Get(f, FieldMobile)
	if raw == "" {
		raw = t.Get(f, FieldPhone)
	}
	// An empty phone cell is reported under every purpose when the file
	// has a phone column (a warning unless the purpose is SMS).
	if raw != "" || p == PurposeSMS || t.Has(FieldMobile) || t.Has(FieldPhone) {
		c.phone = CheckPhone(raw, PhoneRegion(country, postcode), p == PurposeSMS)
		if c.phone.Bad {
			c.reasons.add(c.phone.Reason)
			if c.phone.Reason == PhoneSpecialRate {
				c.detail = joinDetail(c.detail, "phone type "+c.phone.Type.String())
			}
		}
	}

	// Names.
	c.first = CheckName(text(FieldFirstName), false)
	c.last = CheckName(text(FieldLastName), true)
	if c.first.Garbage || c.last.Garbage {
		c.reasons.add(NameGarbage)
	}
	if c.first.Value == "" && c.last.Value == "" && c.company == "" {
		c.reasons.add(NameMissing)
	}
	c.firstKey, c.lastKey = wordsKey(c.first.Value, 0), wordsKey(c.last.Value, 0)
	// Surname in the first-name column: the first name is not a known
	// first name and the last name is.
	if !c.first.Garbage && !c.last.Garbage && c.firstKey != "" && c.lastKey != "" &&
		!isFirstNameKey(c.first.Value, c.firstKey) && isFirstNameKey(c.last.Value, c.lastKey) {
		c.reasons.add(NameSwapped)
	}
	if t.Has(FieldComment) && IsSensitiveComment(text(FieldComment)) {
		c.reasons.add(CommentSensitive)
	}

	// Postal address.
	if t.Has(FieldPostcode) || t.Has(FieldAddress) || p == PurposePostal {
		addr, city := text(FieldAddress), text(FieldCity)
		c.postal = CheckPostal(addr, text(FieldAddress2), postcode, city, c.region)
		// A missing postcode is reported for every purpose when the row
		// has the rest of an address; a row without any only for postal.
		half := strings.TrimSpace(addr) != "" || strings.TrimSpace(city) != ""
		if c.postal.Bad && (c.postal.Reason != PostalMissing || p == PurposePostal || half) {
			c.reasons.add(c.postal.Reason)
		}
	}

	// Consent.
	if !v.opts.SkipConsent {
		var optin string
		switch p {
		case PurposeEmail:
			optin = t.Get(f, FieldOptinEmail)
		case PurposeSMS:
			optin = t.Get(f, FieldOptinSMS)
		case PurposePostal:
			optin = t.Get(f, FieldOptinPostal)
		}
		c.source = collapseSpaces(text(FieldConsentSource))
		c.noSource = IsPlaceholderSource(c.source)
		c.consent = checkConsent(t.Get(f, FieldConsentDate), c.source, optin, v.now, v.oldest, !v.opts.SourceOptional)
		if c.consent.Bad {
			c.reasons.add(c.consent.Reason)
		}
		if !c.consent.Date.IsZero() {
			c.consentAt = c.consent.Date.Format(time.RFC3339)
		}
	}

	// Hash-based checks: suppression list and breach exposure.
	if v.opts.OptOut == nil && v.opts.Index == nil {
		return
	}
	var hs [2]index.Hash
	var ks [2]index.Kind
	n := 0
	if c.email.Normalized != "" {
		hs[n], ks[n] = ident.HashNormalized(c.email.Normalized), index.KindEmail
		n++
	}
	if c.phone.E164 != "" {
		hs[n], ks[n] = ident.HashNormalized(c.phone.E164), index.KindPhone
		n++
	}
	c.hashed = n > 0
	for i := 0; i < n; i++ {
		if v.opts.OptOut != nil && v.opts.OptOut.Contains(&hs[i]) {
			c.reasons.add(Suppressed)
		}
		if v.opts.Index != nil {
			e, ok, err := v.opts.Index.Lookup(ks[i], &hs[i])
			if err != nil {
				c.lookErr = err
				continue
			}
			if ok {
				c.breaches = mergeIDs(c.breaches, e.Breaches)
			}
		}
	}
}

func mergeIDs(a, b []index.BreachID) []index.BreachID {
	for _, id := range b {
		found := false
		for _, x := range a {
			if x == id {
				found = true
				break
			}
		}
		if !found {
			a = append(a, id)
		}
	}
	return a
}

// civilityKey maps civility cells to M (monsieur) or F (madame) or "".
func civilityKey(s string) string {
	var buf [128]byte
	switch headerKey(&buf, s) {
	case "m", "mr", "monsieur", "mister", "sir", "homme", "h", "masculin":
		return "M"
	case "mme", "madame", "mlle", "mademoiselle", "mrs", "ms", "miss", "femme", "f", "feminin":
		return "F"
	}
	return ""
}

// rowWriter is the sequential stage: duplicates, outputs, statistics.
type rowWriter struct {
	v        *vetter
	clean    recordWriter
	rejects  recordWriter
	dd       deduper
	rep      Report
	reasons  [numReasons]int
	rejectBy [numReasons]int
	phoneT   [numPhoneTypes]int
	regions  map[string]int
	ages     [numConsentBuckets + 1]int
	breaches map[index.BreachID]int
	exposed  int
	checked  int
	lookErrs int
	rec      []string
	buf      []byte
	examples [numReasons][]Example
	sources  map[string]*sourceAcc
	dropped  []bool // input columns left out of rejects.csv (minimisation)
	kept     []int  // minimised columns kept in clean.csv (KeepColumns)
}

func newWriter(v *vetter, out Outputs) *rowWriter {
	w := &rowWriter{v: v, regions: map[string]int{}, breaches: map[index.BreachID]int{}, sources: map[string]*sourceAcc{}}
	w.minimise()
	if out.Clean != nil {
		h := append([]string{}, CleanHeader...)
		for _, i := range w.kept {
			h = append(h, v.t.Header()[i])
		}
		comma := ','
		if out.KeepDelimiter {
			comma = v.t.delim
		}
		w.clean = newRecordWriter(out.Clean, comma)
		w.clean.Write(h)
	}
	if out.Rejects != nil {
		comma := ','
		if out.KeepDelimiter {
			comma = v.t.delim
		}
		w.rejects = newRecordWriter(out.Rejects, comma)
		var h []string
		for i, c := range v.t.Header() {
			if !w.dropped[i] {
				h = append(h, c)
			}
		}
		h = append(h, "source_line", "reasons", "details", "dup_of")
		h = append(h, RejectNormHeader...)
		w.rejects.Write(h)
	}
	return w
}

// RejectNormHeader are the normalised columns rejects.csv carries after
// each row's original cells (empty when a value is unusable).
var RejectNormHeader = []string{"norm_first_name", "norm_last_name", "norm_email", "norm_phone", "norm_postcode", "norm_city", "norm_consent_date"}

// minimise decides which input columns stay out of the outputs: free-text
// comments and birth dates, unless VetOptions.KeepColumns names them
// (by field name or header cell).
func (w *rowWriter) minimise() {
	hdr := w.v.t.Header()
	w.dropped = make([]bool, len(hdr))
	keep := func(f Field, i int) bool {
		for _, k := range w.v.opts.KeepColumns {
			if strings.EqualFold(strings.TrimSpace(k), f.String()) || NormalizeHeader(k) == NormalizeHeader(hdr[i]) {
				return true
			}
		}
		return false
	}
	for f, i := range w.v.t.Columns() {
		if f != FieldComment && f != FieldBirthDate {
			continue
		}
		if keep(f, i) {
			w.kept = append(w.kept, i)
		} else {
			w.dropped[i] = true
		}
	}
	sort.Ints(w.kept)
}

const numConsentBuckets = 5

// consentBuckets are the upper bounds (days) of the consent-age histogram.
var consentBuckets = []struct {
	days  int
	label string
}{{182, "< 6 months"}, {365, "6-12 months"}, {730, "1-2 years"}, {1095, "2-3 years"}, {1 << 30, "> 3 years"}}

func (w *rowWriter) row(c *checked) error {
	w.rep.Rows++
	if c.lookErr != nil {
		w.lookErrs++
	}
	w.exposureStats(c)
	// Duplicates over every row whose cells could be read, rejected or
	// not: a duplicate is a fact about the file. Rows link on normalised
	// and corrected values (a mistyped domain's suggestion).
	if !c.reasons.has(RowMalformed) && !c.reasons.has(RowColumns) {
		k := dupKeys{
			First: c.firstKey, Last: c.lastKey,
			Civ: c.civility, Phone: c.phone.E164,
			Mobile:   c.phone.Type == PhoneMobile || c.phone.Type == PhoneFixedOrMobile,
			Postcode: c.postal.Postcode, Address: c.postal.Lines[0],
		}
		if e := c.email.linkAddress(); e != "" {
			at := strings.LastIndexByte(e, '@')
			k.Local, k.Domain = e[:at], e[at+1:]
		}
		if reason, dup, of := w.dd.add(&k, c.row.Line); dup {
			c.reasons.add(reason)
			c.dupOf = of
			c.detail = joinDetail(c.detail, "duplicate of line "+strconv.Itoa(of))
		}
		c.reasons |= w.dd.shared
	}
	for r := Reason(0); r < numReasons; r++ {
		if c.reasons.has(r) {
			w.reasons[r]++
		}
	}
	rej := c.reasons.filter(w.v.opts.Purpose, true)
	if !c.reasons.empty() {
		w.collectExamples(c)
	}
	w.sourceStats(c, !rej.empty())
	if !rej.empty() {
		w.rep.Rejected++
		for r := Reason(0); r < numReasons; r++ {
			if rej.has(r) {
				w.rejectBy[r]++
			}
		}
		if w.rejects != nil {
			w.rec = w.rec[:0]
			for i, cell := range c.row.Fields {
				if i >= len(w.dropped) || !w.dropped[i] {
					w.rec = append(w.rec, cell)
				}
			}
			w.buf = c.reasons.appendCodes(w.buf[:0])
			dupOf := ""
			if c.dupOf > 0 {
				dupOf = strconv.Itoa(c.dupOf)
			}
			w.rec = append(w.rec, strconv.Itoa(c.row.Line), string(w.buf), firstNonEmpty(c.detail, c.parseErr), dupOf)
			w.rec = c.appendNormValues(w.rec)
			if err := w.rejects.Write(w.rec); err != nil {
				return fmt.Errorf("writing rejects: %w", err)
			}
		}
		return nil
	}
	w.rep.Clean++
	w.stats(c)
	if w.clean == nil {
		return nil
	}
	warn := c.reasons.filter(w.v.opts.Purpose, false)
	email, kind := "", ""
	if !c.email.Bad && c.email.Normalized != "" {
		email, kind = c.email.Normalized, "business"
		if c.email.Free {
			kind = "free"
		}
		if c.email.Role {
			kind = "role"
		}
	}
	phone, ptype, preg := "", "", ""
	if !c.phone.Bad && c.phone.E164 != "" {
		phone, ptype, preg = c.phone.E164, c.phone.Type.String(), c.phone.Region
	}
	pc, city, cityLine := c.postal.Postcode, c.postal.City, c.postal.Lines[2]
	if c.postal.Bad {
		pc, city, cityLine = "", "", ""
	}
	civ := ""
	switch c.civility {
	case "M":
		civ = "M"
	case "F":
		civ = "MME"
	}
	w.buf = warn.appendCodes(w.buf[:0])
	w.rec = append(w.rec[:0], strconv.Itoa(c.row.Line), c.id, civ, c.first.Value, c.last.Value, c.company,
		email, kind, phone, ptype, preg, c.postal.Lines[0], c.postal.Lines[1], pc, city, cityLine, c.region,
		c.consentAt, c.source, strconv.Itoa(len(c.breaches)))
	// The raw cells beside the normalised values.
	t, f := w.v.t, c.row
	rawPhone := t.Get(f, FieldMobile)
	if rawPhone == "" {
		rawPhone = t.Get(f, FieldPhone)
	}
	w.rec = append(w.rec, t.Get(f, FieldFirstName), t.Get(f, FieldLastName), t.Get(f, FieldEmail), rawPhone,
		t.Get(f, FieldPostcode), t.Get(f, FieldCity), string(w.buf))
	for _, i := range w.kept {
		cell := ""
		if i < len(c.row.Fields) {
			cell = c.row.Fields[i]
		}
		w.rec = append(w.rec, cell)
	}
	if err := w.clean.Write(w.rec); err != nil {
		return fmt.Errorf("writing clean file: %w", err)
	}
	return nil
}

// appendNormValues appends the row's normalised values for rejects.csv
// (see RejectNormHeader).
func (c *checked) appendNormValues(rec []string) []string {
	var pc, city string
	if c.postal.Postcode != "" && !(c.postal.Bad && c.postal.Reason == PostalFormat) {
		pc, city = c.postal.Postcode, c.postal.City
	}
	return append(rec, c.first.Value, c.last.Value, c.email.Normalized, c.phone.E164, pc, city, c.consentAt)
}

// joinDetail appends detail b to a, "; "-separated.
func joinDetail(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// stats accumulates the report's distributions over clean rows.
func (w *rowWriter) stats(c *checked) {
	if !c.email.Bad && c.email.Normalized != "" {
		switch {
		case c.email.Role:
			w.rep.Email.Role++
		case c.email.Free:
			w.rep.Email.Free++
		default:
			w.rep.Email.Business++
		}
	}
	if !c.phone.Bad && c.phone.E164 != "" {
		w.phoneT[c.phone.Type]++
		w.regions[c.phone.Region]++
	}
	if !c.consent.Date.IsZero() {
		i := 0
		for i < len(consentBuckets) && c.consent.AgeDays >= consentBuckets[i].days {
			i++
		}
		w.ages[i]++
	} else {
		w.ages[len(consentBuckets)]++
	}
}

// exposureStats counts breach exposure over all rows (clean or not): the
// provenance question concerns the file as sold.
func (w *rowWriter) exposureStats(c *checked) {
	if !c.hashed {
		return
	}
	w.checked++
	if len(c.breaches) > 0 {
		w.exposed++
		for _, id := range c.breaches {
			w.breaches[id]++
		}
	}
}

func (w *rowWriter) flush() error {
	for _, cw := range []recordWriter{w.clean, w.rejects} {
		if cw == nil {
			continue
		}
		if err := cw.Flush(); err != nil {
			return fmt.Errorf("writing output: %w", err)
		}
	}
	return nil
}

func (w *rowWriter) finish(d time.Duration) Report {
	rep := w.rep
	t := w.v.t
	rep.File = t.Name()
	rep.Encoding = t.Encoding()
	rep.Delimiter = string(t.Delimiter())
	rep.Columns = map[string]string{}
	for f, i := range t.Columns() {
		rep.Columns[f.String()] = t.Header()[i]
	}
	rep.Purpose = string(w.v.opts.Purpose)
	rep.RetentionDays = int(w.v.ret / (24 * time.Hour))
	rep.Now = w.v.now.UTC().Format(time.RFC3339)
	rep.Reasons = []ReasonCount{}
	for r := Reason(0); r < numReasons; r++ {
		if w.reasons[r] > 0 {
			rep.Reasons = append(rep.Reasons, ReasonCount{Code: r.String(), Text: r.Text(), Count: w.reasons[r], Rejected: w.rejectBy[r], Rejects: r.Rejects(w.v.opts.Purpose), Examples: w.examples[r]})
		}
	}
	rep.Sources = w.sourceTable()
	rep.PhoneTypes = map[string]int{}
	for i, n := range w.phoneT {
		if n > 0 {
			rep.PhoneTypes[PhoneType(i).String()] = n
		}
	}
	rep.PhoneRegions = w.regions
	for i, b := range consentBuckets {
		rep.ConsentAge = append(rep.ConsentAge, Bucket{Label: b.label, Count: w.ages[i]})
	}
	rep.ConsentAge = append(rep.ConsentAge, Bucket{Label: "no date", Count: w.ages[len(consentBuckets)]})
	rep.Duplicates = DupStats{Exact: w.dd.exact, Near: w.dd.near, Groups: w.dd.groups()}
	rep.Suppressed = w.reasons[Suppressed]
	if w.v.opts.Index != nil {
		rep.Exposure = w.exposure()
	}
	rep.DataSources = DataSources()
	rep.Seconds = d.Seconds()
	if d > 0 {
		rep.RowsPerSecond = float64(rep.Rows) / d.Seconds()
	}
	rep.Warnings = []string{}
	if w.lookErrs > 0 {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("%d index lookups failed; exposure figures are incomplete", w.lookErrs))
	}
	if rep.Exposure != nil && rep.Exposure.Warning != "" {
		rep.Warnings = append(rep.Warnings, rep.Exposure.Warning)
	}
	return rep
}

func (w *rowWriter) exposure() *Exposure {
	e := &Exposure{Checked: w.checked, Exposed: w.exposed, Breaches: []BreachShare{}}
	for id, n := range w.breaches {
		bs := BreachShare{Count: n, Share: float64(n) / float64(max(1, w.rep.Rows))}
		if b, ok := w.v.opts.Index.BreachByID(id); ok {
			bs.Name, bs.Title, bs.BreachDate = b.Name, b.Title, b.BreachDate
		} else {
			bs.Name = fmt.Sprintf("breach#%d", id)
		}
		e.Breaches = append(e.Breaches, bs)
	}
	sort.Slice(e.Breaches, func(i, j int) bool {
		if e.Breaches[i].Count != e.Breaches[j].Count {
			return e.Breaches[i].Count > e.Breaches[j].Count
		}
		return e.Breaches[i].Name < e.Breaches[j].Name
	})
	if w.rep.Rows > 0 {
		e.Share = float64(e.Exposed) / float64(w.rep.Rows)
	}
	if len(e.Breaches) > 0 && e.Breaches[0].Share >= w.v.provenTh {
		e.LikelySource = e.Breaches[0].Name
		e.Warning = fmt.Sprintf("%.1f%% of the rows are in breach %q: the file is likely derived from it", 100*e.Breaches[0].Share, e.Breaches[0].Name)
	}
	return e
}
