package remediate

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"text/template"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/highwayhq/highway/shared/policy"
)

// SSMAutomation starts the automation document with its parameters, each
// value rendered as a text/template over al ({{.Dimensions.InstanceId}},
// {{.AlarmName}}, {{.Account}}, {{.Region}}); a missing key is an error. A
// value that does not render refuses the action before anything is started.
// The Handle is the automation execution id.
func SSMAutomation(ctx context.Context, c SSMClient, a policy.SSMAutomationAction, al Alarm) (Outcome, error) {
	if a.Document == "" {
		return Outcome{}, fmt.Errorf("%w: ssm-automation: no document", ErrRefused)
	}
	params, err := render(a.Parameters, al)
	if err != nil {
		return Outcome{}, fmt.Errorf("%w: ssm-automation %s: %w", ErrRefused, a.Document, err)
	}
	out, err := c.StartAutomationExecution(ctx, &ssm.StartAutomationExecutionInput{
		DocumentName: aws.String(a.Document),
		Parameters:   params,
	})
	if err != nil {
		return Outcome{}, fmt.Errorf("start automation %s: %w", a.Document, classify(err))
	}
	id := aws.ToString(out.AutomationExecutionId)
	return Outcome{
		Detail: fmt.Sprintf("ssm automation %s: execution %s started", a.Document, id),
		Handle: id,
	}, nil
}

// render executes every parameter value as a template over al, in the order
// of the parameters' names so that the first error is always the same.
func render(params map[string][]string, al Alarm) (map[string][]string, error) {
	if params == nil {
		return nil, nil
	}
	out := make(map[string][]string, len(params))
	for _, name := range slices.Sorted(maps.Keys(params)) {
		values := make([]string, 0, len(params[name]))
		for i, v := range params[name] {
			t, err := template.New(name).Option("missingkey=error").Parse(v)
			if err != nil {
				return nil, fmt.Errorf("parameter %s[%d]: %w", name, i, err)
			}
			var b strings.Builder
			if err := t.Execute(&b, al); err != nil {
				return nil, fmt.Errorf("parameter %s[%d]: %w", name, i, err)
			}
			values = append(values, b.String())
		}
		out[name] = values
	}
	return out, nil
}
