package route_test

import (
	"fmt"

	"github.com/highwayhq/highway/shared/policy"

	"github.com/highwayhq/highway/shared/route"
)

// A push to a branch goes to the push function when it comes from an account
// the policy's apps are delivered from; the deletion of a tag, or a push in an
// account Highway does not watch, goes nowhere. Whether the repository is an
// app's, the push function decides.
func ExampleRouter_Functions() {
	p := &policy.Policy{
		Hub:  policy.Hub{Account: "111111111111", Region: "eu-west-1"},
		Apps: []policy.App{{Name: "checkout", Repository: "checkout-service", Account: "222222222222"}},
	}
	router, err := route.NewRouter(route.Routes(p))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, event := range []string{
		`{"source": "aws.codecommit", "detail-type": "CodeCommit Repository State Change", "account": "222222222222",
		  "detail": {"event": "referenceUpdated", "referenceType": "branch", "referenceName": "main", "repositoryName": "checkout-service"}}`,
		`{"source": "aws.codecommit", "detail-type": "CodeCommit Repository State Change", "account": "222222222222",
		  "detail": {"event": "referenceDeleted", "referenceType": "tag", "referenceName": "v1.4.0"}}`,
		`{"source": "aws.codecommit", "detail-type": "CodeCommit Repository State Change", "account": "999999999999",
		  "detail": {"event": "referenceUpdated", "referenceType": "branch", "referenceName": "main", "repositoryName": "checkout-service"}}`,
	} {
		functions, err := router.Functions([]byte(event))
		fmt.Println(functions, err)
	}
	// Output:
	// [push] <nil>
	// [] <nil>
	// [] <nil>
}

// Compile validates a pattern once; the matcher then applies EventBridge's
// content filtering, here a numeric range from the EventBridge user guide.
func ExampleCompile() {
	m, err := route.Compile(route.Pattern{
		"detail": route.Pattern{"c-count": []any{map[string]any{"numeric": []any{">", 0, "<=", 5}}}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, event := range []string{`{"detail": {"c-count": 5}}`, `{"detail": {"c-count": 0}}`, `{"detail": {}}`} {
		ok, _ := m.Match([]byte(event))
		fmt.Println(event, ok)
	}

	_, err = route.Compile(route.Pattern{"detail": route.Pattern{"c-count": []any{map[string]any{"numeric": []any{">", "0"}}}}})
	fmt.Println(err)
	// Output:
	// {"detail": {"c-count": 5}} true
	// {"detail": {"c-count": 0}} false
	// {"detail": {}} false
	// event pattern detail.c-count[0].numeric[1]: the operand of ">" must be a number, not string "0"
}

// JSON gives the event pattern the CDK app puts in the EventBridge rule: it
// names the accounts the events come from, not the apps' repositories, so it
// does not grow with the number of apps.
func ExamplePattern_JSON() {
	p := &policy.Policy{
		Hub:  policy.Hub{Account: "111111111111", Region: "eu-west-1"},
		Apps: []policy.App{{Name: "checkout", Repository: "checkout-service", Account: "222222222222"}},
	}
	r, _ := route.Lookup(p, route.FunctionPush)
	text, err := r.Pattern.JSON()
	fmt.Println(text, err)
	// Output:
	// {"account":["222222222222"],"detail":{"event":["referenceCreated","referenceUpdated"],"referenceType":["branch"]},"detail-type":["CodeCommit Repository State Change"],"source":["aws.codecommit"]} <nil>
}
