package stacks

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"text/tabwriter"

	"github.com/highwayhq/highway/shared/function"
	"github.com/highwayhq/highway/shared/localaws"
	"github.com/highwayhq/highway/shared/policy"
)

func TestEveryAWSCallIsAllowed(t *testing.T) {
	// Under make test, the calls are those every other package made: the test
	// runs after this package's other tests, and once the others are done.
	t.Parallel()
	waitForOtherPackages(t)

	// GIVEN the example policy, which the canaries' functions ship with,
	// synthesized, and every AWS call the functions made in the canaries (as
	// localaws recorded them at the wire)
	p := examplePolicy(t)
	h := synth(t, p)
	recordings := recordedCalls(t)

	// WHEN IAM decides each call by the role that made it (the function's
	// own, or the access role it assumed), with that role's policies as
	// synthesized, and the resource's policy where it has one
	a := newCallAudit(t, h)
	for _, rec := range recordings {
		for _, c := range rec.Calls {
			a.add(t, rec, c)
		}
	}
	if len(a.checks) == 0 {
		t.Fatal("no call was recorded")
	}
	decisions := localaws.SimulateIAM(t, a.requests())

	// THEN IAM allows every call: one it does not is an AccessDenied in
	// production; the table of calls and the grants no call used are logged
	allowed := map[string][]callCheck{}
	for i, d := range decisions {
		c := &a.checks[i]
		c.result = d.Result
		switch {
		case d.Result == "Error":
			t.Errorf("%s: the simulator could not decide: %s", c.request.Name, d.Errors)
		case !d.Allowed():
			t.Errorf("%s %s by %s on %s (context %v): %s", c.function, c.action, c.role, c.resource, c.request.Context, d.Result)
		default:
			allowed[c.role] = append(allowed[c.role], *c)
		}
	}
	t.Log("calls by function:\n" + a.callTable())
	unused, unusedCount := a.unusedGrants(allowed)
	t.Logf("grants no recorded call used, by role (%d):\n%s", unusedCount, unused)
	if len(a.untracked) > 0 {
		t.Logf("calls made with credentials Highway does not grant (not checked):\n%s", strings.Join(a.untracked, "\n"))
	}
	t.Logf("figure: %d distinct AWS calls, %d allowed by IAM; %d grants of %d roles unused by any call",
		len(a.checks), len(slices.Concat(slices.Collect(maps.Values(allowed))...)), unusedCount, len(a.roles))

	t.Run("a removed grant denies its call", func(t *testing.T) {
		// GIVEN one allowed call of each role
		var requests []localaws.IAMRequest
		for _, role := range slices.Sorted(maps.Keys(allowed)) {
			c := allowed[role][0]

			// WHEN the statements' grants of its action are removed from the
			// role's policies
			r := c.request
			r.Name = fmt.Sprintf("%s without its grants of %s", r.Name, c.action)
			r.IdentityPolicies = withoutAction(r.IdentityPolicies, c.action)
			requests = append(requests, r)
		}

		// THEN IAM denies it: the check decides by the grants, not by
		// anything else
		simulate(t, requests, make([]bool, len(requests)))
	})
}

// recordedCalls returns the calls the functions made: those the localaws
// sites of an earlier run wrote to $HIGHWAY_CALLS (make test runs every test
// so, then this one), or, when it holds none, those of the canaries run now
// (go test -run '^TestBootstrap' ./functions/...), which need the local
// services.
func recordedCalls(t *testing.T) []localaws.Recording {
	t.Helper()
	if dir := os.Getenv(localaws.EnvCalls); dir != "" {
		recs, err := localaws.ReadRecordings(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) > 0 {
			return recs
		}
	}
	localaws.Require(t, localaws.EnvDynamoDB)
	localaws.Require(t, localaws.EnvRIE)
	dir := t.TempDir()
	cmd := exec.Command("go", "test", "-count=1", "-run", "^TestBootstrap", "./functions/...")
	cmd.Dir = "../.."
	cmd.Env = append(os.Environ(), localaws.EnvCalls+"="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the canaries failed (%v): their calls cannot be checked\n%s", err, out)
	}
	recs, err := localaws.ReadRecordings(dir)
	if err != nil || len(recs) == 0 {
		t.Fatalf("the canaries recorded no calls in %s (%v)", dir, err)
	}
	return recs
}

// waitForOtherPackages returns once every other package of the run has
// finished, when scripts/testrun (make test) names in HIGHWAY_OTHERS_DONE the
// socket that says so by ending the connection; at once otherwise.
func waitForOtherPackages(t *testing.T) {
	done := os.Getenv("HIGHWAY_OTHERS_DONE")
	if done == "" {
		return
	}
	c, err := net.Dial("unix", done)
	if err != nil {
		t.Fatalf("the runner's socket %s: %v", done, err)
	}
	defer c.Close()
	if _, err := io.Copy(io.Discard, c); err != nil {
		t.Fatalf("waiting for the other packages: %v", err)
	}
}

// kmsKey is a KMS key of the hub and its key policy.
type kmsKey struct {
	arn    string
	policy any
}

// cmpAny is the first of values that is not nil.
func cmpAny(values ...any) any {
	for _, v := range values {
		if v != nil {
			return v
		}
	}
	return nil
}

// callCheck is one distinct call IAM decides: a recorded call, its
// placeholders replaced by what the CDK app sets, on one resource.
type callCheck struct {
	function, role, action, resource string
	// via names the call a service made this one for, with the caller's
	// credentials (" via <topic ARN>"), or is empty for a call at the wire.
	via string
	// count is how many recorded calls it stands for.
	count   int
	request localaws.IAMRequest
	result  string
}

// callAudit turns recorded calls into IAM requests against the synthesized
// app, one per distinct call, and keeps each role's policies.
type callAudit struct {
	h     *Highway
	hub   policy.Hub
	tpl   cfnTemplate
	arns  map[string]string
	trust map[string]any // role ARN → trust policy
	// resourcePolicies are the policies of the hub's topics and queues, by ARN.
	resourcePolicies map[string]any
	// keys are the KMS keys of the hub's encrypted topics, queues and
	// secrets, by their ARN, and by the key's own.
	keys map[string]kmsKey
	// accounts are the accounts the app has a stack in.
	accounts map[string]bool
	// queues are the queues Lambda uses with a function's role, by role
	// and queue ARN: "on-failure" or "event source".
	queues    map[string]map[string]string
	checks    []callCheck
	seen      map[string]int // distinct call → index in checks
	roles     map[string][]localaws.NamedPolicy
	untracked []string
}

func newCallAudit(t *testing.T, h *Highway) *callAudit {
	t.Helper()
	hub := h.Hub.Policy.Hub
	tpl := templateOf(t, h.Hub.Stack)
	a := &callAudit{h: h, hub: hub, tpl: tpl, arns: hubRefs(tpl, hub), trust: map[string]any{},
		resourcePolicies: map[string]any{}, seen: map[string]int{}, roles: map[string][]localaws.NamedPolicy{},
		queues: map[string]map[string]string{}, accounts: map[string]bool{}, keys: map[string]kmsKey{}}
	for id, r := range tpl.Resources {
		keyID := refTo(cmpAny(r.Properties["KmsMasterKeyId"], r.Properties["KmsKeyId"]))
		key, ok := tpl.Resources[keyID]
		if !ok || key.Type != "AWS::KMS::Key" {
			continue
		}
		k := kmsKey{arn: a.arns["${"+keyID+".Arn}"], policy: withArns(resolve(key.Properties["KeyPolicy"], h.Hub.Stack), a.arns)}
		a.keys[cmpOr(a.arns["${"+id+".Arn}"], a.arns["${"+id+"}"])] = k
	}
	roleOf := map[string]string{} // function id → its role's name, which is the function's
	for id, fn := range tpl.ofType("AWS::Lambda::Function") {
		if name, ok := fn.Properties["FunctionName"].(string); ok {
			roleOf[id] = name
			a.queues[name] = map[string]string{}
		}
	}
	for _, r := range tpl.ofType("AWS::Lambda::EventInvokeConfig") {
		if role, ok := roleOf[refTo(r.Properties["FunctionName"])]; ok {
			a.queues[role][a.arns["${"+refTo(path(r.Properties, "DestinationConfig", "OnFailure", "Destination"))+".Arn}"]] = "on-failure"
		}
	}
	for _, r := range tpl.ofType("AWS::Lambda::EventSourceMapping") {
		if role, ok := roleOf[refTo(r.Properties["FunctionName"])]; ok {
			a.queues[role][a.arns["${"+refTo(r.Properties["EventSourceArn"])+".Arn}"]] = "event source"
		}
	}
	for _, stack := range stacksOf(h) {
		a.accounts[*stack.Account()] = true
		st := templateOf(t, stack)
		for _, r := range st.ofType("AWS::IAM::Role") {
			name, _ := r.Properties["RoleName"].(string)
			rolePath, _ := r.Properties["Path"].(string)
			if name != "" {
				a.trust["arn:aws:iam::"+*stack.Account()+":role"+cmpOr(rolePath, "/")+name] = resolve(r.Properties["AssumeRolePolicyDocument"], stack)
			}
		}
	}
	for _, typ := range []string{"AWS::SNS::TopicPolicy", "AWS::SQS::QueuePolicy"} {
		for _, r := range tpl.ofType(typ) {
			doc := withArns(resolve(r.Properties["PolicyDocument"], h.Hub.Stack), a.arns)
			for _, id := range refs(append(list(r.Properties["Topics"]), list(r.Properties["Queues"])...)) {
				arn := a.arns["${"+id+"}"]
				if typ == "AWS::SQS::QueuePolicy" {
					arn = a.arns["${"+id+".Arn}"]
				}
				a.resourcePolicies[arn] = doc
			}
		}
	}
	// Every access role, in every account, has its grants listed, used or not.
	for _, acc := range accesses {
		for _, account := range acc.accounts(h.Hub.Policy) {
			if rt, id, stack := accessRole(t, h, acc.name, account); id != "" {
				a.roles[accessRoleLabel(AccessRoleName(hub, acc.name), account)] = identityPolicies(rt, id, stack)
			}
		}
	}
	return a
}

// hubRefs is hubArns with what else a function's environment and grants
// refer to: a table's and a bus's name (Ref), a queue's URL (Ref) and ARN.
func hubRefs(tpl cfnTemplate, hub policy.Hub) map[string]string {
	out := hubArns(tpl, hub)
	for id, r := range tpl.Resources {
		switch r.Type {
		case "AWS::DynamoDB::Table":
			out["${"+id+"}"] = flat(r.Properties["TableName"])
		case "AWS::Events::EventBus":
			out["${"+id+"}"] = flat(r.Properties["Name"])
		case "AWS::SQS::Queue":
			// CloudFormation names an unnamed queue <stack>-<id>-<suffix>: the
			// id stands for it.
			name, _ := r.Properties["QueueName"].(string)
			name = cmpOr(name, id)
			out["${"+id+"}"] = "https://sqs." + hub.Region + ".amazonaws.com/" + hub.Account + "/" + name
			out["${"+id+".Arn}"] = "arn:aws:sqs:" + hub.Region + ":" + hub.Account + ":" + name
		}
	}
	return out
}

// accessRoleLabel names an access role in an account in the tables.
func accessRoleLabel(name, account string) string { return name + " @" + account }

// add turns one recorded call into the IAM requests of its resources.
func (a *callAudit) add(t *testing.T, rec localaws.Recording, c localaws.Call) {
	t.Helper()
	if c.Role == "" {
		a.untracked = append(a.untracked, fmt.Sprintf("  %s %s on %v with access key %s (%s)", c.Function, c.Operation, c.Resources, c.AccessKey, rec.Test))
		return
	}
	if c.Function == "" {
		t.Errorf("%s: %s on %v by %s: no function made it", rec.Test, c.Operation, c.Resources, c.Role)
		return
	}
	canary := envOf(rec.Env[c.Function])
	synthesized := map[string]string{}
	for k, v := range functionEnv(t, a.tpl, a.hub, c.Function) {
		synthesized[k] = fmt.Sprint(withArns(resolve(v, a.h.Hub.Stack), a.arns))
	}
	c = a.normalized(c, canary, synthesized)

	var role string
	var request func(action, resource string, ctx map[string]any) localaws.IAMRequest
	if c.Role == localaws.ExecutionRole {
		role = FunctionRoleName(a.hub, c.Function)
		request = func(action, resource string, ctx map[string]any) localaws.IAMRequest {
			r := roleRequest(t, a.h, a.tpl, c.Function, action, resource, ctx)
			for i := range r.IdentityPolicies {
				r.IdentityPolicies[i].Policy = withArns(r.IdentityPolicies[i].Policy, a.arns)
			}
			if account := accountOf(resource); account != "" {
				r.Account = account
			}
			r.ResourcePolicy = a.resourcePolicies[resource]
			if strings.HasPrefix(action, "sts:") {
				r.ResourcePolicy = a.trust[resource]
			}
			return r
		}
	} else {
		// The canaries name the access role after the function; the app, after
		// its capability: the function's synthesized environment says which.
		if want := "arn:aws:iam::" + c.Account + ":role/" + canary[function.EnvAccessRole]; c.Role != want {
			t.Errorf("%s %s was made through %s, not the access role its environment names, %s", c.Function, c.Operation, c.Role, want)
			return
		}
		name := synthesized[function.EnvAccessRole]
		capability, ok := strings.CutPrefix(name, a.hub.Name+"-access-")
		if !ok || !slices.Contains(accessNamed(capability).functions, c.Function) {
			t.Errorf("%s %s: the synthesized function acts through %q, not its capability's access role", c.Function, c.Operation, name)
			return
		}
		if _, id, _ := accessRole(t, a.h, capability, c.Account); id == "" {
			t.Errorf("%s %s in %s: the app has no access role %s there, so the AssumeRole fails", c.Function, c.Operation, c.Account, name)
			return
		}
		role = accessRoleLabel(name, c.Account)
		app, _ := c.Context["aws:PrincipalTag/"+a.hub.AppTag].(string)
		request = func(action, resource string, ctx map[string]any) localaws.IAMRequest {
			// A session for an app acts on the app's resources, which carry its
			// tag as the policy requires.
			r, _ := accessRequest(t, a.h, apiCall{capability: capability, app: app, account: c.Account, region: c.Region,
				action: action, resource: resource, context: ctx}, app, app)
			return r
		}
	}
	check := func(action, resource, via string, ctx map[string]any, resourcePolicy any) {
		raw, err := json.Marshal(ctx)
		if err != nil {
			t.Fatal(err)
		}
		key := strings.Join([]string{c.Function, role, action, resource, via, string(raw)}, "\x00")
		if i, ok := a.seen[key]; ok {
			a.checks[i].count++
			return
		}
		r := request(action, resource, ctx)
		r.Name = fmt.Sprintf("%s: %s%s by %s on %s (%s)", c.Function, action, via, role, resource, rec.Test)
		if resourcePolicy != nil {
			r.ResourcePolicy = resourcePolicy
		}
		a.seen[key] = len(a.checks)
		a.checks = append(a.checks, callCheck{function: c.Function, role: role, action: action, resource: resource, via: via, count: 1, request: r})
		if _, ok := a.roles[role]; !ok {
			a.roles[role] = r.IdentityPolicies
		}
	}
	for _, resource := range c.Resources {
		check(c.Operation, resource, "", c.Context, nil)
		// A service that encrypts with a key of the app's uses it with the
		// caller's credentials: publishing to an encrypted topic or queue
		// needs the key's data keys, reading an encrypted secret its
		// decryption.
		k, ok := a.keys[resource]
		if !ok {
			continue
		}
		ctx := map[string]any{"kms:ViaService": c.Service + "." + c.Region + ".amazonaws.com", "kms:CallerAccount": c.Account}
		for _, action := range map[string][]string{
			"sns:Publish":                   {"kms:GenerateDataKey", "kms:Decrypt"},
			"sqs:SendMessage":               {"kms:GenerateDataKey", "kms:Decrypt"},
			"secretsmanager:GetSecretValue": {"kms:Decrypt"},
		}[c.Operation] {
			check(action, k.arn, " via "+resource, ctx, k.policy)
		}
	}
}

// normalized replaces in c what the canary used as a placeholder for what
// the CDK app sets: the functions run in the canaries' region (AWS_REGION),
// where Lambda runs them in the hub's; the ledger table has a name of the
// test's own; the link secret, the queue and the other resources the
// environment names may be named otherwise. Each resource the canary's
// environment names is replaced by the one the synthesized function's
// environment names.
func (a *callAudit) normalized(c localaws.Call, canary, synthesized map[string]string) localaws.Call {
	region := canary["AWS_REGION"]
	hubScope := func(service, region string) string {
		return "arn:aws:" + service + ":" + region + ":" + a.hub.Account + ":"
	}
	// A secret is named by its ARN, or by its name in the canaries.
	secret := func(v, r string) string {
		if strings.HasPrefix(v, "arn:") {
			return v
		}
		return hubScope("secretsmanager", r) + "secret:" + v
	}
	var pairs []string
	for _, kv := range []struct {
		env  string
		arn  func(v, region string) string
		also func(arn string) string // a resource below the one named
	}{
		{env: function.EnvTable, arn: func(v, r string) string { return hubScope("dynamodb", r) + "table/" + v }},
		{env: function.EnvBus, arn: func(v, r string) string { return hubScope("events", r) + "event-bus/" + v }},
		{env: function.EnvTopic, arn: func(v, _ string) string { return v }},
		{env: function.EnvApprovalTopic, arn: func(v, _ string) string { return v }},
		{env: function.EnvApprovalSecret, arn: secret},
		{env: function.EnvWebhookSecret, arn: secret},
		{env: function.EnvApprovalStateMachine, arn: func(v, _ string) string { return v },
			also: func(arn string) string { return strings.Replace(arn, ":stateMachine:", ":execution:", 1) + ":" }},
		{env: function.EnvDriftQueue, arn: func(v, r string) string { return localaws.QueueArn(v, r) }},
	} {
		from, to := canary[kv.env], synthesized[kv.env]
		if from == "" || to == "" {
			continue
		}
		placeholder, actual := kv.arn(from, region), kv.arn(to, a.hub.Region)
		pairs = append(pairs, placeholder, actual)
		if kv.also != nil {
			pairs = append(pairs, kv.also(placeholder), kv.also(actual))
		}
	}
	// The access role the canary names stands for the one the app creates.
	if from, to := canary[function.EnvAccessRole], synthesized[function.EnvAccessRole]; from != "" && to != "" {
		pairs = append(pairs, ":role/"+from, ":role/"+to)
	}
	replace := strings.NewReplacer(pairs...)
	out := c
	out.Resources = nil
	for _, r := range c.Resources {
		r = replace.Replace(r)
		// An account the app does not reach is a placeholder of the fake's
		// answers (shared/deploy/testdata's task definitions name their roles
		// in 123456789012): what the code reads stands in the account it
		// reads it from.
		if account := accountOf(r); account != "" && account != "aws" && !a.accounts[account] {
			r = strings.Replace(r, ":"+account+":", ":"+c.Account+":", 1)
		}
		if c.Role == localaws.ExecutionRole {
			for _, svc := range []string{"dynamodb", "events", "secretsmanager", "sns", "sqs", "states"} {
				r = strings.Replace(r, hubScope(svc, region), hubScope(svc, a.hub.Region), 1)
			}
		}
		out.Resources = append(out.Resources, r)
	}
	if out.Region == region {
		out.Region = a.hub.Region
	}
	return out
}

// envOf reads an environment list into a map; the last of a name counts.
func envOf(env []string) map[string]string {
	out := map[string]string{}
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			out[k] = v
		}
	}
	return out
}

// requests are the checks' IAM requests, in order.
func (a *callAudit) requests() []localaws.IAMRequest {
	out := make([]localaws.IAMRequest, len(a.checks))
	for i, c := range a.checks {
		out[i] = c.request
	}
	return out
}

// callTable renders the checks by function, role, action and resource.
func (a *callAudit) callTable() string {
	type row struct{ function, role, action, resource string }
	calls, results := map[row]int{}, map[row][]string{}
	for _, c := range a.checks {
		r := row{c.function, c.role, c.action + c.via, c.resource}
		calls[r] += c.count
		if !slices.Contains(results[r], c.result) {
			results[r] = append(results[r], c.result)
		}
	}
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "FUNCTION\tROLE\tACTION\tRESOURCE\tCALLS\tIAM")
	rows := slices.Collect(maps.Keys(calls))
	slices.SortFunc(rows, func(x, y row) int {
		return strings.Compare(strings.Join([]string{x.function, x.role, x.action, x.resource}, " "), strings.Join([]string{y.function, y.role, y.action, y.resource}, " "))
	})
	for _, r := range rows {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%s\n", r.function, r.role, r.action, r.resource, calls[r], strings.Join(results[r], ","))
	}
	w.Flush()
	return b.String()
}

// allowGrant is one action pattern on one resource pattern of an Allow statement.
type allowGrant struct {
	policy, sid, action, resource string
}

// grantsOf lists the action and resource pairs of the Allow statements of
// policies (NotAction and NotResource statements as they are written).
func grantsOf(policies []localaws.NamedPolicy) []allowGrant {
	var out []allowGrant
	for _, p := range policies {
		for _, st := range list(path(p.Policy, "Statement")) {
			if path(st, "Effect") != "Allow" {
				continue
			}
			sid, _ := path(st, "Sid").(string)
			actions, resources := strs(path(st, "Action")), strs(path(st, "Resource"))
			if na := strs(path(st, "NotAction")); len(na) > 0 {
				actions = []string{"NotAction " + strings.Join(na, ",")}
			}
			if nr := strs(path(st, "NotResource")); len(nr) > 0 {
				resources = []string{"NotResource " + strings.Join(nr, ",")}
			}
			for _, act := range actions {
				for _, res := range resources {
					out = append(out, allowGrant{policy: p.Name, sid: sid, action: act, resource: res})
				}
			}
		}
	}
	return out
}

// usedByAWS says who uses, with role, a grant no recorded call used when
// AWS does so for the function: Lambda writing its logs and traces and
// delivering to its queues, a service using a key for its caller.
func (a *callAudit) usedByAWS(role, action, resource string) string {
	service, _, _ := strings.Cut(action, ":")
	switch {
	case service == "logs":
		return "Lambda writes the function's logs"
	case service == "xray":
		return "Lambda's active tracing sends the function's segments"
	case action == "cloudformation:DetectStackResourceDrift":
		return "DetectStackDrift checks each resource of the stack with it"
	case a.queues[role][resource] == "on-failure" && action == "sqs:SendMessage":
		return "Lambda sends failed asynchronous invocations to the function's on-failure queue"
	case a.queues[role][resource] == "event source" && slices.Contains([]string{"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"}, action):
		return "Lambda's event source mapping polls the queue"
	}
	return ""
}

// unusedGrants renders, per role and statement, the grants no allowed call
// matched by action and resource (conditions aside), with who uses them when
// AWS does, and counts them.
func (a *callAudit) unusedGrants(allowed map[string][]callCheck) (string, int) {
	type group struct{ role, statement, resource, why string }
	unused := map[group][]string{}
	var order []group
	n := 0
	for _, role := range slices.Sorted(maps.Keys(a.roles)) {
		for _, g := range grantsOf(a.roles[role]) {
			if slices.ContainsFunc(allowed[role], func(c callCheck) bool {
				return iamMatch(g.action, c.action, true) && iamMatch(g.resource, c.resource, false)
			}) {
				continue
			}
			why := a.usedByAWS(role, g.action, g.resource)
			if why == "" && len(allowed[role]) == 0 {
				why = "no recorded call of the role"
			}
			k := group{role, cmpOr(g.sid, g.policy), g.resource, cmpOr(why, "-")}
			if _, ok := unused[k]; !ok {
				order = append(order, k)
			}
			if !slices.Contains(unused[k], g.action) {
				unused[k] = append(unused[k], g.action)
				n++
			}
		}
	}
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "ROLE\tSTATEMENT\tRESOURCE\tUSED BY\tACTIONS")
	for _, k := range order {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", k.role, k.statement, k.resource, k.why, strings.Join(unused[k], " "))
	}
	w.Flush()
	return b.String(), n
}

// iamMatch reports whether value matches an IAM pattern, where * is any run
// of characters and ? any one, and a policy variable ${...} any value;
// actions match without regard to case.
func iamMatch(pattern, value string, fold bool) bool {
	var re strings.Builder
	re.WriteString("^")
	if fold {
		re.WriteString("(?i)")
	}
	for i := 0; i < len(pattern); i++ {
		switch {
		case strings.HasPrefix(pattern[i:], "${"):
			end := strings.IndexByte(pattern[i:], '}')
			if end < 0 {
				re.WriteString(regexp.QuoteMeta(pattern[i:]))
				i = len(pattern)
				continue
			}
			re.WriteString(".*")
			i += end
		case pattern[i] == '*':
			re.WriteString(".*")
		case pattern[i] == '?':
			re.WriteString(".")
		default:
			re.WriteString(regexp.QuoteMeta(pattern[i : i+1]))
		}
	}
	re.WriteString("$")
	return regexp.MustCompile(re.String()).MatchString(value)
}

// withoutAction is policies with every action pattern that matches action
// removed from their Allow statements (a statement left with none goes, and
// a policy left with none).
func withoutAction(policies []localaws.NamedPolicy, action string) []localaws.NamedPolicy {
	var out []localaws.NamedPolicy
	for _, p := range policies {
		doc, _ := p.Policy.(map[string]any)
		statements := []any{}
		for _, st := range list(doc["Statement"]) {
			st, _ := st.(map[string]any)
			if st["Effect"] != "Allow" || st["Action"] == nil {
				statements = append(statements, st)
				continue
			}
			var keep []any
			for _, act := range strs(st["Action"]) {
				if !iamMatch(act, action, true) {
					keep = append(keep, act)
				}
			}
			if len(keep) == 0 {
				continue
			}
			trimmed := maps.Clone(st)
			trimmed["Action"] = keep
			statements = append(statements, trimmed)
		}
		if len(statements) == 0 {
			continue
		}
		trimmed := maps.Clone(doc)
		trimmed["Statement"] = statements
		out = append(out, localaws.NamedPolicy{Name: p.Name, Policy: trimmed})
	}
	return out
}
