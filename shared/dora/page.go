package dora

import (
	"context"
	"fmt"
	"html/template"
	"io"
	"time"

	"github.com/highwayhq/highway/shared/ledger"
	"github.com/highwayhq/highway/shared/policy"
)

// HeatmapWeeks is how many weeks the day heatmap covers.
const HeatmapWeeks = 12

// Heatmap counts successful deployments by day, over the HeatmapWeeks weeks
// ending on the day of To, and by weekday × hour (UTC) over the same span.
type Heatmap struct {
	To time.Time
	// Days are the days, oldest first, each with its deployments.
	Days []Day
	// WeekHour counts deployments by weekday (Sunday first) and hour.
	WeekHour [7][24]int
}

// Day is one cell of the day heatmap.
type Day struct {
	Date  string // 2006-01-02
	Count int
}

// HeatmapOf counts the successful deployments of the environments keep
// accepts (all when nil), by when they finished.
func HeatmapOf(ctx context.Context, l ledger.Ledger, p *policy.Policy, to time.Time, keep func(app, env string) bool) (Heatmap, error) {
	to = to.UTC()
	last := time.Date(to.Year(), to.Month(), to.Day(), 0, 0, 0, 0, time.UTC)
	first := last.AddDate(0, 0, -7*HeatmapWeeks+1)
	h := Heatmap{To: to}
	index := map[string]int{}
	for d := first; !d.After(last); d = d.AddDate(0, 0, 1) {
		index[d.Format(time.DateOnly)] = len(h.Days)
		h.Days = append(h.Days, Day{Date: d.Format(time.DateOnly)})
	}
	for _, a := range p.Apps {
		for _, e := range a.Environments {
			if keep != nil && !keep(a.Name, e.Name) {
				continue
			}
			deps, err := l.Deployments(ctx, a.Name, e.Name, first.Add(-24*time.Hour), last.Add(24*time.Hour))
			if err != nil {
				return Heatmap{}, err
			}
			for _, d := range deps {
				at := finished(d).UTC()
				i, ok := index[at.Format(time.DateOnly)]
				if d.Status != ledger.DeploymentSuccess || !ok {
					continue
				}
				h.Days[i].Count++
				h.WeekHour[at.Weekday()][at.Hour()]++
			}
		}
	}
	return h, nil
}

// cellSize is a heatmap cell's side, in pixels.
const cellSize = 14

var pageTemplate = template.Must(template.New("page").Funcs(template.FuncMap{
	"x":     func(i int) int { return (i / 7) * (cellSize + 2) },
	"y":     func(i int) int { return (i % 7) * (cellSize + 2) },
	"hx":    func(h int) int { return 40 + h*(cellSize+2) },
	"wy":    func(d int) int { return d * (cellSize + 2) },
	"shade": shade,
	"pct":   func(r float64) string { return fmt.Sprintf("%.0f%%", 100*r) },
	"dur":   func(d time.Duration) string { return d.Round(time.Second).String() },
	"days":  func() []string { return []string{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"} },
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Highway DORA metrics</title>
<style>body{font-family:sans-serif;margin:24px}table{border-collapse:collapse}td,th{padding:4px 10px;border-bottom:1px solid #ddd;text-align:left}</style>
</head><body>
<h1>Highway DORA metrics</h1>
<p>As of {{.Heatmap.To.Format "2006-01-02 15:04Z"}}.</p>
<table id="metrics"><thead><tr><th>app/env</th><th>window</th><th>deployments</th><th>lead time p50</th><th>lead time p90</th><th>change failure rate</th><th>time to restore p50</th></tr></thead><tbody>
{{range .Rows}}<tr data-app="{{.App}}" data-env="{{.Env}}" data-window="{{.Window}}">
<td>{{.App}}/{{.Env}}</td><td>{{.Window}}</td>
<td class="deployments" data-band="{{.Bands.DeploymentFrequency}}">{{.Metrics.Deployments}}</td>
<td class="lead-p50" data-band="{{.Bands.LeadTime}}">{{if .Metrics.Commits}}{{dur .Metrics.LeadTimeMedian}}{{else}}-{{end}}</td>
<td class="lead-p90">{{if .Metrics.Commits}}{{dur .Metrics.LeadTimeP90}}{{else}}-{{end}}</td>
<td class="cfr" data-band="{{.Bands.ChangeFailureRate}}">{{if .Metrics.Deployments}}{{pct .Metrics.ChangeFailureRate}}{{else}}-{{end}}</td>
<td class="ttr" data-band="{{.Bands.TimeToRestore}}">{{if .Metrics.Restored}}{{dur .Metrics.TimeToRestoreMedian}}{{else}}-{{end}}</td>
</tr>
{{end}}</tbody></table>
<h2>Deployments by day, last {{.Weeks}} weeks</h2>
<svg id="days" xmlns="http://www.w3.org/2000/svg" width="{{.DaysWidth}}" height="{{.DaysHeight}}">
{{range $i, $d := .Heatmap.Days}}<rect class="day" data-date="{{$d.Date}}" data-count="{{$d.Count}}" x="{{x $i}}" y="{{y $i}}" width="14" height="14" fill="{{shade $d.Count $.Max}}"><title>{{$d.Date}}: {{$d.Count}}</title></rect>
{{end}}</svg>
<h2>Deployments by weekday and hour (UTC)</h2>
<svg id="week-hours" xmlns="http://www.w3.org/2000/svg" width="{{.HoursWidth}}" height="{{.HoursHeight}}">
{{range $d, $row := .Heatmap.WeekHour}}<text x="0" y="{{wy $d}}" dy="12" font-size="11">{{index days $d}}</text>
{{range $h, $n := $row}}<rect class="hour" data-weekday="{{$d}}" data-hour="{{$h}}" data-count="{{$n}}" x="{{hx $h}}" y="{{wy $d}}" width="14" height="14" fill="{{shade $n $.MaxHour}}"><title>{{index days $d}} {{$h}}:00: {{$n}}</title></rect>
{{end}}{{end}}</svg>
</body></html>
`))

// shade is a cell's colour: grey for none, then greens, darker for more.
func shade(n, max int) string {
	if n == 0 || max == 0 {
		return "#ebedf0"
	}
	levels := []string{"#9be9a8", "#40c463", "#30a14e", "#216e39"}
	return levels[min(len(levels)-1, (n*len(levels)-1)/max)]
}

// WritePage writes a standalone HTML page: the metrics table and the two
// heatmaps as inline SVG. Every cell carries its data (data-date,
// data-count) so the page can be read back.
func WritePage(w io.Writer, rows []Row, h Heatmap) error {
	maxDay, maxHour := 0, 0
	for _, d := range h.Days {
		maxDay = max(maxDay, d.Count)
	}
	for _, row := range h.WeekHour {
		for _, n := range row {
			maxHour = max(maxHour, n)
		}
	}
	return pageTemplate.Execute(w, map[string]any{
		"Rows": rows, "Heatmap": h, "Weeks": HeatmapWeeks, "Max": maxDay, "MaxHour": maxHour,
		"DaysWidth": HeatmapWeeks * (cellSize + 2), "DaysHeight": 7 * (cellSize + 2),
		"HoursWidth": 40 + 24*(cellSize+2), "HoursHeight": 7 * (cellSize + 2),
	})
}
