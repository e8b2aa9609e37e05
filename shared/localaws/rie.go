package localaws

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Emulator is one bootstrap running under the Lambda Runtime Interface Emulator,
// listening on 127.0.0.1.
type Emulator struct {
	cmd   *exec.Cmd
	url   string
	log   *lockedBuffer
	ports []*os.File // the ports' reservations, held while it runs
	// Started is when the emulator process was started.
	Started time.Time
}

// StartEmulator runs bootstrap under the emulator binary rie with env added to
// the environment, on free loopback ports. It returns once the emulator accepts
// connections; the function itself starts on the first invocation, as in Lambda.
// The machine's own AWS_ variables are left out (hostEnv): Lambda sets a
// function's, and a bundle of certificates named by AWS_CA_BUNDLE alone costs
// the SDK's configuration 10 ms at every cold start.
func StartEmulator(rie, bootstrap string, env []string) (*Emulator, error) {
	e := &Emulator{log: &lockedBuffer{}}
	port, err := e.reservePort()
	if err != nil {
		return nil, err
	}
	api, err := e.reservePort()
	if err != nil {
		e.release()
		return nil, err
	}
	e.cmd = exec.Command(rie,
		"--runtime-interface-emulator-address", fmt.Sprintf("127.0.0.1:%d", port),
		"--runtime-api-address", fmt.Sprintf("127.0.0.1:%d", api),
		bootstrap)
	e.cmd.Dir = filepath.Dir(bootstrap)
	e.cmd.Env = append(hostEnv(), env...)
	e.cmd.Stdout, e.cmd.Stderr = e.log, e.log
	e.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // stop the bootstrap with it
	e.Started = time.Now()
	if err := e.cmd.Start(); err != nil {
		e.release()
		return nil, fmt.Errorf("start %s: %w", rie, err)
	}
	e.url = fmt.Sprintf("http://127.0.0.1:%d/2015-03-31/functions/function/invocations", port)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for deadline := time.Now().Add(10 * time.Second); ; {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err == nil {
			c.Close()
			return e, nil
		}
		if time.Now().After(deadline) {
			e.Stop()
			return nil, fmt.Errorf("the emulator did not listen on %s within 10s; its log:\n%s", addr, e.Log())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// hostEnv is this process's environment without its AWS_ variables, and
// with the SDK's shared configuration files pointed at none: the machine's
// ~/.aws (a ca_bundle, a retry mode) is no more the function's than its
// AWS_ variables are.
func hostEnv() []string {
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "AWS_") })
	return append(env, "AWS_CONFIG_FILE="+os.DevNull+"/none", "AWS_SHARED_CREDENTIALS_FILE="+os.DevNull+"/none")
}

// Invoke sends payload as one invocation and returns the function's response.
func (e *Emulator) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url, bytes.NewReader(payload))
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("invoke: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("read response: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return body, fmt.Errorf("invoke: HTTP %d: %s", resp.StatusCode, body)
	}
	return body, nil
}

// URL is where the emulator takes invocations, as Lambda's Invoke API would:
// POST the payload, read the function's answer.
func (e *Emulator) URL() string { return e.url }

// Log returns what the emulator and the function printed so far.
func (e *Emulator) Log() string { return e.log.String() }

// WaitLog returns the log once it contains want, or after wait: what the
// function prints reaches the log through a pipe, and may arrive after the
// response it printed before.
func (e *Emulator) WaitLog(want string, wait time.Duration) string {
	deadline := time.Now().Add(wait)
	for {
		log := e.Log()
		if strings.Contains(log, want) || time.Now().After(deadline) {
			return log
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Stop ends the emulator and the function process, by process group.
func (e *Emulator) Stop() {
	defer e.release()
	if e.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-e.cmd.Process.Pid, syscall.SIGKILL)
	_ = e.cmd.Wait()
}

// Emulate starts bootstrap under the emulator named by HIGHWAY_RIE for one test
// and stops it when the test ends; without the variable it skips or fails as
// Require does.
func Emulate(tb testing.TB, bootstrap string, env []string) *Emulator {
	tb.Helper()
	e, err := StartEmulator(Require(tb, EnvRIE), bootstrap, env)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(e.Stop)
	return e
}

// Emulator ports are taken from [portLow, portHigh): below the kernel's
// ephemeral range (32768 and up by default), where no port-0 listener nor
// outgoing connection lands, and below services.sh's (20000 and up). The
// emulator binds its runtime API only at the first invocation, so a port
// merely found free would be free for others too until then: each port is
// reserved, across processes, by a lock on a file of its own (in the user's
// highway-ports folder under the temporary folder), held until
// the emulator stops.
const (
	portLow  = 10000
	portHigh = 20000
)

// reservePort finds a loopback port nothing listens on and no other emulator
// holds, and holds it for e.
func (e *Emulator) reservePort() (int, error) {
	// The user's own folder: no one else's files decide which ports it may
	// take (another user's emulators still show as listening).
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("highway-ports-%d", os.Getuid()))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return 0, fmt.Errorf("reserve a port: %w", err)
	}
	for range 200 {
		port := portLow + rand.IntN(portHigh-portLow)
		f, err := os.OpenFile(filepath.Join(dir, strconv.Itoa(port)), os.O_CREATE|os.O_RDONLY, 0o600)
		if err != nil {
			return 0, fmt.Errorf("reserve a port: %w", err)
		}
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
			f.Close() // another emulator holds it
			continue
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			f.Close() // something else listens there
			continue
		}
		l.Close()
		e.ports = append(e.ports, f)
		return port, nil
	}
	return 0, errors.New("reserve a port: no free port found in 200 tries")
}

// release gives up e's ports: closing a file drops its lock.
func (e *Emulator) release() {
	for _, f := range e.ports {
		f.Close()
	}
	e.ports = nil
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
