package main

import (
	"fmt"
	"testing"

	"github.com/highwayhq/highway/shared/localaws"
)

// BenchmarkInvoke measures the floor: the smallest aws-lambda-go function,
// built with the functions' flags, under the emulator, as make bench
// measures every function (localaws.BenchInvoke).
func BenchmarkInvoke(b *testing.B) {
	bootstrap := localaws.Build(b, b.TempDir(), "scripts/hello")
	localaws.BenchInvoke(b, bootstrap, nil, []byte(`{}`), func(body []byte) error {
		if string(body) != `"hello"` {
			return fmt.Errorf("response %s, want \"hello\"", body)
		}
		return nil
	})
}
