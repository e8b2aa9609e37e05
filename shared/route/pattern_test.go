package route

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// parsePattern reads a pattern written as JSON, the way the EventBridge
// documentation writes them.
func parsePattern(t *testing.T, s string) Pattern {
	t.Helper()
	var p Pattern
	if err := json.Unmarshal([]byte(s), &p); err != nil {
		t.Fatalf("pattern %s: %v", s, err)
	}
	return p
}

// Events from the EventBridge user guide, used by several cases below.
const (
	// "Amazon EventBridge event patterns": the EC2 instance state-change event.
	ec2Terminated = `{
		"version": "0",
		"id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
		"detail-type": "EC2 Instance State-change Notification",
		"source": "aws.ec2",
		"account": "111122223333",
		"time": "2017-12-22T18:43:48Z",
		"region": "us-west-1",
		"resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],
		"detail": {"instance-id": "i-1234567890abcdef0", "state": "terminated"}
	}`
	// "Example events and event patterns" / "Matching null values and empty
	// strings": the Auto Scaling launch event.
	autoScalingLaunch = `{
		"version": "0",
		"id": "3e3c153a-8339-4e30-8c35-687ebef853fe",
		"detail-type": "EC2 Instance Launch Successful",
		"source": "aws.autoscaling",
		"account": "123456789012",
		"time": "2015-11-11T21:31:47Z",
		"region": "us-east-1",
		"resources": [],
		"detail": {"eventVersion": "", "responseElements": null}
	}`
	// "Value matching": the Macie alert, truncated as in the guide.
	macieAlert = `{
		"version": "0",
		"detail-type": "Macie Alert",
		"source": "aws.macie",
		"account": "123456789012",
		"region": "us-east-1",
		"resources": [
			"arn:aws:macie:us-east-1:123456789012:trigger/trigger_id/alert/alert_id",
			"arn:aws:macie:us-east-1:123456789012:trigger/trigger_id"
		],
		"detail": {
			"notification-type": "ALERT_CREATED",
			"tags": ["Custom_Alert", "Insider"],
			"risk-score": 80,
			"trigger": {"alert-type": "basic", "risk": 8}
		}
	}`
	// "Content filtering" / event-ruler "Ruler by Example": the running EC2
	// instance whose detail carries the numeric and IP fields.
	ec2Running = `{
		"version": "0",
		"id": "ddddd4-aaaa-7777-4444-345dd43cc333",
		"detail-type": "EC2 Instance State-change Notification",
		"source": "aws.ec2",
		"account": "012345679012",
		"time": "2017-10-02T16:24:49Z",
		"region": "us-east-1",
		"resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000"],
		"detail": {
			"c-count": 5,
			"d-count": 3,
			"x-limit": 301.8,
			"source-ip": "10.0.0.33",
			"instance-id": "i-000000aaaaaa00000",
			"state": "running"
		}
	}`
)

func TestMatch(t *testing.T) {
	tests := []struct {
		name    string
		pattern string
		event   string
		want    bool
	}{
		// Amazon EventBridge event patterns.
		{
			name:    "event patterns: EC2 instance-termination pattern matches the terminated event",
			pattern: `{"source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"], "detail": {"state": ["terminated"]}}`,
			event:   ec2Terminated,
			want:    true,
		},
		{
			name:    "event patterns: EC2 instance-termination pattern rejects a running instance",
			pattern: `{"source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"], "detail": {"state": ["terminated"]}}`,
			event:   ec2Running,
			want:    false,
		},
		{
			name:    "event patterns: every field must match (AND)",
			pattern: `{"source": ["aws.ec2"], "detail-type": ["EC2 Spot Instance Interruption Warning"]}`,
			event:   ec2Terminated,
			want:    false,
		},
		{
			name:    "event patterns: a field the pattern names must be in the event",
			pattern: `{"detail": {"reason": ["terminated"]}}`,
			event:   ec2Terminated,
			want:    false,
		},
		{
			name:    "event patterns: a nested pattern does not match a scalar",
			pattern: `{"source": {"name": ["aws.ec2"]}}`,
			event:   ec2Terminated,
			want:    false,
		},
		{
			name:    "event patterns: a value list does not match an object",
			pattern: `{"detail": ["terminated"]}`,
			event:   ec2Terminated,
			want:    false,
		},
		{
			name:    "event patterns: strings match without case folding",
			pattern: `{"detail": {"state": ["Terminated"]}}`,
			event:   ec2Terminated,
			want:    false,
		},
		{
			name:    "match values: aws.ec2 or aws.fargate matches aws.ec2",
			pattern: `{"source": ["aws.ec2", "aws.fargate"]}`,
			event:   ec2Terminated,
			want:    true,
		},
		{
			name:    "match values: aws.ec2 or aws.fargate rejects aws.autoscaling",
			pattern: `{"source": ["aws.ec2", "aws.fargate"]}`,
			event:   autoScalingLaunch,
			want:    false,
		},
		{
			name:    "field matching: responseElements is null",
			pattern: `{"source": ["aws.autoscaling"], "detail-type": ["EC2 Instance Launch Successful"], "detail": {"responseElements": [null]}}`,
			event:   autoScalingLaunch,
			want:    true,
		},
		{
			name:    "value matching: risk score 80 and trigger risk 8",
			pattern: `{"source": ["aws.macie"], "detail-type": ["Macie Alert"], "detail": {"risk-score": [80], "trigger": {"risk": [8]}}}`,
			event:   macieAlert,
			want:    true,
		},
		{
			name:    "value matching: a different trigger risk does not match",
			pattern: `{"source": ["aws.macie"], "detail": {"risk-score": [80], "trigger": {"risk": [9]}}}`,
			event:   macieAlert,
			want:    false,
		},
		{
			name:    "value matching: the number 80 does not match the string \"80\"",
			pattern: `{"detail": {"risk-score": ["80"]}}`,
			event:   macieAlert,
			want:    false,
		},
		{
			name:    "value matching: a number matches the same value written otherwise (event-ruler adds numeric equality)",
			pattern: `{"detail": {"x-limit": [300]}}`,
			event:   `{"detail": {"x-limit": 3.0e2}}`,
			want:    true,
		},
		{
			name:    "value matching: a different number does not match",
			pattern: `{"detail": {"x-limit": [300]}}`,
			event:   ec2Running,
			want:    false,
		},
		{
			name:    "value matching: booleans match booleans, not their text",
			pattern: `{"detail": {"on": ["true"]}}`,
			event:   `{"detail": {"on": true}}`,
			want:    false,
		},
		{
			name:    "value matching: true matches true",
			pattern: `{"detail": {"on": [true]}}`,
			event:   `{"detail": {"on": true}}`,
			want:    true,
		},

		// Matching null values and empty strings.
		{
			name:    "null and empty: empty string matches eventVersion",
			pattern: `{"detail": {"eventVersion": [""]}}`,
			event:   autoScalingLaunch,
			want:    true,
		},
		{
			name:    "null and empty: empty string does not match null",
			pattern: `{"detail": {"responseElements": [""]}}`,
			event:   autoScalingLaunch,
			want:    false,
		},
		{
			name:    "null and empty: null does not match the empty string",
			pattern: `{"detail": {"eventVersion": [null]}}`,
			event:   autoScalingLaunch,
			want:    false,
		},
		{
			name:    "null and empty: null does not match a missing field",
			pattern: `{"detail": {"userId": [null]}}`,
			event:   autoScalingLaunch,
			want:    false,
		},

		// Arrays in Amazon EventBridge event patterns.
		{
			name: "arrays: the pattern matches when the event array intersects it",
			pattern: `{"resources": [
				"arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f",
				"arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f",
				"arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f"]}`,
			event: `{"resources": [
				"arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:eb56d16b-bbf0-401d-b893-d5978ed4a025:autoScalingGroupName/ASGTerminate",
				"arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f"]}`,
			want: true,
		},
		{
			name:    "arrays: no common element, no match",
			pattern: `{"resources": ["arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f"]}`,
			event:   `{"resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f"]}`,
			want:    false,
		},
		{
			name:    "arrays: an empty event array matches nothing",
			pattern: `{"resources": [""]}`,
			event:   autoScalingLaunch,
			want:    false,
		},
		{
			name:    "arrays: Macie tags contain Insider",
			pattern: `{"detail": {"tags": ["Insider"]}}`,
			event:   macieAlert,
			want:    true,
		},
		{
			name:    "arrays: objects in an array are matched one by one",
			pattern: `{"employees": {"firstName": ["Anna"], "lastName": ["Smith"]}}`,
			event:   `{"employees": [{"firstName": "John", "lastName": "Doe"}, {"firstName": "Anna", "lastName": "Smith"}]}`,
			want:    true,
		},
		{
			name:    "arrays: two fields from different elements do not match together (event-ruler JSON array matching)",
			pattern: `{"employees": {"firstName": ["Anna"], "lastName": ["Jones"]}}`,
			event:   `{"employees": [{"firstName": "Anna", "lastName": "Smith"}, {"firstName": "Peter", "lastName": "Jones"}]}`,
			want:    false,
		},
		{
			name:    "arrays: nested arrays are flattened",
			pattern: `{"employees": {"firstName": ["Peter"]}}`,
			event:   `{"employees": [[{"firstName": "John"}], [{"firstName": "Peter"}]]}`,
			want:    true,
		},

		// Content filtering: prefix matching.
		{
			name:    "prefix matching: time starts with 2017-10-02",
			pattern: `{"time": [{"prefix": "2017-10-02"}]}`,
			event:   ec2Running,
			want:    true,
		},
		{
			name:    "prefix matching: another day does not match",
			pattern: `{"time": [{"prefix": "2017-10-03"}]}`,
			event:   ec2Running,
			want:    false,
		},
		{
			name:    "prefix matching: only string-valued fields",
			pattern: `{"detail": {"c-count": [{"prefix": "5"}]}}`,
			event:   ec2Running,
			want:    false,
		},
		{
			name:    "prefix matching example: Auto Scaling events from European regions",
			pattern: `{"source": ["aws.autoscaling"], "region": [{"prefix": "eu-"}]}`,
			event:   `{"source": "aws.autoscaling", "region": "eu-west-1"}`,
			want:    true,
		},
		{
			name:    "prefix matching example: us-east-1 is not European",
			pattern: `{"source": ["aws.autoscaling"], "region": [{"prefix": "eu-"}]}`,
			event:   autoScalingLaunch,
			want:    false,
		},
		{
			name:    "prefix matching while ignoring case: EventB",
			pattern: `{"detail": {"service": [{"prefix": {"equals-ignore-case": "EventB"}}]}}`,
			event:   `{"detail": {"service": "eventbridge"}}`,
			want:    true,
		},
		{
			name:    "prefix matching while ignoring case: a different start",
			pattern: `{"detail": {"service": [{"prefix": {"equals-ignore-case": "EventB"}}]}}`,
			event:   `{"detail": {"service": "events"}}`,
			want:    false,
		},

		// Content filtering: suffix matching.
		{
			name:    "suffix matching: FileName ends with .png",
			pattern: `{"FileName": [{"suffix": ".png"}]}`,
			event:   `{"FileName": "diagram.png"}`,
			want:    true,
		},
		{
			name:    "suffix matching: case matters",
			pattern: `{"FileName": [{"suffix": ".png"}]}`,
			event:   `{"FileName": "diagram.PNG"}`,
			want:    false,
		},
		{
			name:    "suffix matching while ignoring case: .PNG",
			pattern: `{"detail": {"FileName": [{"suffix": {"equals-ignore-case": ".png"}}]}}`,
			event:   `{"detail": {"FileName": "diagram.PNG"}}`,
			want:    true,
		},

		// Content filtering: equals-ignore-case and wildcard.
		{
			name:    "equals ignore case: alice matches Alice",
			pattern: `{"Name": [{"equals-ignore-case": "alice"}]}`,
			event:   `{"Name": "Alice"}`,
			want:    true,
		},
		{
			name:    "equals ignore case: alice does not match Alicia",
			pattern: `{"Name": [{"equals-ignore-case": "alice"}]}`,
			event:   `{"Name": "Alicia"}`,
			want:    false,
		},
		{
			name:    "wildcard matching: a .png file within the folder dir",
			pattern: `{"FileName": [{"wildcard": "dir/*.png"}]}`,
			event:   `{"FileName": "dir/logo.png"}`,
			want:    true,
		},
		{
			name:    "wildcard matching: outside the folder does not match",
			pattern: `{"FileName": [{"wildcard": "dir/*.png"}]}`,
			event:   `{"FileName": "other/logo.png"}`,
			want:    false,
		},
		{
			name:    "wildcard matching: a wildcard may match nothing",
			pattern: `{"source": [{"wildcard": "Simple*Service"}]}`,
			event:   `{"source": "SimpleService"}`,
			want:    true,
		},
		{
			name:    "wildcard matching: several wildcards",
			pattern: `{"source": [{"wildcard": "*Queue*Service*"}]}`,
			event:   `{"source": "Simple Queue Notification Service v2"}`,
			want:    true,
		},
		{
			name:    "wildcard matching: parts must appear in order",
			pattern: `{"source": [{"wildcard": "*Service*Queue"}]}`,
			event:   `{"source": "SimpleQueueService"}`,
			want:    false,
		},
		{
			name:    "wildcard matching: an escaped asterisk is literal",
			pattern: `{"glob": [{"wildcard": "a\\*b"}]}`,
			event:   `{"glob": "a*b"}`,
			want:    true,
		},
		{
			name:    "wildcard matching: an escaped asterisk matches only itself",
			pattern: `{"glob": [{"wildcard": "a\\*b"}]}`,
			event:   `{"glob": "axxb"}`,
			want:    false,
		},

		// Content filtering: anything-but matching.
		{
			name:    "anything-but matching: running is not initializing",
			pattern: `{"detail": {"state": [{"anything-but": "initializing"}]}}`,
			event:   ec2Running,
			want:    true,
		},
		{
			name:    "anything-but matching: initializing is excluded",
			pattern: `{"detail": {"state": [{"anything-but": "initializing"}]}}`,
			event:   `{"detail": {"state": "initializing"}}`,
			want:    false,
		},
		{
			name:    "anything-but matching: a missing field does not match",
			pattern: `{"detail": {"status": [{"anything-but": "initializing"}]}}`,
			event:   ec2Running,
			want:    false,
		},
		{
			name:    "anything-but matching: x-limit 123 is excluded",
			pattern: `{"detail": {"x-limit": [{"anything-but": 123}]}}`,
			event:   `{"detail": {"x-limit": 123}}`,
			want:    false,
		},
		{
			name:    "anything-but matching: x-limit 301.8 is not 123",
			pattern: `{"detail": {"x-limit": [{"anything-but": 123}]}}`,
			event:   ec2Running,
			want:    true,
		},
		{
			name:    "anything-but matching: list of strings excludes stopped",
			pattern: `{"detail": {"state": [{"anything-but": ["stopped", "overloaded"]}]}}`,
			event:   `{"detail": {"state": "stopped"}}`,
			want:    false,
		},
		{
			name:    "anything-but matching: list of strings lets pending through",
			pattern: `{"detail": {"state": [{"anything-but": ["stopped", "overloaded"]}]}}`,
			event:   `{"detail": {"state": "pending"}}`,
			want:    true,
		},
		{
			name:    "anything-but matching: list of numbers excludes 200",
			pattern: `{"detail": {"x-limit": [{"anything-but": [100, 200, 300]}]}}`,
			event:   `{"detail": {"x-limit": 200}}`,
			want:    false,
		},
		{
			name:    "anything-but matching: list of numbers lets 301.8 through",
			pattern: `{"detail": {"x-limit": [{"anything-but": [100, 200, 300]}]}}`,
			event:   ec2Running,
			want:    true,
		},
		{
			name:    "anything-but matching: prefix init excludes initializing",
			pattern: `{"detail": {"state": [{"anything-but": {"prefix": "init"}}]}}`,
			event:   `{"detail": {"state": "initializing"}}`,
			want:    false,
		},
		{
			name:    "anything-but matching: prefix init lets running through",
			pattern: `{"detail": {"state": [{"anything-but": {"prefix": "init"}}]}}`,
			event:   ec2Running,
			want:    true,
		},
		{
			name:    "anything-but matching example: everything but CloudTrail API calls",
			pattern: `{"detail-type": [{"anything-but": "AWS API Call via CloudTrail"}]}`,
			event:   ec2Running,
			want:    true,
		},
		{
			name:    "anything-but matching example: not from EC2 or S3",
			pattern: `{"source": [{"anything-but": ["aws.ec2", "aws.s3"]}]}`,
			event:   ec2Running,
			want:    false,
		},
		{
			name:    "anything-but matching example: custom events only (source not aws.)",
			pattern: `{"source": [{"anything-but": {"prefix": "aws."}}]}`,
			event:   `{"source": "com.highwayhq.gate"}`,
			want:    true,
		},
		{
			name:    "anything-but matching example: AWS events are excluded",
			pattern: `{"source": [{"anything-but": {"prefix": "aws."}}]}`,
			event:   ec2Running,
			want:    false,
		},
		{
			name:    "anything-but (ends with): not a .png",
			pattern: `{"FileName": [{"anything-but": {"suffix": ".png"}}]}`,
			event:   `{"FileName": "diagram.png"}`,
			want:    false,
		},
		{
			name:    "anything-but (ignore case): INITIALIZING is excluded",
			pattern: `{"state": [{"anything-but": {"equals-ignore-case": "initializing"}}]}`,
			event:   `{"state": "INITIALIZING"}`,
			want:    false,
		},
		{
			name:    "anything-but (ignore case): list of values",
			pattern: `{"state": [{"anything-but": {"equals-ignore-case": ["stopped", "overloaded"]}}]}`,
			event:   `{"state": "Pending"}`,
			want:    true,
		},
		{
			name:    "anything-but using a wildcard: a path through /lib/ is excluded",
			pattern: `{"FilePath": [{"anything-but": {"wildcard": "*/lib/*"}}]}`,
			event:   `{"FilePath": "usr/lib/libc.so"}`,
			want:    false,
		},
		{
			name:    "anything-but using a wildcard: a path through /bin/ matches",
			pattern: `{"FilePath": [{"anything-but": {"wildcard": "*/lib/*"}}]}`,
			event:   `{"FilePath": "usr/bin/sh"}`,
			want:    true,
		},
		{
			name:    "anything-but on an event array: one element not excluded is enough",
			pattern: `{"detail": {"state": [{"anything-but": "initializing"}]}}`,
			event:   `{"detail": {"state": ["initializing", "running"]}}`,
			want:    true,
		},
		{
			name:    "anything-but on an event array: every element excluded",
			pattern: `{"detail": {"state": [{"anything-but": ["initializing", "running"]}]}}`,
			event:   `{"detail": {"state": ["initializing", "running"]}}`,
			want:    false,
		},

		// Content filtering: numeric matching.
		{
			name: "numeric matching: c-count, d-count and x-limit all in range",
			pattern: `{"detail": {
				"c-count": [{"numeric": [">", 0, "<=", 5]}],
				"d-count": [{"numeric": ["<", 10]}],
				"x-limit": [{"numeric": ["=", 3.018e2]}]}}`,
			event: ec2Running,
			want:  true,
		},
		{
			name:    "numeric matching: > 0 excludes 0",
			pattern: `{"detail": {"c-count": [{"numeric": [">", 0, "<=", 5]}]}}`,
			event:   `{"detail": {"c-count": 0}}`,
			want:    false,
		},
		{
			name:    "numeric matching: <= 5 includes 5",
			pattern: `{"detail": {"c-count": [{"numeric": [">", 0, "<=", 5]}]}}`,
			event:   `{"detail": {"c-count": 5}}`,
			want:    true,
		},
		{
			name:    "numeric matching: <= 5 excludes 5.000001",
			pattern: `{"detail": {"c-count": [{"numeric": [">", 0, "<=", 5]}]}}`,
			event:   `{"detail": {"c-count": 5.000001}}`,
			want:    false,
		},
		{
			name:    "numeric matching: < 10 excludes 10",
			pattern: `{"detail": {"d-count": [{"numeric": ["<", 10]}]}}`,
			event:   `{"detail": {"d-count": 10}}`,
			want:    false,
		},
		{
			name:    "numeric matching: >= includes its bound",
			pattern: `{"detail": {"d-count": [{"numeric": [">=", 3]}]}}`,
			event:   ec2Running,
			want:    true,
		},
		{
			name:    "numeric matching: = 3 rejects 3.5",
			pattern: `{"count": [{"numeric": ["=", 3]}]}`,
			event:   `{"count": 3.5}`,
			want:    false,
		},
		{
			name:    "numeric matching: only JSON numbers, not numeric strings",
			pattern: `{"count": [{"numeric": ["=", 3]}]}`,
			event:   `{"count": "3"}`,
			want:    false,
		},
		{
			name:    "numeric matching: any element of an event array",
			pattern: `{"durations": [{"numeric": [">", 100]}]}`,
			event:   `{"durations": [12, 40, 250]}`,
			want:    true,
		},

		// Content filtering: IP address matching.
		{
			name:    "IP address matching: 10.0.0.33 is in 10.0.0.0/24",
			pattern: `{"detail": {"source-ip": [{"cidr": "10.0.0.0/24"}]}}`,
			event:   ec2Running,
			want:    true,
		},
		{
			name:    "IP address matching: 10.0.0.33 is not in 10.0.1.0/24",
			pattern: `{"detail": {"source-ip": [{"cidr": "10.0.1.0/24"}]}}`,
			event:   ec2Running,
			want:    false,
		},
		{
			name:    "IP address matching: IPv6",
			pattern: `{"ip": [{"cidr": "2001:db8::/32"}]}`,
			event:   `{"ip": "2001:db8:1::5"}`,
			want:    true,
		},

		// Content filtering: exists matching.
		{
			name:    "exists matching: no detail.c-count field",
			pattern: `{"detail": {"c-count": [{"exists": false}]}}`,
			event: `{"detail-type": "EC2 Instance State-change Notification",
				"resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-02ebd4584a2ebd341"],
				"detail": {"state": ["initializing", "running"]}}`,
			want: true,
		},
		{
			name:    "exists matching: c-count is not a leaf node, so it does not exist",
			pattern: `{"detail": {"c-count": [{"exists": false}]}}`,
			event: `{"detail-type": "EC2 Instance State-change Notification",
				"resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-02ebd4584a2ebd341"],
				"detail": {"state": ["initializing", "running"], "c-count": {"c1": 100}}}`,
			want: true,
		},
		{
			name:    "exists matching: exists false rejects a present c-count",
			pattern: `{"detail": {"c-count": [{"exists": false}]}}`,
			event:   ec2Running,
			want:    false,
		},
		{
			name:    "exists matching: exists false holds when the parent object is missing",
			pattern: `{"detail": {"c-count": [{"exists": false}]}}`,
			event:   `{"source": "aws.ec2"}`,
			want:    true,
		},
		{
			name:    "exists matching: exists false holds for an empty array",
			pattern: `{"resources": [{"exists": false}]}`,
			event:   autoScalingLaunch,
			want:    true,
		},
		{
			name:    "existence matching example: events with a description",
			pattern: `{"detail": {"description": [{"exists": true}]}}`,
			event:   `{"detail": {"description": "disk full"}}`,
			want:    true,
		},
		{
			name:    "existence matching example: events without a description",
			pattern: `{"detail": {"description": [{"exists": true}]}}`,
			event:   ec2Running,
			want:    false,
		},
		{
			name:    "exists matching: null is a present value",
			pattern: `{"detail": {"responseElements": [{"exists": true}]}}`,
			event:   autoScalingLaunch,
			want:    true,
		},
		{
			name:    "exists matching: exists true does not match an intermediate node",
			pattern: `{"detail": {"trigger": [{"exists": true}]}}`,
			event:   macieAlert,
			want:    false,
		},
		{
			name:    "exists matching: absent or a listed value (OR)",
			pattern: `{"detail": {"mergeOption": [{"exists": false}, "FAST_FORWARD_MERGE"]}}`,
			event:   `{"detail": {"mergeOption": "FAST_FORWARD_MERGE"}}`,
			want:    true,
		},

		// Content filtering: complex example with multiple matching.
		{
			name: "complex example with multiple matching: all conditions hold",
			pattern: `{
				"time": [{"prefix": "2017-10-02"}],
				"detail": {
					"state": [{"anything-but": "initializing"}],
					"c-count": [{"numeric": [">", 0, "<=", 5]}],
					"d-count": [{"numeric": ["<", 10]}],
					"x-limit": [{"anything-but": [100, 200, 300]}],
					"source-ip": [{"cidr": "10.0.0.0/8"}]}}`,
			event: ec2Running,
			want:  true,
		},
		{
			name: "complex example with multiple matching: one condition fails",
			pattern: `{
				"time": [{"prefix": "2017-10-02"}],
				"detail": {
					"state": [{"anything-but": "running"}],
					"c-count": [{"numeric": [">", 0, "<=", 5]}]}}`,
			event: ec2Running,
			want:  false,
		},

		// Comparison operators: Or ($or).
		{
			name:    "or: Location is New York or Day is Monday (first holds)",
			pattern: `{"$or": [{"Location": ["New York"]}, {"Day": ["Monday"]}]}`,
			event:   `{"Location": "New York", "Day": "Friday"}`,
			want:    true,
		},
		{
			name:    "or: Location is New York or Day is Monday (second holds)",
			pattern: `{"$or": [{"Location": ["New York"]}, {"Day": ["Monday"]}]}`,
			event:   `{"Location": "Boston", "Day": "Monday"}`,
			want:    true,
		},
		{
			name:    "or: neither holds",
			pattern: `{"$or": [{"Location": ["New York"]}, {"Day": ["Monday"]}]}`,
			event:   `{"Location": "Boston", "Day": "Friday"}`,
			want:    false,
		},
		{
			name:    "or: combined with AND on another field",
			pattern: `{"source": ["aws.cloudwatch"], "detail": {"$or": [{"metricName": ["CPUUtilization"]}, {"namespace": ["AWS/EC2"]}]}}`,
			event:   `{"source": "aws.ec2", "detail": {"metricName": "CPUUtilization"}}`,
			want:    false,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := parsePattern(t, tt.pattern)
			got, err := Match(p, []byte(tt.event))
			if err != nil {
				t.Fatalf("Match(%s) error: %v", tt.pattern, err)
			}
			if got != tt.want {
				t.Errorf("Match(%s, %s) = %v, want %v", tt.pattern, tt.event, got, tt.want)
			}
		})
	}
}

func TestMatchGoValues(t *testing.T) {
	// Patterns written in Go use []string, int and nested Pattern; they must be
	// judged as the JSON EventBridge receives.
	p := Pattern{
		"source": []string{"aws.codebuild"},
		"detail": Pattern{
			"build-status":  []any{"FAILED", "STOPPED"},
			"attempt":       []any{map[string]any{"numeric": []any{">=", 2}}},
			"project-name":  []any{map[string]string{"prefix": "checkout-"}},
			"current-phase": []any{map[string]bool{"exists": true}},
		},
	}
	tests := []struct {
		name  string
		event string
		want  bool
	}{
		{
			name:  "all fields hold",
			event: `{"source": "aws.codebuild", "detail": {"build-status": "FAILED", "attempt": 2, "project-name": "checkout-service", "current-phase": "COMPLETED"}}`,
			want:  true,
		},
		{
			name:  "first attempt",
			event: `{"source": "aws.codebuild", "detail": {"build-status": "FAILED", "attempt": 1, "project-name": "checkout-service", "current-phase": "COMPLETED"}}`,
			want:  false,
		},
		{
			name:  "succeeded",
			event: `{"source": "aws.codebuild", "detail": {"build-status": "SUCCEEDED", "attempt": 2, "project-name": "checkout-service", "current-phase": "COMPLETED"}}`,
			want:  false,
		},
	}
	m, err := Compile(p)
	if err != nil {
		t.Fatalf("Compile(%v) error: %v", p, err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := m.Match([]byte(tt.event))
			if err != nil {
				t.Fatalf("Match(%s) error: %v", tt.event, err)
			}
			if got != tt.want {
				t.Errorf("Match(%s) = %v, want %v", tt.event, got, tt.want)
			}
		})
	}
}

func TestMatchBadEvent(t *testing.T) {
	m, err := Compile(Pattern{"source": []string{"aws.ec2"}})
	if err != nil {
		t.Fatalf("Compile error: %v", err)
	}
	tests := []struct {
		name  string
		event string
	}{
		{name: "not JSON", event: `source=aws.ec2`},
		{name: "an array", event: `[{"source": "aws.ec2"}]`},
		{name: "a string", event: `"aws.ec2"`},
		{name: "trailing data", event: `{"source": "aws.ec2"} {}`},
		{name: "empty", event: ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := m.Match([]byte(tt.event))
			if err == nil {
				t.Errorf("Match(%q) = %v, nil; want an error", tt.event, got)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name     string
		give     string
		wantPath string
		wantMsg  string
	}{
		{name: "empty pattern", give: `{}`, wantPath: "", wantMsg: "at least one field"},
		{name: "value not in a list", give: `{"source": "aws.codecommit"}`, wantPath: "source", wantMsg: "must be a list of values or an object"},
		{name: "number not in a list", give: `{"detail": {"risk": 8}}`, wantPath: "detail.risk", wantMsg: "must be a list of values or an object"},
		{name: "empty list", give: `{"source": []}`, wantPath: "source", wantMsg: "empty lists"},
		{name: "empty nested object", give: `{"detail": {}}`, wantPath: "detail", wantMsg: "empty objects"},
		{name: "nested list", give: `{"detail": {"state": [["running"]]}}`, wantPath: "detail.state[0]", wantMsg: "nested lists"},
		{name: "unknown operator", give: `{"detail": {"state": [{"prefx": "init"}]}}`, wantPath: "detail.state[0]", wantMsg: `unknown operator "prefx"`},
		{name: "two operators in one object", give: `{"detail": {"state": ["a", {"prefix": "a", "suffix": "b"}]}}`, wantPath: "detail.state[1]", wantMsg: "exactly one key"},
		{name: "prefix of a number", give: `{"time": [{"prefix": 2017}]}`, wantPath: "time[0].prefix", wantMsg: "must be a string"},
		{name: "prefix with an unknown modifier", give: `{"time": [{"prefix": {"ignore-case": "a"}}]}`, wantPath: "time[0].prefix", wantMsg: "equals-ignore-case"},
		{name: "suffix ignoring case of a number", give: `{"f": [{"suffix": {"equals-ignore-case": 1}}]}`, wantPath: "f[0].suffix.equals-ignore-case", wantMsg: "must be a string"},
		{name: "equals-ignore-case of a list", give: `{"Name": [{"equals-ignore-case": ["a"]}]}`, wantPath: "Name[0].equals-ignore-case", wantMsg: "must be a string"},
		{name: "exists of a string", give: `{"detail": {"c-count": [{"exists": "false"}]}}`, wantPath: "detail.c-count[0].exists", wantMsg: "true or false"},
		{name: "numeric not a list", give: `{"detail": {"c-count": [{"numeric": ">0"}]}}`, wantPath: "detail.c-count[0].numeric", wantMsg: "must be a list"},
		{name: "numeric operator without operand", give: `{"detail": {"c-count": [{"numeric": [">"]}]}}`, wantPath: "detail.c-count[0].numeric", wantMsg: "has 1 elements"},
		{name: "numeric operand is a string", give: `{"detail": {"c-count": [{"numeric": [">", "0"]}]}}`, wantPath: "detail.c-count[0].numeric[1]", wantMsg: "must be a number"},
		{name: "numeric operator is a number", give: `{"detail": {"c-count": [{"numeric": [0, 5]}]}}`, wantPath: "detail.c-count[0].numeric[0]", wantMsg: "must be an operator"},
		{name: "numeric unknown operator", give: `{"detail": {"c-count": [{"numeric": ["!=", 5]}]}}`, wantPath: "detail.c-count[0].numeric[0]", wantMsg: `unknown numeric operator "!="`},
		{name: "numeric two lower bounds", give: `{"detail": {"c-count": [{"numeric": [">", 0, ">", 5]}]}}`, wantPath: "detail.c-count[0].numeric[2]", wantMsg: "not allowed here"},
		{name: "numeric upper bound first", give: `{"detail": {"c-count": [{"numeric": ["<", 5, ">", 0]}]}}`, wantPath: "detail.c-count[0].numeric[0]", wantMsg: "not allowed here"},
		{name: "numeric equals in a range", give: `{"detail": {"c-count": [{"numeric": ["=", 3, "<", 5]}]}}`, wantPath: "detail.c-count[0].numeric[0]", wantMsg: "not allowed here"},
		{name: "numeric empty range", give: `{"detail": {"c-count": [{"numeric": [">", 5, "<=", 5]}]}}`, wantPath: "detail.c-count[0].numeric", wantMsg: "must be less than"},
		{name: "numeric out of range", give: `{"detail": {"bytes": [{"numeric": [">", 6e9]}]}}`, wantPath: "detail.bytes[0].numeric[1]", wantMsg: "outside the range"},
		{name: "numeric too many terms", give: `{"n": [{"numeric": [">", 0, "<", 5, "<", 6]}]}`, wantPath: "n[0].numeric", wantMsg: "has 6 elements"},
		{name: "anything-but of a boolean", give: `{"on": [{"anything-but": true}]}`, wantPath: "on[0].anything-but", wantMsg: "must be a string, number, list"},
		{name: "anything-but empty list", give: `{"state": [{"anything-but": []}]}`, wantPath: "state[0].anything-but", wantMsg: "empty lists"},
		{name: "anything-but mixed list", give: `{"state": [{"anything-but": ["stopped", 1]}]}`, wantPath: "state[0].anything-but", wantMsg: "only strings or only numbers"},
		{name: "anything-but null in list", give: `{"state": [{"anything-but": ["stopped", null]}]}`, wantPath: "state[0].anything-but[1]", wantMsg: "string or number"},
		{name: "anything-but numeric", give: `{"n": [{"anything-but": {"numeric": [">", 1]}}]}`, wantPath: "n[0].anything-but", wantMsg: `unsupported operator "numeric"`},
		{name: "anything-but empty prefix", give: `{"state": [{"anything-but": {"prefix": ""}}]}`, wantPath: "state[0].anything-but.prefix", wantMsg: "must not be empty"},
		{name: "anything-but prefix of a number", give: `{"state": [{"anything-but": {"prefix": 1}}]}`, wantPath: "state[0].anything-but.prefix", wantMsg: "string or list of strings"},
		{name: "wildcard consecutive asterisks", give: `{"source": [{"wildcard": "Simple**Service"}]}`, wantPath: "source[0].wildcard", wantMsg: "consecutive wildcard"},
		{name: "wildcard bad escape", give: `{"source": [{"wildcard": "a\\b"}]}`, wantPath: "source[0].wildcard", wantMsg: "backslash"},
		{name: "wildcard trailing backslash", give: `{"source": [{"wildcard": "a\\"}]}`, wantPath: "source[0].wildcard", wantMsg: "backslash"},
		{name: "anything-but wildcard in a list", give: `{"p": [{"anything-but": {"wildcard": ["*/lib/*", "**"]}}]}`, wantPath: "p[0].anything-but.wildcard[1]", wantMsg: "consecutive wildcard"},
		{name: "cidr not a block", give: `{"ip": [{"cidr": "10.0.0.0/33"}]}`, wantPath: "ip[0].cidr", wantMsg: "invalid CIDR"},
		{name: "or with one alternative", give: `{"$or": [{"a": ["1"]}]}`, wantPath: "$or", wantMsg: "at least 2"},
		{name: "or not a list", give: `{"$or": {"a": ["1"]}}`, wantPath: "$or", wantMsg: "list of objects"},
		{name: "or alternative not an object", give: `{"$or": [{"a": ["1"]}, ["b"]]}`, wantPath: "$or[1]", wantMsg: "must be an object"},
		{name: "or alternative with an operator as field", give: `{"detail": {"$or": [{"a": ["1"]}, {"prefix": ["b"]}]}}`, wantPath: "detail.$or[1].prefix", wantMsg: "operator"},
		{name: "error deep inside or", give: `{"$or": [{"a": ["1"]}, {"b": {"c": "d"}}]}`, wantPath: "$or[1].b.c", wantMsg: "must be a list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := parsePattern(t, tt.give)
			_, err := Compile(p)
			var pe *PatternError
			if !errors.As(err, &pe) {
				t.Fatalf("Compile(%s) error = %v, want a *PatternError", tt.give, err)
			}
			if pe.Path != tt.wantPath || !strings.Contains(pe.Msg, tt.wantMsg) {
				t.Errorf("Compile(%s) error = path %q, %q; want path %q, message containing %q", tt.give, pe.Path, pe.Msg, tt.wantPath, tt.wantMsg)
			}
			if tt.wantPath != "" && !strings.Contains(err.Error(), tt.wantPath) {
				t.Errorf("Compile(%s) error %q does not name the path %q", tt.give, err, tt.wantPath)
			}
		})
	}
}

func TestCompileRejectsGoValues(t *testing.T) {
	tests := []struct {
		name string
		give Pattern
	}{
		{name: "nil pattern", give: nil},
		{name: "value that is not JSON", give: Pattern{"source": []any{make(chan int)}}},
		{name: "pattern longer than the EventBridge quota", give: Pattern{"resources": []string{strings.Repeat("a", MaxPatternLength)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Compile(tt.give)
			var pe *PatternError
			if !errors.As(err, &pe) {
				t.Errorf("Compile(%s) = %v, %v; want a *PatternError", tt.name, m, err)
			}
		})
	}
}

func TestPatternJSON(t *testing.T) {
	tests := []struct {
		name string
		give Pattern
		want string
	}{
		{
			name: "keys sorted at every level",
			give: Pattern{
				"source": []string{"aws.codecommit"},
				"detail": Pattern{"referenceType": []string{"branch"}, "event": []string{"referenceUpdated"}},
			},
			want: `{"detail":{"event":["referenceUpdated"],"referenceType":["branch"]},"source":["aws.codecommit"]}`,
		},
		{
			name: "operators are not HTML-escaped",
			give: Pattern{"detail": Pattern{"c-count": []any{map[string]any{"numeric": []any{">", 0, "<=", 5}}}}},
			want: `{"detail":{"c-count":[{"numeric":[">",0,"<=",5]}]}}`,
		},
		{
			name: "null, booleans and numbers keep their JSON form",
			give: Pattern{"detail": Pattern{"responseElements": []any{nil}, "on": []any{true}, "risk": []any{8, 2.5}}},
			want: `{"detail":{"on":[true],"responseElements":[null],"risk":[8,2.5]}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.give.JSON()
			if err != nil {
				t.Fatalf("JSON() error: %v", err)
			}
			if got != tt.want {
				t.Errorf("JSON() = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestPatternJSONInvalid(t *testing.T) {
	p := Pattern{"source": "aws.codecommit"}
	if got, err := p.JSON(); err == nil {
		t.Errorf("JSON() = %s, nil; want an error for a value outside a list", got)
	}
}

// TestPatternJSONRoundTrip checks that the JSON the CDK app sends, read back,
// is the same pattern: same text, and same decisions on the same events.
func TestPatternJSONRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		give Pattern
	}{
		{name: "push route", give: mustLookup(t, FunctionPush).Pattern},
		{name: "EC2 termination", give: Pattern{"source": []string{"aws.ec2"}, "detail": Pattern{"state": []string{"terminated"}}}},
		{name: "complex example", give: Pattern{
			"time": []any{map[string]any{"prefix": "2017-10-02"}},
			"detail": Pattern{
				"state":     []any{map[string]any{"anything-but": "initializing"}},
				"c-count":   []any{map[string]any{"numeric": []any{">", 0, "<=", 5}}},
				"x-limit":   []any{map[string]any{"anything-but": []int{100, 200, 300}}},
				"source-ip": []any{map[string]any{"cidr": "10.0.0.0/8"}},
			},
		}},
		{name: "or", give: Pattern{"$or": []Pattern{{"Location": []string{"New York"}}, {"Day": []string{"Monday"}}}}},
	}
	events := []string{ec2Terminated, ec2Running, autoScalingLaunch, macieAlert, readSample(t), `{"Day": "Monday"}`}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			first, err := tt.give.JSON()
			if err != nil {
				t.Fatalf("JSON() error: %v", err)
			}
			var back Pattern
			if err := json.Unmarshal([]byte(first), &back); err != nil {
				t.Fatalf("unmarshal %s: %v", first, err)
			}
			second, err := back.JSON()
			if err != nil {
				t.Fatalf("JSON() of the decoded pattern error: %v", err)
			}
			if second != first {
				t.Errorf("JSON() after a round trip = %s, want %s", second, first)
			}
			for _, ev := range events {
				want, err := Match(tt.give, []byte(ev))
				if err != nil {
					t.Fatalf("Match error: %v", err)
				}
				got, err := Match(back, []byte(ev))
				if err != nil {
					t.Fatalf("Match error: %v", err)
				}
				if got != want {
					t.Errorf("Match(decoded %s, %.60s...) = %v, want %v as before the round trip", first, ev, got, want)
				}
			}
		})
	}
}
