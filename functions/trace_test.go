package functions_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/highwayhq/highway/shared/localaws"
	"github.com/highwayhq/highway/shared/telemetry/telemetrytest"
)

// TestShippedFunctionTracesItsAWSCalls runs approvalrequest as it ships, with
// an X-Ray daemon's address, and hands it one invocation that X-Ray sampled:
// the ledger query its ping makes inside the invocation reaches the daemon as
// one subsegment under the invocation's segment, and the secret it reads in
// main, outside any invocation, does not. The Runtime Interface Emulator
// drops the invoke's X-Amzn-Trace-Id (its tracer is a no-op), so the test
// serves the runtime API's three routes itself, as Lambda does.
func TestShippedFunctionTracesItsAWSCalls(t *testing.T) {
	localaws.Require(t, localaws.EnvDynamoDB)
	daemon := telemetrytest.NewDaemon(t)
	_, d, event := localaws.DeployPing(t, "approvalrequest")

	const root, parent = "1-6751a2c0-5f0e8d2b9c4a7e1f3b6d8a20", "7c2e9a4b1d6f3e80"
	answered := make(chan string, 1)
	var handed atomic.Bool
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/2018-06-01/runtime/invocation/next":
			if handed.Swap(true) {
				<-r.Context().Done() // one invocation only
				return
			}
			h := w.Header()
			h.Set("Lambda-Runtime-Aws-Request-Id", "8f7c2d1e-0b6a-4c5d-9e8f-7a6b5c4d3e2f")
			h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(time.Now().Add(time.Minute).UnixMilli(), 10))
			h.Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:eu-west-1:111111111111:function:highway-approvalrequest")
			h.Set("Lambda-Runtime-Trace-Id", "Root="+root+";Parent="+parent+";Sampled=1")
			w.Write(event)
		case r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/2018-06-01/runtime/"):
			body, _ := io.ReadAll(r.Body)
			w.WriteHeader(http.StatusAccepted)
			select {
			case answered <- path.Base(r.URL.Path) + " " + string(body):
			default: // only the first answer counts
			}
		default:
			http.NotFound(w, r)
		}
	}))
	defer api.Close()

	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, d.Bootstrap)
	cmd.Dir = filepath.Dir(d.Bootstrap)
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	// The machine's environment, less what would switch tracing off or point
	// the SDK elsewhere, then the function's.
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "AWS_") || strings.HasPrefix(kv, "HIGHWAY_")
	})
	cmd.Env = append(cmd.Env, d.Env...)
	cmd.Env = append(cmd.Env, "AWS_LAMBDA_RUNTIME_API="+strings.TrimPrefix(api.URL, "http://"),
		"AWS_LAMBDA_FUNCTION_NAME=highway-approvalrequest", "AWS_XRAY_DAEMON_ADDRESS="+daemon.Addr())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); cmd.Wait() }()
	select {
	case got := <-answered:
		if !strings.HasPrefix(got, "response ") {
			t.Fatalf("the function answered %s\nlog:\n%s", got, log.String())
		}
	case <-ctx.Done():
		t.Fatalf("no answer\nlog:\n%s", log.String())
	}

	// The function sent its subsegment before it answered: the first
	// document is there, and nothing more is.
	var docs []map[string]any
	for _, body := range append([][]byte{daemon.Next(t)}, daemon.Queued(t)...) {
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatalf("the daemon got %q: %v", body, err)
		}
		docs = append(docs, m)
	}
	if len(docs) != 1 {
		t.Fatalf("the daemon got %d documents, want the query's one: %v", len(docs), docs)
	}
	doc := docs[0]
	op, _ := doc["aws"].(map[string]any)
	if doc["name"] != "DynamoDB" || op["operation"] != "Query" || doc["trace_id"] != root || doc["parent_id"] != parent || doc["type"] != "subsegment" {
		t.Errorf("subsegment %v; want DynamoDB Query under %s/%s", doc, root, parent)
	}
}
