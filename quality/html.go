package quality

import (
	"fmt"
	"html/template"
	"io"
	"sort"
)

// bar is one bar of an inline SVG chart.
type bar struct {
	Label string
	Count int
	Pct   float64 // of the chart's reference total
	W     float64 // bar width in px
	Y     int
	Bad   bool
}

type chart struct {
	Title  string
	Bars   []bar
	Height int
}

func makeChart(title string, total int, labels []string, counts []int, bad []bool) chart {
	c := chart{Title: title}
	maxN := 1
	for _, n := range counts {
		maxN = max(maxN, n)
	}
	for i, l := range labels {
		b := bar{Label: l, Count: counts[i], W: 360 * float64(counts[i]) / float64(maxN), Y: 22 * i}
		if total > 0 {
			b.Pct = 100 * float64(counts[i]) / float64(total)
		}
		if bad != nil {
			b.Bad = bad[i]
		}
		c.Bars = append(c.Bars, b)
	}
	c.Height = 22*len(labels) + 4
	return c
}

// WriteHTML renders the report as a self-contained HTML page (inline CSS
// and SVG charts, no script, no external resource) that opens offline.
func (r *Report) WriteHTML(w io.Writer) error {
	var charts []chart
	var labels []string
	var counts []int
	var bad []bool
	for _, rc := range r.Reasons {
		labels = append(labels, rc.Code)
		counts = append(counts, rc.Count)
		bad = append(bad, rc.Rejects)
	}
	if len(labels) > 0 {
		charts = append(charts, makeChart("Findings by reason (red: rejects the row)", r.Rows, labels, counts, bad))
	}
	labels, counts = nil, nil
	for _, b := range r.ConsentAge {
		labels = append(labels, b.Label)
		counts = append(counts, b.Count)
	}
	charts = append(charts, makeChart("Consent age (clean rows)", r.Clean, labels, counts, nil))
	labels, counts = nil, nil
	types := make([]string, 0, len(r.PhoneTypes))
	for t := range r.PhoneTypes {
		types = append(types, t)
	}
	sort.Strings(types)
	for _, t := range types {
		labels = append(labels, t)
		counts = append(counts, r.PhoneTypes[t])
	}
	if len(labels) > 0 {
		charts = append(charts, makeChart("Phone types (clean rows)", r.Clean, labels, counts, nil))
	}
	charts = append(charts, makeChart("E-mail kinds (clean rows)", r.Clean, []string{"free mail", "business", "role"},
		[]int{r.Email.Free, r.Email.Business, r.Email.Role}, nil))
	if r.Exposure != nil {
		labels, counts = []string{"in a known breach", "not found"}, []int{r.Exposure.Exposed, r.Rows - r.Exposure.Exposed}
		bad = []bool{true, false}
		for i, b := range r.Exposure.Breaches {
			if i == 10 {
				break
			}
			labels = append(labels, b.Name)
			counts = append(counts, b.Count)
			bad = append(bad, true)
		}
		charts = append(charts, makeChart("Breach exposure (all rows)", r.Rows, labels, counts, bad))
	}
	data := struct {
		R      *Report
		Charts []chart
	}{r, charts}
	if err := reportTmpl.Execute(w, data); err != nil {
		return fmt.Errorf("rendering report.html: %w", err)
	}
	return nil
}

var reportTmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"pct": func(n, total int) string {
		if total == 0 {
			return "0.0%"
		}
		return fmt.Sprintf("%.1f%%", 100*float64(n)/float64(total))
	},
	"f1": func(x float64) string { return fmt.Sprintf("%.1f", x) },
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>pwndex vet — {{.R.File}}</title>
<style>
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em auto;max-width:980px;color:#1d2330;padding:0 1em}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.15em;margin-top:1.8em;border-bottom:1px solid #dde;padding-bottom:.2em}
.verdict{padding:.8em 1em;border-radius:6px;font-weight:600;margin:1em 0}
.pass{background:#e3f6e8;color:#17602c}.fail{background:#fde8e8;color:#8a1c1c}
table{border-collapse:collapse;margin:.5em 0}td,th{padding:.25em .8em;border-bottom:1px solid #eef;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.kpi{display:flex;gap:1em;flex-wrap:wrap}.kpi div{background:#f4f6fb;border-radius:6px;padding:.6em 1em;min-width:8em}
.kpi b{display:block;font-size:1.4em}svg text{font-size:12px;fill:#1d2330}.warn{color:#8a5a00}
small{color:#667}
</style></head><body>
<h1>Contact file vetting report</h1>
<p><small>{{.R.File}} · {{.R.Encoding}} · delimiter “{{.R.Delimiter}}” · purpose {{.R.Purpose}} · retention {{.R.RetentionDays}} days · reference time {{.R.Now}}</small></p>
{{if .R.Verdict.Pass}}<div class="verdict pass">PASS — the file meets the policy.</div>
{{else}}<div class="verdict fail">FAIL — {{range $i, $f := .R.Verdict.Failures}}{{if $i}}; {{end}}{{$f}}{{end}}</div>{{end}}
{{range .R.Warnings}}<p class="warn">⚠ {{.}}</p>{{end}}
<div class="kpi">
<div>rows<b>{{.R.Rows}}</b></div>
<div>clean<b>{{.R.Clean}}</b>{{pct .R.Clean .R.Rows}}</div>
<div>rejected<b>{{.R.Rejected}}</b>{{pct .R.Rejected .R.Rows}}</div>
<div>duplicates<b>{{.R.Duplicates.Exact}} + {{.R.Duplicates.Near}}</b>exact + near, {{.R.Duplicates.Groups}} groups</div>
<div>opt-out matches<b>{{.R.Suppressed}}</b></div>
{{if .R.Exposure}}<div>in breaches<b>{{.R.Exposure.Exposed}}</b>{{pct .R.Exposure.Exposed .R.Rows}}</div>{{end}}
</div>
{{range .Charts}}
<h2>{{.Title}}</h2>
<svg width="760" height="{{.Height}}" role="img" aria-label="{{.Title}}">
{{range .Bars}}<g transform="translate(0,{{.Y}})"><text x="0" y="15">{{.Label}}</text>
<rect x="230" y="3" width="{{f1 .W}}" height="16" rx="2" fill="{{if .Bad}}#d9534f{{else}}#4a78c2{{end}}"></rect>
<text x="{{f1 .W}}" dx="236" y="15">{{.Count}} ({{f1 .Pct}}%)</text></g>
{{end}}</svg>
{{end}}
<h2>Reasons</h2>
<table><tr><th>code</th><th>meaning</th><th>rows</th><th>rejected</th></tr>
{{range .R.Reasons}}<tr><td><code>{{.Code}}</code></td><td>{{.Text}}</td><td class="n">{{.Count}}</td><td class="n">{{.Rejected}}</td></tr>
{{if .Examples}}<tr><td></td><td colspan="3"><small>{{range $i, $e := .Examples}}{{if $i}} · {{end}}line {{$e.Line}}{{if $e.Value}}: <code>{{$e.Value}}</code>{{end}}{{if $e.Suggestion}} → <code>{{$e.Suggestion}}</code>{{end}}{{end}}</small></td></tr>{{end}}
{{end}}</table>
{{if .R.Sources}}<h2>Quality per consent source</h2>
<table><tr><th>source</th><th>rows</th><th>rejected</th><th>duplicates</th><th>median consent age</th></tr>
{{range .R.Sources}}<tr><td>{{.Source}}</td><td class="n">{{.Rows}}</td><td class="n">{{pct .Rejected .Rows}}</td><td class="n">{{pct .Duplicates .Rows}}</td><td class="n">{{if ge .MedianConsentDays 0}}{{.MedianConsentDays}} days{{else}}—{{end}}</td></tr>
{{end}}</table>{{end}}
{{if .R.Exposure}}<h2>Breach exposure</h2>
<p>{{.R.Exposure.Checked}} rows looked up; {{.R.Exposure.Exposed}} ({{pct .R.Exposure.Exposed .R.Rows}}) have an e-mail or phone in a known breach.</p>
<table><tr><th>breach</th><th>date</th><th>rows</th><th>share</th></tr>
{{range .R.Exposure.Breaches}}<tr><td>{{.Name}}{{if .Title}} — {{.Title}}{{end}}</td><td>{{.BreachDate}}</td><td class="n">{{.Count}}</td><td class="n">{{pct .Count $.R.Rows}}</td></tr>
{{end}}</table>{{end}}
<h2>Columns</h2>
<table><tr><th>field</th><th>header</th></tr>{{range $k, $v := .R.Columns}}<tr><td>{{$k}}</td><td>{{$v}}</td></tr>{{end}}</table>
<p><small>Reference data: {{range .R.DataSources}}{{.}}. {{end}}</small></p>
</body></html>
`))
