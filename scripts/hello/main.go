// Command hello is the smallest aws-lambda-go function: the floor that Highway's
// functions are measured against (binary size, cold start, invoke latency). It is
// built with the same flags as the functions, by scripts/build.sh scripts/hello.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(context.Context, map[string]any) (string, error) { return "hello", nil })
}
