package stacks

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/highwayhq/highway/shared/policy"
	"github.com/highwayhq/highway/shared/route"
)

// Hub is what every capability builds on: the hub stack's shared resources, and the
// factories (Function, Route) that give each function and rule Highway's defaults.
type Hub struct {
	// Stack is the hub's CloudFormation stack.
	Stack awscdk.Stack
	// Policy is the validated policy the app is synthesized from.
	Policy *policy.Policy
	// Table is the ledger.
	Table awsdynamodb.Table
	// Bus is the custom event bus spokes forward to and functions publish on.
	Bus awsevents.EventBus
	// Topic notifies people; every alarm of the hub (dead-letter queues, function
	// errors and throttles, failed workflows) publishes to it.
	Topic awssns.Topic
	// Dashboard is the overview dashboard, named after the hub: capabilities
	// add their rows, and the hub ends it with Highway's own health. What it
	// shows per app it finds by SEARCH, so it does not grow with the apps; the
	// per-app rows are on the app dashboards (AppDashboardName).
	Dashboard awscloudwatch.Dashboard

	buildDir    string
	policyJSON  []byte
	retention   awslogs.RetentionDays
	alarmAction awscloudwatch.IAlarmAction
	routed      map[string]bool
	functions   []namedFunction
	deadLetters []deadLetter
}

// Capability adds one of Highway's capabilities to the hub, as one construct.
type Capability func(hub *Hub) error

// HubProps configures the hub stack.
type HubProps struct {
	// Policy is the validated policy.
	Policy *policy.Policy
	// BuildDir holds <function>/bootstrap for every function, as make build leaves
	// them; the function assets are staged under BuildDir/.stage.
	BuildDir string
	// Capabilities are added to the hub in order; each route of route.Routes must
	// be taken by one of them.
	Capabilities []Capability
}

// NewHub creates the hub stack in the policy's hub account and region: the ledger,
// the bus, the notification topic, then each capability.
func NewHub(scope constructs.Construct, props HubProps) (*Hub, error) {
	p := props.Policy
	retention, ok := retentionDays[p.Hub.LogRetentionDays]
	if !ok {
		return nil, fmt.Errorf("hub.logRetentionDays: %d is not a CloudWatch Logs retention period", p.Hub.LogRetentionDays)
	}
	policyJSON, err := p.Encode()
	if err != nil {
		return nil, err
	}
	stack := awscdk.NewStack(scope, jsii.String(HubStackName(p.Hub)), &awscdk.StackProps{
		StackName:   jsii.String(HubStackName(p.Hub)),
		Description: jsii.String("Highway hub: ledger, event bus, notifications and the functions of every capability."),
		Env: &awscdk.Environment{
			Account: jsii.String(p.Hub.Account),
			Region:  jsii.String(p.Hub.Region),
		},
	})
	topic, emails := newNotifications(stack, p.Hub)
	hub := &Hub{
		Stack:      stack,
		Policy:     p,
		Table:      newLedger(stack, p.Hub),
		Bus:        newEventBus(stack, p),
		Topic:      topic,
		buildDir:   props.BuildDir,
		policyJSON: policyJSON,
		retention:  retention,
		routed:     map[string]bool{},
	}
	hub.alarmAction = awscloudwatchactions.NewSnsAction(hub.Topic)
	if emails != nil {
		hub.deadLetters = append(hub.deadLetters, deadLetter{"notification e-mails", emails})
	}
	hub.Dashboard = awscloudwatch.NewDashboard(stack, jsii.String("Dashboard"), &awscloudwatch.DashboardProps{
		DashboardName: jsii.String(p.Hub.Name),
	})
	for _, add := range props.Capabilities {
		if err := add(hub); err != nil {
			return nil, err
		}
	}
	for _, r := range route.Routes(hub.Policy) {
		if !hub.routed[r.Function] {
			return nil, fmt.Errorf("route of function %s: no capability creates its rules", r.Function)
		}
	}
	hub.addHealth()
	return hub, nil
}

// retentionDays maps the policy's log retention to the values CloudWatch Logs
// accepts.
var retentionDays = map[int]awslogs.RetentionDays{
	1:    awslogs.RetentionDays_ONE_DAY,
	3:    awslogs.RetentionDays_THREE_DAYS,
	5:    awslogs.RetentionDays_FIVE_DAYS,
	7:    awslogs.RetentionDays_ONE_WEEK,
	14:   awslogs.RetentionDays_TWO_WEEKS,
	30:   awslogs.RetentionDays_ONE_MONTH,
	60:   awslogs.RetentionDays_TWO_MONTHS,
	90:   awslogs.RetentionDays_THREE_MONTHS,
	120:  awslogs.RetentionDays_FOUR_MONTHS,
	150:  awslogs.RetentionDays_FIVE_MONTHS,
	180:  awslogs.RetentionDays_SIX_MONTHS,
	365:  awslogs.RetentionDays_ONE_YEAR,
	400:  awslogs.RetentionDays_THIRTEEN_MONTHS,
	545:  awslogs.RetentionDays_EIGHTEEN_MONTHS,
	731:  awslogs.RetentionDays_TWO_YEARS,
	1096: awslogs.RetentionDays_THREE_YEARS,
	1827: awslogs.RetentionDays_FIVE_YEARS,
	2192: awslogs.RetentionDays_SIX_YEARS,
	2557: awslogs.RetentionDays_SEVEN_YEARS,
	2922: awslogs.RetentionDays_EIGHT_YEARS,
	3288: awslogs.RetentionDays_NINE_YEARS,
	3653: awslogs.RetentionDays_TEN_YEARS,
}
