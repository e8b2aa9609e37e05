package telemetrytest

import (
	"bytes"
	"net"
	"syscall"
	"testing"
	"time"
)

// Daemon is a UDP socket on loopback standing in for the X-Ray daemon: it
// holds the documents Highway's tracer sends, for a test to read.
type Daemon struct {
	conn *net.UDPConn
}

// NewDaemon listens on a free loopback port until the test ends.
func NewDaemon(tb testing.TB) *Daemon {
	tb.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close() })
	return &Daemon{conn: conn}
}

// Addr is the daemon's address, host:port, as AWS_XRAY_DAEMON_ADDRESS says it.
func (d *Daemon) Addr() string { return d.conn.LocalAddr().String() }

// daemonHeader is the line that precedes every document the daemon takes.
const daemonHeader = `{"format": "json", "version": 1}`

// Next waits for the next document and returns it without its header line,
// failing the test when the header line is missing or nothing comes within a
// minute.
func (d *Daemon) Next(tb testing.TB) []byte {
	tb.Helper()
	if err := d.conn.SetReadDeadline(time.Now().Add(time.Minute)); err != nil {
		tb.Fatal(err)
	}
	buf := make([]byte, 64<<10)
	n, err := d.conn.Read(buf)
	if err != nil {
		tb.Fatalf("no document reached the X-Ray daemon: %v", err)
	}
	return body(tb, buf[:n])
}

// Queued returns the documents already received, without waiting for more:
// what a finished call sent on loopback is queued by the time it returns.
func (d *Daemon) Queued(tb testing.TB) [][]byte {
	tb.Helper()
	raw, err := d.conn.SyscallConn()
	if err != nil {
		tb.Fatal(err)
	}
	var docs [][]byte
	buf := make([]byte, 64<<10)
	for {
		var n int
		var rerr error
		if err := raw.Read(func(fd uintptr) bool {
			n, _, rerr = syscall.Recvfrom(int(fd), buf, syscall.MSG_DONTWAIT)
			return true
		}); err != nil {
			tb.Fatal(err)
		}
		if rerr != nil {
			return docs
		}
		docs = append(docs, body(tb, buf[:n]))
	}
}

func body(tb testing.TB, datagram []byte) []byte {
	tb.Helper()
	head, doc, ok := bytes.Cut(datagram, []byte("\n"))
	if !ok || string(head) != daemonHeader {
		tb.Fatalf("document without the daemon's header line: %q", datagram)
	}
	return bytes.Clone(doc)
}

// Close stops the daemon: what is sent to it afterwards is refused.
func (d *Daemon) Close() { d.conn.Close() }
