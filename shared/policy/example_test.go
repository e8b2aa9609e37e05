package policy_test

import (
	"errors"
	"fmt"

	"github.com/highwayhq/highway/shared/policy"
)

func ExampleParse() {
	src := `version: 1
hub:
  account: 111111111111
  region: eu-west-1
apps:
  - name: checkout
    repository: checkout-service
    environments:
      - {name: dev, account: "222222222222", region: eu-west-1}
      - {name: dev, account: "333333333333", region: eu-west-1}
`
	_, err := policy.Parse([]byte(src), "highway.yaml")
	var errs policy.Errors
	if errors.As(err, &errs) {
		for _, e := range errs {
			fmt.Printf("line %d: %s\n", e.Line, e.Msg)
		}
	}
	fmt.Println(err)
	// Output:
	// line 3: want a string, got a number (YAML reads an unquoted 111111111111 as a number); quote it: "111111111111"
	// line 10: duplicate environment "dev" (first at line 9)
	// highway.yaml:3:12: hub.account: want a string, got a number (YAML reads an unquoted 111111111111 as a number); quote it: "111111111111"
	// highway.yaml:10:16: apps[0].environments[1].name: duplicate environment "dev" (first at line 9)
}
