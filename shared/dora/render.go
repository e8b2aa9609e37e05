package dora

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/highwayhq/highway/shared/ledger"
)

//go:embed page.tmpl
var pageSource string

var pageTemplate = template.Must(template.New("page").Funcs(template.FuncMap{
	"f": func(v float64) string { return fmt.Sprintf("%.1f", v) },
}).Parse(pageSource))

// weekdays are the heatmaps' rows, in the order of Weekday.
var weekdays = [7]string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}

// WritePage writes the DORA page, one standalone HTML document (inline CSS
// and SVG, no script, nothing fetched): rows, the metrics of each window as
// the table has them, each with its band and its change against the span
// before; then pg's weekly trends, heatmaps, and latest deployments and
// incidents, each linked to its artifact's timeline on the page. Every
// figure also sits in a data- attribute, so the page can be read back.
func WritePage(w io.Writer, rows []Row, pg Page) error {
	return pageTemplate.Execute(w, viewOf(rows, pg))
}

// view is what the template renders.
type view struct {
	Title, Scope, AsOf string
	Bands              []Band
	Envs               []envView
	Weeks              string // the span of the weeks, for the captions
	WeekCount          int
	Days, Hours        heatmapView
	Summary            summary
	Deployments        []deploymentView
	Incidents          []incidentView
	Timelines          []timelineView
	Thresholds         [][5]string
	RecentLimit        int
}

// envView is one environment: its rows of the table and its trends.
type envView struct {
	App, Env string
	Rows     []rowView
	Charts   []chart
	// Quiet says none of the trends has data: the page says so in a line
	// instead of drawing four empty charts.
	Quiet bool
}

// rowView is one row of the metrics table.
type rowView struct {
	Window, Span string
	Cells        [4]cellView
}

// cellView is one metric of one window: its band, its figure and its
// change against the span before.
type cellView struct {
	Class       string // the metric: deployments, lead, cfr, ttr
	Band        Band
	Value, Note string
	Raw         string // the figure in a unit a test can compare
	Delta       delta
}

// delta is a metric's change against the span before.
type delta struct {
	Text  string // "▲ 3", "▼ 25m", "±0"; "" when there is nothing to compare
	Trend string // better, worse, same; "" when there is nothing to compare
	Title string
}

// viewOf lays the page out.
func viewOf(rows []Row, pg Page) view {
	v := view{
		AsOf:        pg.To.UTC().Format("Mon 2 Jan 2006, 15:04 UTC"),
		Bands:       []Band{Elite, High, Medium, Low},
		RecentLimit: Recent,
		// The thresholds BandsOf applies, in words.
		Thresholds: [][5]string{
			{"Deployment frequency", "daily or more", "weekly to daily", "monthly to weekly", "less than monthly"},
			{"Lead time for changes (p50)", "less than a day", "a day to a week", "a week to a month", "more than a month"},
			{"Change failure rate", "5% or less", "10% or less", "15% or less", "more than 15%"},
			{"Time to restore (p50)", "less than an hour", "less than a day", "less than a week", "a week or more"},
		},
	}
	v.Title, v.Scope = scopeOf(rows, pg)
	if n := len(pg.Weeks); n > 0 {
		v.Weeks = fmt.Sprintf("%d weeks from Monday %s to now", n, pg.Weeks[0].Format("2 Jan"))
		v.WeekCount = n
	}
	trends := map[string]Trend{}
	for _, t := range pg.Envs {
		trends[t.App+"/"+t.Env] = t
	}
	for _, r := range rows {
		key := r.App + "/" + r.Env
		if len(v.Envs) == 0 || v.Envs[len(v.Envs)-1].App+"/"+v.Envs[len(v.Envs)-1].Env != key {
			e := envView{App: r.App, Env: r.Env}
			if t, ok := trends[key]; ok {
				e.Charts = chartsOf(t, pg.Weeks)
				e.Quiet = !slices.ContainsFunc(e.Charts, func(c chart) bool { return c.Empty == "" })
			}
			v.Envs = append(v.Envs, e)
		}
		prev, hasPrev := trends[key].Previous[r.Window]
		e := &v.Envs[len(v.Envs)-1]
		e.Rows = append(e.Rows, rowOf(r, prev, hasPrev))
	}
	v.Days, v.Hours = dayHeatmap(pg), hourHeatmap(pg)
	v.Summary = summaryOf(pg.Heatmap)
	v.Deployments, v.Incidents, v.Timelines = recentOf(pg)
	return v
}

// scopeOf names what the page covers: its title and the environments.
func scopeOf(rows []Row, pg Page) (title, scope string) {
	var apps []string
	envs := map[string][]string{}
	add := func(app, env string) {
		if _, ok := envs[app]; !ok {
			apps = append(apps, app)
		}
		if !slices.Contains(envs[app], env) {
			envs[app] = append(envs[app], env)
		}
	}
	for _, r := range rows {
		add(r.App, r.Env)
	}
	for _, t := range pg.Envs {
		add(t.App, t.Env)
	}
	if len(apps) == 1 {
		return "DORA metrics of " + apps[0], apps[0] + ": " + strings.Join(envs[apps[0]], ", ")
	}
	var parts []string
	for _, a := range apps {
		parts = append(parts, a+" ("+strings.Join(envs[a], ", ")+")")
	}
	if len(parts) > 4 {
		return "DORA metrics", fmt.Sprintf("%d apps", len(apps))
	}
	return "DORA metrics", strings.Join(parts, ", ")
}

// rowOf is one window's row, compared with prev, the metrics of the span
// before it (when hasPrev).
func rowOf(r Row, prev Metrics, hasPrev bool) rowView {
	m, b := r.Metrics, r.Bands
	span := spanName(r.Window)
	rv := rowView{Window: r.Window, Span: span}
	before := "the " + span + " before"
	compare := func(cur, old float64, both bool, lowerBetter bool, diff, was string) delta {
		if !hasPrev || !both {
			return delta{Title: "nothing to compare with in " + before}
		}
		d := delta{Title: before + ": " + was}
		switch {
		case cur == old:
			d.Text, d.Trend = "±0", "same"
			return d
		case cur > old:
			d.Text = "▲ " + diff
		default:
			d.Text = "▼ " + diff
		}
		if (cur < old) == lowerBetter {
			d.Trend = "better"
		} else {
			d.Trend = "worse"
		}
		return d
	}

	deps := cellView{Class: "deployments", Band: b.DeploymentFrequency, Value: fmt.Sprint(m.Deployments),
		Note: rate(m.PerDay), Raw: fmt.Sprint(m.Deployments)}
	if m.Rollbacks > 0 {
		deps.Note += ", " + plural(m.Rollbacks, "rollback") + " apart"
	}
	deps.Delta = compare(float64(m.Deployments), float64(prev.Deployments), true, false,
		fmt.Sprint(abs(m.Deployments-prev.Deployments)), plural(prev.Deployments, "deployment"))

	lead := cellView{Class: "lead", Band: b.LeadTime, Value: "–", Note: "no commit deployed"}
	if m.Commits > 0 {
		lead.Value, lead.Note, lead.Raw = human(m.LeadTimeMedian), "p90 "+human(m.LeadTimeP90), seconds(m.LeadTimeMedian)
	}
	lead.Delta = compare(float64(m.LeadTimeMedian), float64(prev.LeadTimeMedian), m.Commits > 0 && prev.Commits > 0, true,
		human(absDuration(m.LeadTimeMedian-prev.LeadTimeMedian)), "p50 "+human(prev.LeadTimeMedian))

	cfr := cellView{Class: "cfr", Band: b.ChangeFailureRate, Value: "–", Note: "no deployment"}
	if m.Deployments > 0 {
		cfr.Value, cfr.Note, cfr.Raw = percent(m.ChangeFailureRate), fmt.Sprintf("%d of %d failed", m.Failed, m.Deployments), fmt.Sprintf("%.4f", m.ChangeFailureRate)
	}
	points := math.Round(100 * math.Abs(m.ChangeFailureRate-prev.ChangeFailureRate)) // percentage points
	cfr.Delta = compare(m.ChangeFailureRate, prev.ChangeFailureRate, m.Deployments > 0 && prev.Deployments > 0, true,
		fmt.Sprintf("%.0f pts", points), fmt.Sprintf("%s (%d of %d)", percent(prev.ChangeFailureRate), prev.Failed, prev.Deployments))

	ttr := cellView{Class: "ttr", Band: b.TimeToRestore, Value: "–", Note: "no incident restored"}
	if m.Restored > 0 {
		ttr.Value, ttr.Note, ttr.Raw = human(m.TimeToRestoreMedian), plural(m.Restored, "incident")+" restored", seconds(m.TimeToRestoreMedian)
	}
	ttr.Delta = compare(float64(m.TimeToRestoreMedian), float64(prev.TimeToRestoreMedian), m.Restored > 0 && prev.Restored > 0, true,
		human(absDuration(m.TimeToRestoreMedian-prev.TimeToRestoreMedian)), "p50 "+human(prev.TimeToRestoreMedian))

	rv.Cells = [4]cellView{deps, lead, cfr, ttr}
	return rv
}

// spanName reads a window's name ("7d") as words ("7 days").
func spanName(window string) string {
	for _, w := range Windows {
		if w.Name == window {
			days := int(w.Span.Hours() / 24)
			if days == 1 {
				return "day"
			}
			return fmt.Sprintf("%d days", days)
		}
	}
	return window
}

// Chart geometry, in SVG user units: the plot area inside a W×H chart.
const (
	chartW, chartH = 272, 92
	plotX0, plotX1 = 36.0, 266.0
	plotY0, plotY1 = 8.0, 70.0
)

// chart is one small trend chart: a metric of one environment, week by
// week, as bars or as a line, each mark coloured by its week's band.
type chart struct {
	Metric, Title  string
	W, H           int
	X0, X1, Y0, Y1 float64
	YTicks, XTicks []tick
	Bars, Dots     []mark
	Rollbacks      []mark   // a dot above the bar of each week with rollbacks
	Lines          []string // polyline points, one per run of weeks with data
	Empty          string
}

// tick is an axis label at a position along its axis.
type tick struct {
	Pos   float64
	Label string
}

// mark is a bar or a dot of a chart.
type mark struct {
	X, Y, W, H  float64
	Band        Band
	Week, Value string
	Title       string
	Current     bool // the week to now
}

// series is one metric of one environment, week by week.
type series struct {
	metric, title string
	empty         string // what a chart without data says, before "in N weeks"
	bars          bool
	value         func(Metrics) (v float64, ok bool)
	band          func(Bands) Band
	scale         func(max float64) (top float64, label func(float64) string)
	text          func(Metrics) string
}

// trendSeries are the four trends, in the table's order.
var trendSeries = []series{
	{metric: "deployments", title: "deployments a week", empty: "no deployment", bars: true,
		value: func(m Metrics) (float64, bool) { return float64(m.Deployments), true },
		band:  func(b Bands) Band { return b.DeploymentFrequency }, scale: countScale,
		text: func(m Metrics) string { return counts(Cell{Deployments: m.Deployments, Rollbacks: m.Rollbacks}) }},
	{metric: "lead", title: "lead time p50", empty: "no commit deployed",
		value: func(m Metrics) (float64, bool) { return m.LeadTimeMedian.Seconds(), m.Commits > 0 },
		band:  func(b Bands) Band { return b.LeadTime }, scale: durationScale,
		text: func(m Metrics) string {
			return "p50 " + human(m.LeadTimeMedian) + " over " + plural(m.Commits, "commit")
		}},
	{metric: "cfr", title: "change failure rate", empty: "no deployment",
		value: func(m Metrics) (float64, bool) { return m.ChangeFailureRate, m.Deployments > 0 },
		band:  func(b Bands) Band { return b.ChangeFailureRate }, scale: rateScale,
		text: func(m Metrics) string {
			return fmt.Sprintf("%s (%d of %d failed)", percent(m.ChangeFailureRate), m.Failed, m.Deployments)
		}},
	{metric: "ttr", title: "time to restore p50", empty: "no incident restored",
		value: func(m Metrics) (float64, bool) { return m.TimeToRestoreMedian.Seconds(), m.Restored > 0 },
		band:  func(b Bands) Band { return b.TimeToRestore }, scale: durationScale,
		text: func(m Metrics) string {
			return "p50 " + human(m.TimeToRestoreMedian) + " over " + plural(m.Restored, "incident")
		}},
}

// chartsOf draws t's four trends over weeks.
func chartsOf(t Trend, weeks []time.Time) []chart {
	var out []chart
	for _, s := range trendSeries {
		out = append(out, chartOf(s, t, weeks))
	}
	return out
}

// chartOf draws one trend: a bar or a dot per week with data, on a y axis
// from 0 to a round figure above the highest week, weeks along the x axis.
func chartOf(s series, t Trend, weeks []time.Time) chart {
	c := chart{Metric: s.metric, Title: t.App + "/" + t.Env + " " + s.title, W: chartW, H: chartH,
		X0: plotX0, X1: plotX1, Y0: plotY0, Y1: plotY1}
	n := len(t.Weeks)
	if n == 0 {
		return c
	}
	highest, some := 0.0, false
	for _, m := range t.Weeks {
		if v, ok := s.value(m); ok {
			highest, some = math.Max(highest, v), true
		}
	}
	top, label := s.scale(highest)
	for _, f := range []float64{0, 0.5, 1} {
		c.YTicks = append(c.YTicks, tick{Pos: plotY1 - f*(plotY1-plotY0), Label: label(f * top)})
	}
	slot := (plotX1 - plotX0) / float64(n)
	for i := range n {
		if i%4 == 0 || i == n-1 {
			c.XTicks = append(c.XTicks, tick{Pos: plotX0 + (float64(i)+0.5)*slot, Label: weeks[i].Format("Jan 2")})
		}
	}
	if !some || (s.bars && highest == 0) {
		c.Empty = fmt.Sprintf("%s in %d weeks", s.empty, n)
	}
	var run []string // the points of the weeks with data since the last without
	flush := func() {
		if len(run) > 1 { // a lone point draws no line
			c.Lines = append(c.Lines, strings.Join(run, " "))
		}
		run = nil
	}
	for i, m := range t.Weeks {
		v, ok := s.value(m)
		week := "week of " + weeks[i].Format("Mon 2 Jan")
		if i == n-1 {
			week += " (to now)"
		}
		if !ok {
			flush()
			continue
		}
		band := s.band(BandsOf(m))
		x := plotX0 + (float64(i)+0.5)*slot
		y := plotY1 - v/top*(plotY1-plotY0)
		mk := mark{X: x, Y: y, Band: band, Week: weeks[i].Format(time.DateOnly), Value: fmt.Sprintf("%g", v),
			Title: week + ": " + s.text(m) + bandSuffix(band), Current: i == n-1}
		if s.bars {
			w := slot * 0.68
			mk.X, mk.W, mk.H = x-w/2, w, plotY1-y
			c.Bars = append(c.Bars, mk)
			if m.Rollbacks > 0 {
				c.Rollbacks = append(c.Rollbacks, mark{X: x, Y: y - 4, Week: mk.Week, Value: fmt.Sprint(m.Rollbacks),
					Title: week + ": " + plural(m.Rollbacks, "rollback") + ", not counted"})
			}
			continue
		}
		run = append(run, fmt.Sprintf("%.1f,%.1f", x, y))
		c.Dots = append(c.Dots, mk)
	}
	flush()
	return c
}

// bandSuffix is ", elite" for a band, nothing for none.
func bandSuffix(b Band) string {
	if b == "" {
		return ""
	}
	return ", " + string(b)
}

// countScale is a y axis for counts: a top of 2, 4, 6, 10, 20, 40, ...,
// so that its middle is a whole number.
func countScale(highest float64) (float64, func(float64) string) {
	return niceAbove(highest, []float64{2, 4, 6, 10}, 2), func(v float64) string { return fmt.Sprintf("%g", v) }
}

// rateScale is a y axis for a rate: a top of 10%, 20%, 50% or 100%.
func rateScale(highest float64) (float64, func(float64) string) {
	top := 1.0
	for _, t := range []float64{0.1, 0.2, 0.5, 1} {
		if highest <= t {
			top = t
			break
		}
	}
	return top, func(v float64) string { return percent(v) }
}

// durationScale is a y axis for durations (in seconds): a top of a round
// number of minutes, hours or days, whichever reads best, with a round
// middle.
func durationScale(highest float64) (float64, func(float64) string) {
	unit, steps := 60.0, []float64{1, 2, 4, 6, 10, 20, 30, 40, 60, 90}
	switch {
	case highest > 48*3600:
		unit, steps = 86400, []float64{4, 6, 10, 14, 20, 30, 60, 90, 180, 360}
	case highest > 90*60:
		unit, steps = 3600, []float64{2, 4, 6, 8, 12, 24, 36, 48}
	}
	top := niceAbove(highest/unit, steps, steps[0]) * unit
	return top, func(v float64) string {
		if v == 0 {
			return "0"
		}
		return human(time.Duration(v) * time.Second)
	}
}

// niceAbove is the smallest of steps, times a power of ten, at or above v;
// at least least.
func niceAbove(v float64, steps []float64, least float64) float64 {
	if v <= least {
		return least
	}
	for scale := 1.0; ; scale *= 10 {
		for _, s := range steps {
			if s*scale >= v {
				return s * scale
			}
		}
	}
}

// heatmapView is one heatmap: its cells, its axes' labels and its legend.
type heatmapView struct {
	ID, Label        string
	W, H             int
	Cells            []heatCell
	Rows, Cols       []tick
	XTitle           string
	XTitleX, XTitleY float64
	Legend           []legendItem
}

// heatCell is one cell of a heatmap.
type heatCell struct {
	Class, Fill, Title string
	X, Y               float64
	Date               string // the day heatmap's
	Weekday, Hour      int    // the weekday × hour heatmap's
	Cell
}

// legendItem is one colour of a heatmap's legend.
type legendItem struct{ Fill, Label string }

// Heatmap geometry: a cell's pitch and size, and the margins for the labels.
const (
	pitch, cellSide = 16.0, 13.0
	heatLeft        = 32.0
	heatTop         = 16.0
)

// heatColours are the heatmaps' shades: none, then the levels, light to
// dark.
var heatColours = [5]string{"#ebedf0", "#c6dbef", "#6baed6", "#2171b5", "#08306b"}

// levels are a heatmap's upper bounds of each shade for counts up to
// highest.
func levels(highest int) []int {
	var out []int
	for k := 1; k <= 4; k++ {
		if highest <= 4 {
			if k <= highest {
				out = append(out, k)
			}
			continue
		}
		out = append(out, (k*highest+3)/4)
	}
	return out
}

// shade is the colour of a cell counting n, given the levels.
func shade(n int, lv []int) string {
	if n == 0 {
		return heatColours[0]
	}
	for i, hi := range lv {
		if n <= hi {
			return heatColours[i+1]
		}
	}
	return heatColours[len(heatColours)-1]
}

// legendOf says what each shade of lv counts.
func legendOf(lv []int) []legendItem {
	items := []legendItem{{heatColours[0], "0"}}
	lo := 1
	for i, hi := range lv {
		label := fmt.Sprint(hi)
		if hi > lo {
			label = fmt.Sprintf("%d–%d", lo, hi)
		}
		items = append(items, legendItem{heatColours[i+1], label})
		lo = hi + 1
	}
	return items
}

// dayHeatmap lays out the day heatmap: a column per week, a row per
// weekday (Monday first), the weeks' Mondays along the top.
func dayHeatmap(pg Page) heatmapView {
	h := heatmapView{ID: "days", Label: "deployments by day", XTitle: "week starting Monday (UTC)"}
	highest := 0
	for _, d := range pg.Heatmap.Days {
		highest = max(highest, d.Deployments)
	}
	lv := levels(highest)
	for i, name := range weekdays {
		h.Rows = append(h.Rows, tick{Pos: heatTop + float64(i)*pitch + cellSide - 3, Label: name})
	}
	for i, w := range pg.Weeks {
		if i%3 == 0 {
			h.Cols = append(h.Cols, tick{Pos: heatLeft + float64(i)*pitch, Label: w.Format("Jan 2")})
		}
	}
	for i, d := range pg.Heatmap.Days {
		col, row := i/7, weekdayOf(d.Date)
		h.Cells = append(h.Cells, heatCell{Class: "day", Date: d.Date.Format(time.DateOnly), Cell: d.Cell,
			X: heatLeft + float64(col)*pitch, Y: heatTop + float64(row)*pitch, Fill: shade(d.Deployments, lv),
			Title: d.Date.Format("Mon 2 Jan") + ": " + counts(d.Cell)})
	}
	h.W = int(heatLeft + float64(len(pg.Weeks))*pitch)
	h.H = int(heatTop + 7*pitch + 14)
	h.XTitleX, h.XTitleY = heatLeft, heatTop+7*pitch+10
	h.Legend = legendOf(lv)
	return h
}

// hourHeatmap lays out the weekday × hour heatmap: a row per weekday in the
// day heatmap's order, a column per hour.
func hourHeatmap(pg Page) heatmapView {
	h := heatmapView{ID: "week-hours", Label: "deployments by weekday and hour", XTitle: "hour of the day (UTC)"}
	highest := 0
	for _, row := range pg.Heatmap.WeekHour {
		for _, c := range row {
			highest = max(highest, c.Deployments)
		}
	}
	lv := levels(highest)
	for i, name := range weekdays {
		h.Rows = append(h.Rows, tick{Pos: heatTop + float64(i)*pitch + cellSide - 3, Label: name})
	}
	for hour := 0; hour < 24; hour += 3 {
		h.Cols = append(h.Cols, tick{Pos: heatLeft + float64(hour)*pitch, Label: fmt.Sprintf("%02d", hour)})
	}
	for d, row := range pg.Heatmap.WeekHour {
		for hour, c := range row {
			h.Cells = append(h.Cells, heatCell{Class: "hour", Weekday: d, Hour: hour, Cell: c,
				X: heatLeft + float64(hour)*pitch, Y: heatTop + float64(d)*pitch, Fill: shade(c.Deployments, lv),
				Title: fmt.Sprintf("%s %02d:00–%02d:59: %s", weekdays[d], hour, hour, counts(c))})
		}
	}
	h.W = int(heatLeft + 24*pitch)
	h.H = int(heatTop + 7*pitch + 14)
	h.XTitleX, h.XTitleY = heatLeft, heatTop+7*pitch+10
	h.Legend = legendOf(lv)
	return h
}

// summary is what the heatmaps add up to.
type summary struct {
	Cell
	// Weekday and Hour are when most deployments happen; Weekend is the
	// share of deployments on Saturdays and Sundays.
	Weekday, Hour, Weekend string
}

// summaryOf adds the heatmaps up.
func summaryOf(h Heatmap) summary {
	var s summary
	for _, d := range h.Days {
		s.Deployments += d.Deployments
		s.Rollbacks += d.Rollbacks
	}
	if s.Deployments == 0 {
		return s
	}
	var days [7]int
	var hours [24]int
	for d, row := range h.WeekHour {
		for hour, c := range row {
			days[d] += c.Deployments
			hours[hour] += c.Deployments
		}
	}
	busiestDay, busiestHour := 0, 0
	for d, n := range days {
		if n > days[busiestDay] {
			busiestDay = d
		}
	}
	for hour, n := range hours {
		if n > hours[busiestHour] {
			busiestHour = hour
		}
	}
	s.Weekday = fmt.Sprintf("%s (%d)", weekdays[busiestDay], days[busiestDay])
	s.Hour = fmt.Sprintf("%02d:00–%02d:59 UTC (%d)", busiestHour, busiestHour, hours[busiestHour])
	s.Weekend = percent(float64(days[5]+days[6]) / float64(s.Deployments))
	return s
}

// counts says what a cell counts.
func counts(c Cell) string {
	s := plural(c.Deployments, "deployment")
	if c.Rollbacks > 0 {
		s += ", " + plural(c.Rollbacks, "rollback")
	}
	return s
}

// deploymentView is one row of the latest deployments.
type deploymentView struct {
	ID, When, Day, App, Env string
	Outcome, OutcomeText    string
	Artifact, Anchor, Took  string
	Commits                 []string
	More                    int // commits not listed
}

// incidentView is one row of the latest incidents.
type incidentView struct {
	ID, When, App, Env, Alarm string
	Restored                  string
	Open                      bool
	Artifact, Anchor          string
}

// timelineView is one artifact's timeline on the page.
type timelineView struct {
	Anchor, Artifact, Ref, Commit string
	Events                        []eventView
}

// eventView is one line of a timeline on the page.
type eventView struct {
	at                time.Time
	When, Class, Text string
}

// recentOf lays out the latest deployments and incidents, and the
// timelines they link to.
func recentOf(pg Page) ([]deploymentView, []incidentView, []timelineView) {
	anchor := func(ref string) string {
		if ref == "" {
			return ""
		}
		return "timeline-" + strings.ReplaceAll(ref, ":", "-")
	}
	var (
		deps  []deploymentView
		incs  []incidentView
		lines []timelineView
	)
	byID := map[string]*ledger.Deployment{}
	for _, t := range pg.Timelines {
		for _, d := range t.Deployments {
			byID[d.ID] = d.Deployment
		}
	}
	for _, d := range pg.Deployments {
		byID[d.ID] = d.Deployment
		dv := deploymentView{ID: d.ID, When: stamp(finished(d.Deployment)), Day: finished(d.Deployment).UTC().Format(time.DateOnly), App: d.App, Env: d.Env,
			Artifact: abbrev(refOf(d.Deployment)), Anchor: anchor(refOf(d.Deployment))}
		dv.Outcome, dv.OutcomeText = outcome(d)
		if took := d.FinishedAt.Sub(d.At); !d.FinishedAt.IsZero() && took > 0 {
			dv.Took = human(took)
		}
		for i, c := range d.Commits {
			if i == 2 && len(d.Commits) > 3 {
				dv.More = len(d.Commits) - 2
				break
			}
			dv.Commits = append(dv.Commits, c[:min(7, len(c))])
		}
		deps = append(deps, dv)
	}
	for _, inc := range pg.Incidents {
		ref := incidentRef(inc, byID)
		iv := incidentView{ID: inc.ID, When: stamp(inc.At), App: inc.App, Env: inc.Env, Alarm: alarmName(inc.Alarm),
			Artifact: abbrev(ref), Anchor: anchor(ref)}
		if restored(inc, pg.To) {
			iv.Restored = "in " + human(inc.ResolvedAt.Sub(inc.At))
		} else {
			iv.Open, iv.Restored = true, "open for "+human(pg.To.Sub(inc.At))
		}
		incs = append(incs, iv)
	}
	for _, t := range pg.Timelines {
		tv := timelineView{Anchor: anchor(t.Ref), Artifact: abbrev(t.Ref), Ref: t.Ref, Commit: abbrev(t.Commit)}
		// Incidents first: one at the time of a rollback caused it.
		for _, inc := range t.Incidents {
			text := inc.App + "/" + inc.Env + ": incident " + alarmName(inc.Alarm)
			if restored(inc, pg.To) {
				text += ", restored in " + human(inc.ResolvedAt.Sub(inc.At))
			} else {
				text += ", open"
			}
			tv.Events = append(tv.Events, eventView{at: inc.At, When: stamp(inc.At), Class: "incident", Text: text})
		}
		for _, d := range t.Deployments {
			class, text := outcome(d)
			if d.Rollback && refOf(d.Deployment) != t.Ref {
				text = "rolled back from it to " + abbrev(refOf(d.Deployment))
			}
			tv.Events = append(tv.Events, eventView{at: finished(d.Deployment), When: stamp(finished(d.Deployment)),
				Class: class, Text: d.App + "/" + d.Env + ": " + text})
		}
		slices.SortStableFunc(tv.Events, func(a, b eventView) int { return a.at.Compare(b.at) })
		lines = append(lines, tv)
	}
	return deps, incs, lines
}

// restored reports whether inc was resolved by to.
func restored(inc *ledger.Incident, to time.Time) bool {
	return !inc.ResolvedAt.IsZero() && !inc.ResolvedAt.After(to)
}

// outcome is what a deployment was, as a class and in words.
func outcome(d Deployment) (class, text string) {
	switch {
	case d.Status != ledger.DeploymentSuccess:
		return "failed", "deployment failed"
	case d.Rollback:
		return "rollback", "rolled back to it"
	case !d.Counted:
		return "repeat", "deployed again (counted once)"
	case d.Failed:
		return "failed-change", "deployed, a failed change"
	}
	return "deployed", "deployed"
}

// stamp is a time as the lists show it.
func stamp(t time.Time) string { return t.UTC().Format("Jan 02 15:04") }

// abbrev shortens a digest to its algorithm and 12 hex digits, and a commit
// SHA to 12 characters.
func abbrev(id string) string {
	algo, hex, found := strings.Cut(id, ":")
	if !found {
		hex, algo = id, ""
	}
	hex = hex[:min(12, len(hex))]
	if algo != "" {
		return algo + ":" + hex
	}
	return hex
}

// alarmName is an alarm's name, from its ARN or name.
func alarmName(alarm string) string {
	if i := strings.LastIndex(alarm, ":alarm:"); i >= 0 {
		return alarm[i+len(":alarm:"):]
	}
	return alarm
}

// human is a duration in its two largest units: 45s, 15m 47s, 2h 1m, 3d 4h.
func human(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return join(int(d/time.Minute), "m", int(d%time.Minute/time.Second), "s")
	case d < 24*time.Hour:
		return join(int(d/time.Hour), "h", int(d%time.Hour/time.Minute), "m")
	}
	return join(int(d/(24*time.Hour)), "d", int(d%(24*time.Hour)/time.Hour), "h")
}

// join is "2h 1m", or "2h" when the smaller unit is 0.
func join(a int, au string, b int, bu string) string {
	if b == 0 {
		return fmt.Sprintf("%d%s", a, au)
	}
	return fmt.Sprintf("%d%s %d%s", a, au, b, bu)
}

// seconds is a duration in whole seconds, for the page's data attributes.
func seconds(d time.Duration) string { return fmt.Sprint(int64(d.Round(time.Second).Seconds())) }

// percent is a rate as a whole percentage.
func percent(r float64) string { return fmt.Sprintf("%.0f%%", 100*r) }

// rate is deployments a day, or a week when fewer than one a day, to a
// tenth.
func rate(perDay float64) string {
	unit := "a day"
	if perDay < 1 {
		perDay, unit = 7*perDay, "a week"
	}
	return strings.TrimSuffix(fmt.Sprintf("%.1f", perDay), ".0") + " " + unit
}

// plural is "1 deployment", "2 deployments".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func abs(n int) int { return max(n, -n) }

func absDuration(d time.Duration) time.Duration { return max(d, -d) }
