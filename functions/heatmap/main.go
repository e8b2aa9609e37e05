// Command heatmap is the CloudWatch dashboard's custom widget: it returns
// the DORA page of an app's environments (the metrics with their bands and
// changes, the weekly trends and the deployment heatmaps over twelve weeks,
// the latest deployments and incidents) as HTML with inline SVG, read from
// the ledger, as of the end of the dashboard's time range.
package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/highwayhq/highway/shared/dora"
	"github.com/highwayhq/highway/shared/function"
	"github.com/highwayhq/highway/shared/ledger"
)

// widgetEvent is what CloudWatch sends a custom widget.
type widgetEvent struct {
	// Describe asks for the widget's documentation.
	Describe      bool `json:"describe"`
	WidgetContext struct {
		TimeRange struct {
			End int64 `json:"end"` // epoch milliseconds
		} `json:"timeRange"`
		Params struct {
			App string `json:"app"`
			Env string `json:"env"`
		} `json:"params"`
	} `json:"widgetContext"`
}

// documentation is what the widget says of itself in the console.
const documentation = "## Highway deployments\n" +
	"DORA metrics over 1, 7 and 30 days with their bands and their change against the span before; " +
	"weekly trends and deployments by day and by weekday × hour (UTC) over 12 weeks; the latest deployments and incidents. " +
	"From Highway's ledger, as of the end of the dashboard's time range.\n\n" +
	"Parameters: `app` (required: the widget shows one app), `env` (optional: only that environment).\n"

// missingApp is the widget's answer when its app parameter names no app of
// the policy.
const missingApp = "<p>This widget shows one app: give it the parameter <code>app</code>, the name of an app of Highway's policy, for example <code>{\"app\": \"checkout\"}</code>.</p>"

func main() {
	rt, err := function.Load(context.Background())
	if err != nil {
		slog.Error("heatmap: start", "error", err)
		os.Exit(1)
	}
	l := ledger.NewDynamo(dynamodb.NewFromConfig(rt.AWS), rt.Table)
	function.Start(rt, func(ctx context.Context, ev widgetEvent) (string, error) {
		if ev.Describe {
			return documentation, nil
		}
		now := time.Now()
		if end := ev.WidgetContext.TimeRange.End; end > 0 {
			now = time.UnixMilli(end)
		}
		app, env := ev.WidgetContext.Params.App, ev.WidgetContext.Params.Env
		if _, ok := rt.Policy.App(app); !ok {
			// One app's page reads about a thousand items; every app's would
			// read the whole ledger's deployments, past the widget's timeout
			// on a platform of a hundred apps.
			return missingApp, nil
		}
		keep := dora.Only(app, env)
		rows, err := dora.All(ctx, l, rt.Policy, now, keep)
		if err != nil {
			return "", err
		}
		pg, err := dora.PageOf(ctx, l, rt.Policy, now, keep)
		if err != nil {
			return "", err
		}
		var page bytes.Buffer
		if err := dora.WritePage(&page, rows, pg); err != nil {
			return "", err
		}
		return page.String(), nil
	})
}
