package stacks

import (
	"encoding/json"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/highwayhq/highway/shared/dora"
	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/policy/policytest"
	"github.com/highwayhq/highway/shared/telemetry"
	"github.com/highwayhq/highway/shared/telemetry/telemetrytest"
)

// CloudWatch's limits on a dashboard (Dashboard Body Structure) and on
// search expressions (Search expression syntax), and the size this
// repository allows a dashboard body, which CloudWatch does not limit below
// the template's own 1 MB.
const (
	maxWidgetsPerDashboard = 500
	maxMetricsPerGraph     = 500
	maxSearchesPerGraph    = 100
	maxSearchQuery         = 1024
	maxDashboardBody       = 64 * 1024
)

// dashboardName is what CloudWatch accepts as a dashboard name.
var dashboardName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)

// cwDashboard is a dashboard of a template, its body resolved by flat.
type cwDashboard struct {
	body    string
	Widgets []cwWidget `json:"widgets"`
}

// cwWidget is one widget of a dashboard body.
type cwWidget struct {
	Type       string         `json:"type"`
	Height     float64        `json:"height"`
	Properties map[string]any `json:"properties"`
}

// dashboardsOf returns the dashboards of tpl by name.
func dashboardsOf(t *testing.T, tpl cfnTemplate) map[string]cwDashboard {
	t.Helper()
	out := map[string]cwDashboard{}
	for id, d := range tpl.ofType("AWS::CloudWatch::Dashboard") {
		db := cwDashboard{body: flat(d.Properties["DashboardBody"])}
		if err := json.Unmarshal([]byte(db.body), &db); err != nil {
			t.Fatalf("dashboard %s body: %v\n%s", id, err, db.body)
		}
		out[flat(d.Properties["DashboardName"])] = db
	}
	return out
}

// metrics returns the lines of a metric widget: a metric as [namespace,
// name, dimension, value, ..., {options}], an expression as [{options}].
func (w cwWidget) metrics() [][]any {
	var out [][]any
	for _, m := range list(w.Properties["metrics"]) {
		out = append(out, list(m))
	}
	return out
}

// expressions returns the metric math and SEARCH expressions of a widget.
func (w cwWidget) expressions() []string {
	var out []string
	for _, m := range w.metrics() {
		if e, ok := path(m[len(m)-1], "expression").(string); ok {
			out = append(out, e)
		}
	}
	return out
}

// markdown is a text widget's markdown.
func (w cwWidget) markdown() string {
	s, _ := w.Properties["markdown"].(string)
	return s
}

// expressions returns the expressions of every widget of d.
func (d cwDashboard) expressions() []string {
	var out []string
	for _, w := range d.Widgets {
		out = append(out, w.expressions()...)
	}
	return out
}

// platformOf builds the example's platform of n apps, 60% delivered centrally.
func platformOf(t *testing.T, apps int) *policy.Policy {
	t.Helper()
	p, err := policytest.Build(examplePolicy(t), policytest.Platform{Apps: apps, Central: apps * 6 / 10, Teams: apps / 5})
	if err != nil {
		t.Fatalf("policytest.Build(%d apps) = %v", apps, err)
	}
	return p
}

func TestDashboardsStayWithinCloudWatchLimitsAsAppsGrow(t *testing.T) {
	// GIVEN platforms of 10 and 100 apps
	var overviews []cwDashboard
	for _, apps := range []int{10, 100} {
		// WHEN each hub is synthesized (the platform of 100 apps the quota
		// test checks, too)
		h := func() *Highway {
			if apps == 100 {
				h, _, _ := platformApp(t)
				return h
			}
			return synth(t, platformOf(t, apps))
		}()
		p := h.Hub.Policy
		dashboards := dashboardsOf(t, templateOf(t, h.Hub.Stack))

		// THEN every dashboard is named as CloudWatch allows and stays within
		// its limits on widgets, metrics per graph and SEARCH expressions
		for name, d := range dashboards {
			t.Logf("%d apps: dashboard %s has %d widgets, %d bytes", apps, name, len(d.Widgets), len(d.body))
			if !dashboardName.MatchString(name) {
				t.Errorf("dashboard name %q: CloudWatch allows [A-Za-z0-9_-], at most 255", name)
			}
			if len(d.Widgets) > maxWidgetsPerDashboard {
				t.Errorf("%d apps: dashboard %s has %d widgets, at most %d", apps, name, len(d.Widgets), maxWidgetsPerDashboard)
			}
			if len(d.body) > maxDashboardBody {
				t.Errorf("%d apps: dashboard %s body is %d bytes, want at most %d", apps, name, len(d.body), maxDashboardBody)
			}
			for _, w := range d.Widgets {
				if n := len(w.metrics()); n > maxMetricsPerGraph {
					t.Errorf("%d apps: %s: graph %v has %d metrics, at most %d", apps, name, w.Properties["title"], n, maxMetricsPerGraph)
				}
				searches := 0
				for _, e := range w.expressions() {
					if strings.Contains(e, "SEARCH(") {
						searches++
						if len(e) > maxSearchQuery {
							t.Errorf("%d apps: %s: SEARCH of %d characters, at most %d: %s", apps, name, len(e), maxSearchQuery, e)
						}
					}
				}
				if searches > maxSearchesPerGraph {
					t.Errorf("%d apps: %s: graph %v has %d SEARCH expressions, at most %d", apps, name, w.Properties["title"], searches, maxSearchesPerGraph)
				}
			}
		}

		// AND the apps are on the app dashboards <hub>-apps-1, -2, ... in
		// policy order, appsPerDashboard a dashboard, each starting with a text
		// naming its apps
		groups := (len(p.Apps) + appsPerDashboard - 1) / appsPerDashboard
		if len(dashboards) != 1+groups {
			t.Errorf("%d apps: %d dashboards %v, want the overview and %d app dashboards", apps, len(dashboards), slices.Sorted(maps.Keys(dashboards)), groups)
		}
		for i := range groups {
			name := AppDashboardName(p.Hub, i)
			d, ok := dashboards[name]
			if !ok {
				t.Errorf("%d apps: no dashboard %s", apps, name)
				continue
			}
			var want []string
			for _, a := range p.Apps[i*appsPerDashboard : min(len(p.Apps), (i+1)*appsPerDashboard)] {
				want = append(want, a.Name)
			}
			var shown []string
			for _, w := range d.Widgets {
				if w.Type == "custom" {
					shown = append(shown, flat(path(w.Properties, "params", "app")))
				}
			}
			if !slices.Equal(shown, want) {
				t.Errorf("%d apps: %s heatmaps of %v, want %v", apps, name, shown, want)
			}
			if d.Widgets[0].Type != "text" {
				t.Errorf("%d apps: %s starts with a %s widget, want text", apps, name, d.Widgets[0].Type)
			}
			for _, a := range want {
				if !strings.Contains(d.Widgets[0].markdown(), a) {
					t.Errorf("%d apps: %s text does not name %s: %q", apps, name, a, d.Widgets[0].markdown())
				}
			}
			// Each app's rows start with where its environments deploy to.
			var targets []string
			for _, w := range d.Widgets[1:] {
				if w.Type == "text" {
					targets = append(targets, w.markdown())
				}
			}
			for j, a := range p.Apps[i*appsPerDashboard : min(len(p.Apps), (i+1)*appsPerDashboard)] {
				if j >= len(targets) || !strings.HasPrefix(targets[j], "**"+a.Name+"** deploys ") ||
					!strings.Contains(targets[j], a.Environments[0].Name+" → "+a.Environments[0].Deploy.String()) {
					t.Errorf("%d apps: %s does not say where %s deploys: %q", apps, name, a.Name, targets)
					break
				}
			}
		}

		// AND the overview, named after the hub, starts with a text linking
		// every app dashboard
		overview, ok := dashboards[p.Hub.Name]
		if !ok {
			t.Fatalf("%d apps: no overview dashboard %s", apps, p.Hub.Name)
		}
		index := overview.Widgets[0].markdown()
		if n := strings.Count(index, "(#dashboards:name="); n != groups {
			t.Errorf("%d apps: the overview links %d dashboards, want %d: %q", apps, n, groups, index)
		}
		for i := range groups {
			if link := "(#dashboards:name=" + AppDashboardName(p.Hub, i) + ")"; !strings.Contains(index, link) {
				t.Errorf("%d apps: the overview lacks the link %s: %q", apps, link, index)
			}
		}
		overviews = append(overviews, overview)
	}

	// AND the overview does not grow with the apps: it has as many widgets,
	// and all but its list of app dashboards are the same, byte for byte
	small, large := overviews[0], overviews[1]
	if len(small.Widgets) != len(large.Widgets) {
		t.Fatalf("the overview has %d widgets for 10 apps and %d for 100", len(small.Widgets), len(large.Widgets))
	}
	rest := func(d cwDashboard) string {
		b, err := json.Marshal(d.Widgets[1:])
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if a, b := rest(small), rest(large); a != b {
		t.Errorf("the overview without its list of app dashboards is %d bytes for 10 apps and %d for 100:\n%s\n%s", len(a), len(b), a, b)
	}
	if small.Widgets[0].Height != large.Widgets[0].Height {
		t.Errorf("the list of app dashboards is %v high for 10 apps and %v for 100: the widgets below it move", small.Widgets[0].Height, large.Widgets[0].Height)
	}
}

func TestDashboardsSearchTheDimensionsDORAPublishes(t *testing.T) {
	// GIVEN a row of DORA metrics with deployments, commits and restores, in
	// the dashboards' window
	row := dora.Row{App: "checkout", Env: "prod", Window: doraWindow, Metrics: dora.Metrics{
		Deployments: 4, PerDay: 4.0 / 7, Commits: 3, LeadTimeMedian: time.Hour, LeadTimeP90: 2 * time.Hour,
		Failed: 1, ChangeFailureRate: 0.25, Restored: 1, TimeToRestoreMedian: time.Minute,
	}}

	// WHEN dora publishes it
	var rec telemetrytest.Recorder
	if err := dora.Publish(&rec, row); err != nil {
		t.Fatalf("dora.Publish() = %v", err)
	}

	// THEN every metric the dashboards graph carries exactly the dimensions
	// their SEARCH schema and their graphs name
	want := []string{dimApp, dimEnv, dimWindow}
	slices.Sort(want)
	for _, name := range []string{telemetry.MetricDeploymentsPerDay, telemetry.MetricLeadTimeP50, telemetry.MetricChangeFailureRate,
		telemetry.MetricTimeToRestoreP50, telemetry.MetricDeploymentsInWindow, telemetry.MetricFailedChangesInWindow} {
		values := rec.Values(name)
		if len(values) != 1 {
			t.Errorf("%s written %d times, want once", name, len(values))
			continue
		}
		if got := slices.Sorted(maps.Keys(values[0].Dims)); !slices.Equal(got, want) {
			t.Errorf("%s dimensions = %v, want %v", name, got, want)
		}
	}

	// AND the window the dashboards graph is one dora computes
	computed := false
	for _, w := range dora.Windows {
		computed = computed || w.Name == doraWindow
	}
	if !computed {
		t.Errorf("dora.Windows = %v, want one named %s", dora.Windows, doraWindow)
	}
}

func TestDORASummaryKeepsTheAppsLastEnvironments(t *testing.T) {
	long := strings.Repeat("p", 60)
	var many []policy.App
	for i := range 20 {
		many = append(many, appWithEnvs("a", "dev", long+string(rune('a'+i))))
	}
	tests := []struct {
		name       string
		give       []policy.App
		wantFilter string
		wantScope  string
	}{
		{"one name", []policy.App{appWithEnvs("a", "dev", "prod"), appWithEnvs("b", "prod")}, ` (Env="prod")`, "prod"},
		{"names in policy order, once each",
			[]policy.App{appWithEnvs("a", "dev", "live"), appWithEnvs("b", "prod"), appWithEnvs("c", "staging", "live")},
			` (Env="live" OR Env="prod")`, "live, prod"},
		{"an app without environments", []policy.App{appWithEnvs("a"), appWithEnvs("b", "prod")}, ` (Env="prod")`, "prod"},
		{"no environments", []policy.App{appWithEnvs("a")}, "", "every environment"},
		{"too many names for one query", many, "", "every environment"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// GIVEN a policy's apps
			p := &policy.Policy{Apps: tt.give}

			// WHEN the DORA summary selects their last environments
			filter, scope := lastEnvironments(p)

			// THEN its SEARCH keeps each distinct name, or every environment
			// when they would not fit in a query
			if filter != tt.wantFilter || scope != tt.wantScope {
				t.Errorf("lastEnvironments() = %q, %q, want %q, %q", filter, scope, tt.wantFilter, tt.wantScope)
			}
		})
	}
}

// appWithEnvs is an app with environments of the given names, in order.
func appWithEnvs(name string, envs ...string) policy.App {
	a := policy.App{Name: name}
	for _, e := range envs {
		a.Environments = append(a.Environments, policy.Environment{Name: e})
	}
	return a
}
