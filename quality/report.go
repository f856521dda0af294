package quality

import (
	"bytes"
	"context"
	"encoding/json"
)

// Report is vet's result, written as report.json and rendered as
// report.html. Counts are data rows (the header excluded).
type Report struct {
	// Version is the report's format (ReportVersion); JSON keys are
	// camelCase, as in every pwndex report.
	Version       int               `json:"version"`
	File          string            `json:"file"`
	Encoding      string            `json:"encoding"`
	Delimiter     string            `json:"delimiter"`
	Columns       map[string]string `json:"columns"` // field -> header cell
	Purpose       string            `json:"purpose"`
	RetentionDays int               `json:"retentionDays"`
	Now           string            `json:"now"` // reference time of consent ages
	Rows          int               `json:"rows"`
	Clean         int               `json:"clean"`
	Rejected      int               `json:"rejected"`
	// Reasons counts every finding (rejecting or warning) by code.
	Reasons []ReasonCount `json:"reasons"`
	// Sources gives the quality per consent source (Source column).
	Sources       []SourceStats  `json:"sources,omitempty"`
	Email         EmailStats     `json:"email"`
	PhoneTypes    map[string]int `json:"phoneTypes"`
	PhoneRegions  map[string]int `json:"phoneRegions"`
	ConsentAge    []Bucket       `json:"consentAge"`
	Duplicates    DupStats       `json:"duplicates"`
	Suppressed    int            `json:"suppressed"`
	Exposure      *Exposure      `json:"exposure,omitempty"`
	Warnings      []string       `json:"warnings"`
	Verdict       Verdict        `json:"verdict"`
	DataSources   []string       `json:"dataSources"`
	Seconds       float64        `json:"seconds"`
	RowsPerSecond float64        `json:"rowsPerSecond"`
}

// ReportVersion is the format of report.json: 2 since its keys are
// camelCase (1 had snake_case keys).
const ReportVersion = 2

// ReasonCount is one reason's tally.
type ReasonCount struct {
	Code     string `json:"code"`
	Text     string `json:"text"`
	Count    int    `json:"count"`    // rows with the finding
	Rejected int    `json:"rejected"` // rows rejected with it among their reasons
	Rejects  bool   `json:"rejects"`  // whether the reason rejects for this purpose
	// Examples are up to 5 rows with the finding, values partly masked.
	Examples []Example `json:"examples,omitempty"`
}

// Count returns the tally of reason code (0 if absent).
func (r *Report) Count(code string) int {
	for _, rc := range r.Reasons {
		if rc.Code == code {
			return rc.Count
		}
	}
	return 0
}

// EmailStats classifies the clean rows' e-mail addresses.
type EmailStats struct {
	Free     int `json:"free"`
	Business int `json:"business"`
	Role     int `json:"role"`
}

// Bucket is one histogram bar.
type Bucket struct {
	Label string `json:"label"`
	Count int    `json:"count"`
}

// DupStats counts duplicates: rows rejected as exact or near duplicates of
// an earlier row, and the groups they form with it.
type DupStats struct {
	Exact  int `json:"exact"`
	Near   int `json:"near"`
	Groups int `json:"groups"`
}

// Exposure is the breach exposure of the file's rows (with an index).
type Exposure struct {
	Checked      int           `json:"checked"` // rows with a valid e-mail or phone looked up
	Exposed      int           `json:"exposed"` // rows found in at least one breach
	Share        float64       `json:"share"`   // Exposed / rows
	Breaches     []BreachShare `json:"breaches"`
	LikelySource string        `json:"likelySource,omitempty"`
	Warning      string        `json:"warning,omitempty"`
}

// BreachShare is one breach's share of the file.
type BreachShare struct {
	Name       string  `json:"name"`
	Title      string  `json:"title,omitempty"`
	BreachDate string  `json:"breachDate,omitempty"`
	Count      int     `json:"count"`
	Share      float64 `json:"share"`
}

// JSON returns the report as indented JSON.
func (r *Report) JSON() ([]byte, error) {
	r.Version = ReportVersion
	return json.MarshalIndent(r, "", "  ")
}

// VetBytes vets an uploaded file held in memory and returns report.json's
// bytes, for the API's POST /v1/vet. No clean or rejects file is produced.
func VetBytes(ctx context.Context, data []byte, name string, opts VetOptions) ([]byte, error) {
	rep, err := Vet(ctx, bytes.NewReader(data), name, opts, Outputs{})
	if err != nil {
		return nil, err
	}
	return rep.JSON()
}
