package ae

import (
	"bytes"
	"encoding/base64"
	"fmt"
	htmltemplate "html/template"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/template"
	"time"

	"github.com/kdbench/kdbench/collectors/results"
	"github.com/kdbench/kdbench/internal/buildinfo"
	"github.com/kdbench/kdbench/internal/fsutil"
	"github.com/kdbench/kdbench/internal/stats"
	"github.com/kdbench/kdbench/metrics"
)

// Report file names in the output directory.
const (
	ReportMarkdown = "report.md"
	ReportHTML     = "report.html"
)

// Report is what report.md and report.html show.
type Report struct {
	Profile   string
	Source    string
	Generated time.Time
	Kdbench   string
	Claims    []ClaimRow
	Figures   []string
	Steps     []StepRow
	// Total is the steps' actual run time.
	Total    time.Duration
	Env      []EnvRow
	Warnings []string
	// Metrics says which rules computed the trace metrics and how
	// percentiles are taken.
	Metrics string
}

// ClaimRow is one claim with its outcome and the measured figures drawn.
type ClaimRow struct {
	Claim
	Outcome
	Figures []string
}

// StepRow is one line of the runtime table.
type StepRow struct {
	ID, Status         string
	Estimate, Duration time.Duration
	ResultsDir, Note   string
}

// EnvRow is one line of the environment manifest.
type EnvRow struct{ Key, Value string }

// ReportOptions says where the report goes and what it is about.
type ReportOptions struct {
	// Out receives report.md, report.html and figures/.
	Out string
	// Source names what the report was made from, for its header.
	Source string
	// Profile and State are the pipeline's, when the report is of one.
	Profile *Profile
	State   *State
	Now     func() time.Time
	Boot    stats.BootstrapOptions
	// Kdbench is the version in the header (default: this binary's).
	Kdbench string
	// Rules overrides the evidence's trace metric rules, if named.
	Rules metrics.Rules
}

// WriteReport draws the figures, evaluates every claim and writes
// report.md and report.html (figures embedded) under opts.Out.
func WriteReport(ev *Evidence, opts ReportOptions) (*Report, error) {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	boot := opts.Boot
	if boot == (stats.BootstrapOptions{}) {
		boot = stats.DefaultBootstrap
	}
	if opts.Rules.Name != "" {
		ev.Rules = opts.Rules
	}
	figs, warnings := DrawFigures(ev, opts.Out)
	rep := &Report{
		Source: opts.Source, Generated: now().UTC(), Figures: figs,
		Kdbench:  opts.Kdbench,
		Warnings: append(slices.Clone(ev.Warnings), warnings...),
		Metrics: fmt.Sprintf("Trace metrics (Figs 12–13) under the %s rules (%s; per-function %s slowdown); medians over functions are the conventional median; burst totals read from the artifact's logs are %s. See docs/metrics.md.",
			ev.Rules.Name, ev.Rules.Source, ev.Rules.SlowdownMean(), metrics.TotalRule),
	}
	if rep.Kdbench == "" {
		rep.Kdbench = buildinfo.Version + " (" + buildinfo.Revision() + ")"
	}
	if opts.State != nil {
		rep.Profile = opts.State.Profile
	}
	for _, c := range Claims {
		row := ClaimRow{Claim: c, Outcome: c.Evaluate(ev, boot)}
		for _, f := range c.Figures {
			if slices.Contains(figs, f) {
				row.Figures = append(row.Figures, f)
			}
		}
		rep.Claims = append(rep.Claims, row)
	}
	rep.Steps = stepRows(ev, opts)
	for _, s := range rep.Steps {
		rep.Total += s.Duration
	}
	rep.Env = environment(ev, opts.Out)

	var md bytes.Buffer
	if err := markdownTmpl.Execute(&md, rep); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	if err := fsutil.WriteFileAtomic(filepath.Join(opts.Out, ReportMarkdown), md.Bytes(), 0o644); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	images := map[string]htmltemplate.URL{}
	for _, f := range figs {
		b, err := os.ReadFile(filepath.Join(opts.Out, FiguresDir, f+".png"))
		if err != nil {
			return nil, fmt.Errorf("report: embedding figure: %w", err)
		}
		images[f] = htmltemplate.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(b))
	}
	var html bytes.Buffer
	if err := htmlTmpl.Execute(&html, struct {
		*Report
		Images map[string]htmltemplate.URL
	}{rep, images}); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	if err := fsutil.WriteFileAtomic(filepath.Join(opts.Out, ReportHTML), html.Bytes(), 0o644); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	return rep, nil
}

// stepRows is the runtime table: the pipeline's steps in profile order, or,
// for results made elsewhere, one row per results directory.
func stepRows(ev *Evidence, opts ReportOptions) []StepRow {
	var rows []StepRow
	if st := opts.State; st != nil {
		var ids []string
		if opts.Profile != nil {
			for _, s := range opts.Profile.Steps() {
				if st.Steps[s.ID] != nil {
					ids = append(ids, s.ID)
				}
			}
		}
		for id := range st.Steps {
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
		if opts.Profile == nil {
			slices.Sort(ids)
		}
		for _, id := range ids {
			s := st.Steps[id]
			rows = append(rows, StepRow{ID: id, Status: string(s.Status), Estimate: s.Estimate.D(), Duration: s.Duration.D(),
				ResultsDir: s.ResultsDir, Note: s.Error})
		}
		return rows
	}
	for _, r := range ev.Runs {
		m := r.Manifest()
		row := StepRow{ID: m.Experiment + "/" + strings.Join(m.Systems, ","), Status: string(m.Status), Note: m.Error, ResultsDir: relTo(opts.Out, r.Dir)}
		if m.End != nil {
			row.Duration = m.End.Sub(m.Start)
		}
		rows = append(rows, row)
	}
	for _, sys := range sortedSystems(ev.Traces) {
		src := ev.Traces[sys]
		rows = append(rows, StepRow{ID: "azure-trace/" + sys, Status: string(src.Format), Note: strings.Join(src.Files, ", ")})
	}
	for _, m := range ev.Microbench {
		rows = append(rows, StepRow{ID: fmt.Sprintf("%s/%s (%s, %d)", m.Experiment, m.Baseline, m.Kind, m.Scale), Status: "artifact log", Note: m.Path})
	}
	return rows
}

// relTo returns path relative to dir if it lies inside it.
func relTo(dir, path string) string {
	if rel, err := filepath.Rel(dir, path); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return filepath.ToSlash(rel)
	}
	return path
}

func sortedSystems[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// environment is the manifest of the earliest results directory: the
// kdbench build, the machine and the clusters' component versions.
func environment(ev *Evidence, out string) []EnvRow {
	if len(ev.Runs) == 0 {
		return []EnvRow{{"results", "no results directory records an environment"}}
	}
	first := slices.MinFunc(ev.Runs, func(a, b *results.Run) int { return a.Manifest().Start.Compare(b.Manifest().Start) })
	m := first.Manifest()
	mf := m.Machine
	rows := []EnvRow{
		{"kdbench", m.Kdbench.Version + " (" + m.Kdbench.Revision + ")"},
		{"machine", fmt.Sprintf("%s: %d CPUs, %.1f GiB memory", mf.Hostname, mf.CPUs, float64(mf.MemoryBytes)/(1<<30))},
		{"os", strings.TrimSpace(mf.OS + " " + mf.Kernel + " " + mf.Arch)},
		{"go", mf.GoVersion},
	}
	components := map[string]string{}
	providers, nodes, qps, delays := map[string]bool{}, map[int]bool{}, map[string]bool{}, map[string]bool{}
	clusters := 0
	for _, r := range ev.Runs {
		for _, c := range r.Manifest().Clusters {
			clusters++
			providers[c.Provider], nodes[c.Nodes], qps[c.QPSProfile], delays[c.SandboxDelay] = true, true, true, true
			for k, v := range c.Components {
				components[k] = v
			}
		}
	}
	if clusters > 0 {
		ns := make([]string, 0, len(nodes))
		for _, n := range slices.Sorted(maps.Keys(nodes)) {
			ns = append(ns, fmt.Sprint(n))
		}
		rows = append(rows, EnvRow{"clusters", fmt.Sprintf("%d (provider %s; nodes %s; QPS profiles %s; sandbox delays %s)", clusters,
			strings.Join(sortedSystems(providers), ", "), strings.Join(ns, ", "),
			strings.Join(sortedSystems(qps), ", "), strings.Join(sortedSystems(delays), ", "))})
	}
	for _, k := range sortedSystems(components) {
		rows = append(rows, EnvRow{k, components[k]})
	}
	rows = append(rows, EnvRow{"first results", relTo(out, first.Dir)})
	return rows
}

// cell makes text safe inside a markdown table cell.
func cell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.Join(strings.Fields(s), " ")
}

func dur(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	return fmtDuration(d)
}

var funcs = map[string]any{"cell": cell, "dur": dur, "or": func(s, def string) string {
	if s == "" {
		return def
	}
	return s
}}

var markdownTmpl = template.Must(template.New("md").Funcs(funcs).Parse(`# Kubedirect artifact evaluation{{if .Profile}}: {{.Profile}}{{end}}

Generated {{.Generated.Format "2006-01-02 15:04 UTC"}} by kdbench {{.Kdbench}} from {{.Source}}.
{{.Metrics}}

## Claims

| claim | paper | paper's value | measured (95% CI) | verdict | why | measured figure |
|---|---|---|---|---|---|---|
{{range .Claims}}| ` + "`{{.ID}}`" + ` | {{.Figure}}: {{cell .Paper}} | {{cell .PaperValue}} | {{cell (or .Measured "-")}} | **{{.Verdict}}** | {{cell .Reason}} | {{range $i, $f := .Figures}}{{if $i}}, {{end}}[{{$f}}](figures/{{$f}}.png){{else}}-{{end}} |
{{end}}
How each verdict is decided:
{{range .Claims}}
- ` + "`{{.ID}}`" + `: {{.Rule}}{{end}}

## Figures
{{range .Figures}}
![{{.}}](figures/{{.}}.png){{else}}
No figures: nothing measured could be drawn.{{end}}

## Runtime

| step | status | estimate | actual | results | note |
|---|---|---|---|---|---|
{{range .Steps}}| {{.ID}} | {{.Status}} | {{dur .Estimate}} | {{dur .Duration}} | {{cell (or .ResultsDir "-")}} | {{cell .Note}} |
{{end}}| total | | | {{dur .Total}} | | |

## Environment

| | |
|---|---|
{{range .Env}}| {{.Key}} | {{cell .Value}} |
{{end}}{{if .Warnings}}
## Warnings
{{range .Warnings}}
- {{.}}{{end}}
{{end}}`))

var htmlTmpl = htmltemplate.Must(htmltemplate.New("html").Funcs(funcs).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Kubedirect artifact evaluation{{if .Profile}}: {{.Profile}}{{end}}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:75rem;margin:2rem auto;padding:0 1rem}
table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccc;padding:.3rem .5rem;vertical-align:top;text-align:left}
.reproduced{background:#e3f6e3}.not-reproduced{background:#fbe3e3}.not-run{background:#eee}
img{max-width:100%}figure{margin:1rem 0}
</style></head><body>
<h1>Kubedirect artifact evaluation{{if .Profile}}: {{.Profile}}{{end}}</h1>
<p>Generated {{.Generated.Format "2006-01-02 15:04 UTC"}} by kdbench {{.Kdbench}} from {{.Source}}.</p>
<p>{{.Metrics}}</p>
<h2>Claims</h2>
<table><tr><th>claim</th><th>paper</th><th>paper's value</th><th>measured (95% CI)</th><th>verdict</th><th>why</th><th>rule</th></tr>
{{range .Claims}}<tr class="{{if eq .Verdict "reproduced"}}reproduced{{else if eq .Verdict "not reproduced"}}not-reproduced{{else}}not-run{{end}}" id="{{.ID}}">
<td><code>{{.ID}}</code></td><td>{{.Figure}}: {{.Paper}}</td><td>{{.PaperValue}}</td><td>{{or .Measured "-"}}</td><td><b>{{.Verdict}}</b></td><td>{{.Reason}}</td><td>{{.Rule}}</td></tr>
{{end}}</table>
<h2>Figures</h2>
{{range .Figures}}<figure id="figure-{{.}}"><img alt="{{.}}" src="{{index $.Images .}}"><figcaption>{{.}}</figcaption></figure>
{{else}}<p>No figures: nothing measured could be drawn.</p>{{end}}
<h2>Runtime</h2>
<table><tr><th>step</th><th>status</th><th>estimate</th><th>actual</th><th>results</th><th>note</th></tr>
{{range .Steps}}<tr><td>{{.ID}}</td><td>{{.Status}}</td><td>{{dur .Estimate}}</td><td>{{dur .Duration}}</td><td>{{or .ResultsDir "-"}}</td><td>{{.Note}}</td></tr>
{{end}}<tr><td>total</td><td></td><td></td><td>{{dur .Total}}</td><td></td><td></td></tr></table>
<h2>Environment</h2>
<table>{{range .Env}}<tr><th>{{.Key}}</th><td>{{.Value}}</td></tr>{{end}}</table>
{{if .Warnings}}<h2>Warnings</h2><ul>{{range .Warnings}}<li>{{.}}</li>{{end}}</ul>{{end}}
</body></html>
`))
