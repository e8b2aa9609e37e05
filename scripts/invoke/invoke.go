package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/highwayhq/highway/shared/localaws"
)

// outcome is one invocation: the event file sent, the function's answer,
// and why the invocation failed, when it did.
type outcome struct {
	File   string
	Answer []byte
	Failed string
}

// functionError is how the Lambda runtime answers for a handler that
// returned an error, or a function that could not start.
type functionError struct {
	ErrorMessage string `json:"errorMessage"`
	ErrorType    string `json:"errorType"`
}

// every is how often a long step says it is still at work.
const every = 20 * time.Second

// build compiles functions/fn with scripts/build.sh, the flags it ships
// with, for this machine's architecture, into dir, and returns the
// bootstrap's path. It says what it does, and while it compiles, that it
// still does. The binary is kept in build/cache/functions and linked again
// only when something that goes into it changed.
func build(root, fn, dir string, log io.Writer) (string, error) {
	fmt.Fprintf(log, "invoke: building functions/%s for linux/%s as it ships (the first build compiles the AWS SDK, a minute or two; later ones take seconds)\n", fn, runtime.GOARCH)
	stop := heartbeat(log, "building functions/"+fn)
	bin, err := localaws.BuildShipped(root, "functions/"+fn)
	stop()
	if err != nil {
		return "", fmt.Errorf("build functions/%s: %w", fn, err)
	}
	bootstrap := filepath.Join(dir, fn, "bootstrap")
	return bootstrap, localaws.Place(bin, bootstrap)
}

// heartbeat says, every 20 seconds until stop is called, that the step
// named what is still at work.
func heartbeat(log io.Writer, what string) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		start := time.Now()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				fmt.Fprintf(log, "invoke: still %s (%s)\n", what, time.Since(start).Round(time.Second))
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}

// invoke runs bootstrap, the function fn, under the Lambda Runtime
// Interface Emulator rie on the site, and invokes it with each event file
// in turn, as Lambda would, one execution environment for them all. It
// returns each invocation's outcome and what the function logged.
func (s *site) invoke(ctx context.Context, rie, bootstrap, fn string, files []string) ([]outcome, string, error) {
	emu, err := localaws.StartEmulator(rie, bootstrap, s.environment(fn))
	if err != nil {
		return nil, "", err
	}
	defer emu.Stop()
	var outcomes []outcome
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			return outcomes, emu.Log(), err
		}
		payload, err := s.prepare(ctx, raw)
		if err != nil {
			return outcomes, emu.Log(), fmt.Errorf("prepare %s: %w", file, err)
		}
		o := outcome{File: file}
		o.Answer, err = emu.Invoke(ctx, payload)
		var ferr functionError
		switch {
		case err != nil:
			o.Failed = err.Error()
		case json.Unmarshal(o.Answer, &ferr) == nil && (ferr.ErrorType != "" || ferr.ErrorMessage != ""):
			o.Failed = strings.TrimSpace(ferr.ErrorType + ": " + ferr.ErrorMessage)
		}
		outcomes = append(outcomes, o)
	}
	return outcomes, settled(emu, len(files)), nil
}

// reported ends the emulator's account of each invocation in its log.
const reported = "REPORT RequestId"

// settled returns the emulator's log once it holds the report of each of
// the n invocations, or after two seconds: what the function prints
// reaches the log through a pipe, and may arrive after its answer.
func settled(emu *localaws.Emulator, n int) string {
	deadline := time.Now().Add(2 * time.Second)
	for {
		log := emu.Log()
		if strings.Count(log, reported) >= n || time.Now().After(deadline) {
			return log
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// functionLog is what the function printed, and the emulator's line about
// each invocation, without the emulator's own chatter.
func functionLog(log string) string {
	var b strings.Builder
	for line := range strings.Lines(log) {
		if !strings.Contains(line, "(rapid)") {
			b.WriteString(line)
		}
	}
	return b.String()
}
