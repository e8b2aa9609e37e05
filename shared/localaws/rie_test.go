package localaws

import "testing"

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
