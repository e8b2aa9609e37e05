package github_test

import (
	"fmt"

	"github.com/highwayhq/highway/shared/github"
)

// GitHub's documentation gives this secret and payload, and the signature a
// correct implementation computes ("Validating webhook deliveries"); the
// tests sign their deliveries with the same function.
func ExampleSign() {
	fmt.Println(github.Sign([]byte("It's a Secret to Everybody"), []byte("Hello, World!")))
	// Output: sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17
}
