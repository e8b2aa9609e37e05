package localaws

import (
	"strings"
	"testing"
)

// TestReservedPortsAreNotGivenTwice reserves many ports for two emulators:
// chosen at random from 10,000, 300 each would share about nine if nothing
// held them; no port may be given to both, and a released one can be given
// again.
func TestReservedPortsAreNotGivenTwice(t *testing.T) {
	a, b := &Emulator{}, &Emulator{}
	held := map[int]bool{}
	for range 300 {
		p, err := a.reservePort()
		if err != nil {
			t.Fatal(err)
		}
		held[p] = true
	}
	defer a.release()
	for range 300 {
		p, err := b.reservePort()
		if err != nil {
			t.Fatal(err)
		}
		if held[p] {
			t.Fatalf("port %d given to both emulators", p)
		}
	}
	b.release()
	if len(b.ports) != 0 {
		t.Errorf("release kept %d reservations", len(b.ports))
	}
}

func TestFunctionsGetNoneOfTheMachinesAWSVariables(t *testing.T) {
	t.Setenv("AWS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
	t.Setenv("AWS_PROFILE", "admin")
	t.Setenv("HIGHWAY_KEEP", "1")
	env := strings.Join(hostEnv(), "\n")
	for _, gone := range []string{"AWS_CA_BUNDLE=", "AWS_PROFILE="} {
		if strings.Contains(env, gone) {
			t.Errorf("the emulator's environment keeps %s", gone)
		}
	}
	if !strings.Contains(env, "AWS_CONFIG_FILE=/dev/null/none") || !strings.Contains(env, "AWS_SHARED_CREDENTIALS_FILE=/dev/null/none") {
		t.Errorf("the emulator's environment leaves the SDK the machine's ~/.aws:\n%s", env)
	}
	if !strings.Contains(env, "HIGHWAY_KEEP=1") || !strings.Contains(env, "PATH=") {
		t.Errorf("the emulator's environment lost what is not AWS's:\n%s", env)
	}
}
