package audit

import (
	"fmt"
	"html/template"
	"io"
	"strconv"
)

// WriteHTML writes a self-contained HTML page of the report: totals and
// bar charts in inline SVG, no script, no outside asset.
func WriteHTML(w io.Writer, r *Report) error {
	if err := pageTmpl.Execute(w, pageData(r)); err != nil {
		return fmt.Errorf("audit: report.html: %w", err)
	}
	return nil
}

// bar is one bar of a chart, with precomputed geometry.
type bar struct {
	Label string
	Value int64
	Text  string // value as shown
	Y     int
	W     int // horizontal bars: width; vertical bars: height
	X     int
}

// chart is an inline SVG bar chart.
type chart struct {
	Title    string
	Bars     []bar
	Height   int
	Vertical bool
	Width    int
	Empty    bool
	Base     int // vertical bars: baseline y
}

const (
	chartWidth = 720
	labelWidth = 260
	barHeight  = 22
	maxBars    = 20
)

// hbar builds a horizontal bar chart of up to maxBars items.
func hbar(title string, labels []string, values []int64, checked int64) chart {
	c := chart{Title: title, Width: chartWidth}
	n := min(len(labels), maxBars)
	var top int64 = 1
	for _, v := range values[:n] {
		top = max(top, v)
	}
	for i := 0; i < n; i++ {
		w := int(float64(values[i]) / float64(top) * float64(chartWidth-labelWidth-90))
		c.Bars = append(c.Bars, bar{Label: labels[i], Value: values[i], Text: countPct(values[i], checked),
			Y: i * (barHeight + 6), W: max(w, 1), X: labelWidth})
	}
	c.Height = max(n*(barHeight+6), barHeight)
	c.Empty = n == 0
	return c
}

// vbar builds a vertical bar chart (years).
func vbar(title string, labels []string, values []int64) chart {
	c := chart{Title: title, Width: chartWidth, Vertical: true, Height: 220, Base: 190}
	var top int64 = 1
	for _, v := range values {
		top = max(top, v)
	}
	n := len(labels)
	if n == 0 {
		c.Empty = true
		return c
	}
	step := min((chartWidth-20)/n, 60)
	for i := range labels {
		h := int(float64(values[i]) / float64(top) * 160)
		h = max(h, 1)
		c.Bars = append(c.Bars, bar{Label: labels[i], Value: values[i], Text: strconv.FormatInt(values[i], 10),
			X: 10 + i*step, W: h, Y: c.Base - h})
	}
	return c
}

func countPct(v, total int64) string {
	if total <= 0 {
		return strconv.FormatInt(v, 10)
	}
	return fmt.Sprintf("%d (%.1f%%)", v, 100*float64(v)/float64(total))
}

type page struct {
	R         *Report
	Rate      string
	Charts    []chart
	BarHeight int
}

func pageData(r *Report) page {
	p := page{R: r, Rate: fmt.Sprintf("%.2f%%", 100*r.ExposureRate), BarHeight: barHeight}
	var labels []string
	var values []int64
	for _, b := range r.Breaches {
		l := b.Title
		if l == "" {
			l = b.Name
		}
		if b.BreachDate != "" {
			l += " (" + b.BreachDate + ")"
		}
		labels, values = append(labels, l), append(values, b.Customers)
	}
	p.Charts = append(p.Charts, hbar("Customers per breach", labels, values, r.Checked))
	labels, values = nil, nil
	for _, c := range r.DataClasses {
		labels, values = append(labels, c.Class), append(values, c.Customers)
	}
	p.Charts = append(p.Charts, hbar("Customers per exposed data class", labels, values, r.Checked))
	labels, values = nil, nil
	for _, y := range r.Years {
		labels, values = append(labels, strconv.Itoa(y.Year)), append(values, y.Customers)
	}
	p.Charts = append(p.Charts, vbar("Customers per breach year", labels, values))
	return p
}

var pageTmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"add": func(a, b int) int { return a + b },
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>pwndex audit – {{.R.Input}}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;max-width:780px;color:#1d2330;padding:0 1rem}
h1{font-size:1.5rem;margin-bottom:.2rem}
.sub{color:#5b6475;margin-top:0}
.cards{display:flex;flex-wrap:wrap;gap:.8rem;margin:1.2rem 0}
.card{border:1px solid #d8dce5;border-radius:8px;padding:.7rem 1rem;min-width:140px}
.card b{display:block;font-size:1.4rem}
.card span{color:#5b6475;font-size:.85rem}
svg text{font-size:12px;fill:#1d2330}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{border-bottom:1px solid #e3e6ec;text-align:left;padding:.3rem .4rem}
td.n{text-align:right}
.warn{color:#a3261b}
</style>
</head>
<body>
<h1>Breach exposure audit</h1>
<p class="sub">{{.R.Input}} — {{.R.Rows}} records, {{.R.Checked}} customers with a usable e-mail address or phone number</p>
<div class="cards">
<div class="card"><b>{{.Rate}}</b><span>exposure rate</span></div>
<div class="card"><b>{{.R.ExposedCustomers}}</b><span>customers exposed</span></div>
<div class="card"><b class="warn">{{.R.PasswordsExposed}}</b><span>with passwords in a breach</span></div>
<div class="card"><b>{{.R.EmailExposed}}</b><span>exposed by e-mail</span></div>
<div class="card"><b>{{.R.PhoneExposed}}</b><span>exposed by phone</span></div>
<div class="card"><b>{{len .R.Breaches}}</b><span>breaches involved</span></div>
</div>
{{range .Charts}}
<h2>{{.Title}}</h2>
{{if .Empty}}<p>None.</p>{{else}}{{if .Vertical}}
<svg xmlns="http://www.w3.org/2000/svg" width="{{.Width}}" height="{{.Height}}" viewBox="0 0 {{.Width}} {{.Height}}" role="img" aria-label="{{.Title}}">
{{$base := .Base}}{{range .Bars}}<g><title>{{.Label}}: {{.Text}}</title><rect x="{{.X}}" y="{{.Y}}" width="40" height="{{.W}}" fill="#3b6fd6"/><text x="{{add .X 20}}" y="{{add .Y -4}}" text-anchor="middle">{{.Text}}</text><text x="{{add .X 20}}" y="{{add $base 16}}" text-anchor="middle">{{.Label}}</text></g>
{{end}}</svg>
{{else}}
<svg xmlns="http://www.w3.org/2000/svg" width="{{.Width}}" height="{{.Height}}" viewBox="0 0 {{.Width}} {{.Height}}" role="img" aria-label="{{.Title}}">
{{range .Bars}}<g><title>{{.Label}}: {{.Text}}</title><text x="{{add .X -8}}" y="{{add .Y 15}}" text-anchor="end">{{.Label}}</text><rect x="{{.X}}" y="{{.Y}}" width="{{.W}}" height="22" rx="3" fill="#d6453b"/><text x="{{add (add .X .W) 6}}" y="{{add .Y 15}}">{{.Text}}</text></g>
{{end}}</svg>
{{end}}{{end}}
{{end}}
<h2>Breaches</h2>
{{if .R.Breaches}}<table>
<tr><th>Breach</th><th>Date</th><th>Data classes</th><th>Customers</th></tr>
{{range .R.Breaches}}<tr><td>{{if .Title}}{{.Title}}{{else}}{{.Name}}{{end}}{{if .Domain}} <small>({{.Domain}})</small>{{end}}{{if .IsSensitive}} <small class="warn">sensitive</small>{{end}}</td><td>{{.BreachDate}}</td><td>{{range $i, $c := .DataClasses}}{{if $i}}, {{end}}{{$c}}{{end}}</td><td class="n">{{.Customers}}</td></tr>
{{end}}</table>{{else}}<p>No customer appears in any known breach.</p>{{end}}
<h2>Input</h2>
<table>
<tr><td>Records read</td><td class="n">{{.R.Rows}}</td></tr>
<tr><td>Malformed records</td><td class="n">{{.R.MalformedRows}}</td></tr>
<tr><td>Records without a usable identifier</td><td class="n">{{.R.NoIdentifier}}</td></tr>
<tr><td>E-mail addresses checked / invalid</td><td class="n">{{.R.Emails}} / {{.R.InvalidEmails}}</td></tr>
<tr><td>Phone numbers checked / invalid</td><td class="n">{{.R.Phones}} / {{.R.InvalidPhones}}</td></tr>
<tr><td>Entries in bad_rows.csv</td><td class="n">{{.R.BadRows}}</td></tr>
</table>
<p class="sub">Identifiers were normalised and hashed locally; the per-customer list is in exposed.csv.</p>
</body>
</html>
`))
