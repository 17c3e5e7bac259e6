//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The real-kernel tests make their own network namespace with a TAP,
// tap0, at 192.0.2.1/24 (a documentation range: nothing leaves the
// namespace), and delete it at cleanup.

var netnsSeq atomic.Int32

// testNetns is a namespace holding tap0, up, with IPv6 off so that the
// kernel stays quiet unless spoken to.
type testNetns struct {
	name string
	mac  net.HardwareAddr // tap0's
}

func newTestNetns(tb testing.TB) *testNetns {
	tb.Helper()
	if os.Geteuid() != 0 {
		tb.Skip("skipping the real-kernel bridge test: it needs root to make a network namespace and a TAP device")
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		tb.Skipf("skipping the real-kernel bridge test: %v", err)
	}
	removeStaleNetns(tb)
	n := &testNetns{name: fmt.Sprintf("skbscope-test-%d-%d", os.Getpid(), netnsSeq.Add(1))}
	n.ip(tb, "netns", "add", n.name)
	tb.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", n.name).CombinedOutput(); err != nil {
			tb.Errorf("ip netns del %s: %v: %s", n.name, err, out)
		}
	})
	n.exec(tb, "ip", "tuntap", "add", "dev", "tap0", "mode", "tap", "user", "root")
	n.exec(tb, "sysctl", "-q", "-w", "net.ipv6.conf.tap0.disable_ipv6=1")
	n.exec(tb, "ip", "addr", "add", "192.0.2.1/24", "dev", "tap0")
	n.exec(tb, "ip", "link", "set", "tap0", "up")
	hw, err := net.ParseMAC(strings.TrimSpace(n.exec(tb, "cat", "/sys/class/net/tap0/address")))
	if err != nil {
		tb.Fatal(err)
	}
	n.mac = hw
	return n
}

// removeStaleNetns deletes the namespaces of test processes that were
// killed before their cleanup ran (named skbscope-test-PID-...).
func removeStaleNetns(tb testing.TB) {
	ents, _ := os.ReadDir("/var/run/netns")
	for _, e := range ents {
		rest, ok := strings.CutPrefix(e.Name(), "skbscope-test-")
		if !ok {
			continue
		}
		pid, _, _ := strings.Cut(rest, "-")
		if _, err := os.Stat("/proc/" + pid); err == nil || pid == "" {
			continue
		}
		if out, err := exec.Command("ip", "netns", "del", e.Name()).CombinedOutput(); err != nil {
			tb.Logf("removing stale namespace %s: %v: %s", e.Name(), err, out)
		}
	}
}

func (n *testNetns) ip(tb testing.TB, args ...string) string {
	tb.Helper()
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		tb.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// exec runs a command inside the namespace.
func (n *testNetns) exec(tb testing.TB, args ...string) string {
	tb.Helper()
	return n.ip(tb, append([]string{"netns", "exec", n.name}, args...)...)
}

// openTAP opens tap0 from inside the namespace: on a thread of its own
// that joins the namespace and is then thrown away (the goroutine ends
// still locked to it), so no other goroutine ever runs in the namespace.
func (n *testNetns) openTAP(tb testing.TB) *os.File {
	tb.Helper()
	type result struct {
		f   *os.File
		err error
	}
	ch := make(chan result)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		f, err := func() (*os.File, error) {
			ns, err := os.Open("/var/run/netns/" + n.name)
			if err != nil {
				return nil, err
			}
			defer ns.Close()
			if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET); err != nil {
				return nil, fmt.Errorf("setns: %w", err)
			}
			f, _, err := openTAP("tap0")
			return f, err
		}()
		ch <- result{f, err}
	}()
	r := <-ch
	if r.err != nil {
		tb.Fatal(r.err)
	}
	n.waitUp(tb)
	return r.f
}

// waitUp waits until tap0 is operationally up. Attaching gives the TAP
// its carrier, but the kernel's link watcher activates the qdisc up to a
// second later; until then what the kernel sends is dropped.
func (n *testNetns) waitUp(tb testing.TB) {
	tb.Helper()
	for range 300 {
		if strings.TrimSpace(n.exec(tb, "cat", "/sys/class/net/tap0/operstate")) == "up" {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	tb.Fatal("tap0 did not come up")
}

// bridgeOn serves a bridge on tap behind an httptest server and closes
// both at cleanup.
func bridgeOn(tb testing.TB, tap *os.File) string {
	tb.Helper()
	b, err := newBridge(tap, bridgeOptions{Token: testToken, Logf: tb.Logf})
	if err != nil {
		tb.Fatal(err)
	}
	srv := httptest.NewServer(b)
	tb.Cleanup(func() {
		srv.Close()
		b.Close()
	})
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/bridge"
}

var (
	simMAC = net.HardwareAddr{2, 0, 0, 0, 0, 2}
	simIP  = net.IPv4(192, 0, 2, 2).To4()
	kernIP = net.IPv4(192, 0, 2, 1).To4()
)

// arpRequest asks who has tpa, from simMAC/simIP.
func arpRequest(tpa net.IP) []byte {
	f := make([]byte, 42)
	copy(f, broadcast)
	copy(f[6:], simMAC)
	binary.BigEndian.PutUint16(f[12:], 0x0806)
	binary.BigEndian.PutUint16(f[14:], 1)      // Ethernet
	binary.BigEndian.PutUint16(f[16:], 0x0800) // IPv4
	f[18], f[19] = 6, 4
	binary.BigEndian.PutUint16(f[20:], 1) // request
	copy(f[22:], simMAC)
	copy(f[28:], simIP)
	copy(f[38:], tpa)
	return f
}

func TestBridgeRealKernelARP(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Cleanup(func() { noLeaks(t, before) }) // cleanups run last-first: this one after the bridge's
	n := newTestNetns(t)
	url := bridgeOn(t, n.openTAP(t))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := dialBridge(ctx, url, testToken, simMAC, 1500)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.WriteFrame(arpRequest(kernIP)); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		f, err := c.ReadFrame()
		if err != nil {
			t.Fatalf("waiting for the kernel's ARP reply: %v", err)
		}
		if len(f) < 42 || binary.BigEndian.Uint16(f[12:]) != 0x0806 || binary.BigEndian.Uint16(f[20:]) != 2 {
			continue
		}
		if !bytes.Equal(f[:6], simMAC) || !bytes.Equal(f[22:28], n.mac) || !bytes.Equal(f[28:32], kernIP) ||
			!bytes.Equal(f[32:38], simMAC) || !bytes.Equal(f[38:42], simIP) {
			t.Fatalf("ARP reply % x: want %s is-at %s, to %s", f, kernIP, n.mac, simMAC)
		}
		break
	}
}

// echoRequest is an ICMP echo request from the simulated host to the
// kernel, 98 bytes as ping sends by default.
func echoRequest(dst net.HardwareAddr, seq uint16) []byte {
	f := make([]byte, 14+20+8+56)
	copy(f, dst)
	copy(f[6:], simMAC)
	binary.BigEndian.PutUint16(f[12:], 0x0800)
	ip := f[14:34]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(len(f)-14))
	ip[8], ip[9] = 64, 1 // TTL, ICMP
	copy(ip[12:], simIP)
	copy(ip[16:], kernIP)
	binary.BigEndian.PutUint16(ip[10:], inetChecksum(ip))
	icmp := f[34:]
	icmp[0] = 8
	binary.BigEndian.PutUint16(icmp[4:], 0x5b5b)
	binary.BigEndian.PutUint16(icmp[6:], seq)
	binary.BigEndian.PutUint16(icmp[2:], inetChecksum(icmp))
	return f
}

func inetChecksum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return ^uint16(s)
}

// cpuTime is the CPU time this process has used, in ns.
func cpuTime() int64 {
	var ru unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

func isEchoReply(f []byte) bool {
	return len(f) >= 42 && binary.BigEndian.Uint16(f[12:]) == 0x0800 && f[23] == 1 && f[34] == 0
}

// BenchmarkBridge pings the kernel through its TAP, directly (raw) and
// through the WebSocket bridge (ws): one echo at a time (rtt: ns/op is
// the round trip) and bursts of 32 echoes (burst32: echo/s is the
// throughput). A TAP takes one frame per write; the WebSocket client
// sends a burst in one write.
func BenchmarkBridge(b *testing.B) {
	n := newTestNetns(b)
	// A permanent neighbour entry keeps ARP out of the loop.
	n.exec(b, "ip", "neigh", "replace", simIP.String(), "lladdr", simMAC.String(), "dev", "tap0", "nud", "permanent")
	type port struct {
		write func(...[]byte) error
		read  func() ([]byte, error)
	}
	raw := func(b *testing.B) port {
		tap := n.openTAP(b)
		b.Cleanup(func() { tap.Close() })
		buf := make([]byte, 65536)
		return port{
			write: func(fs ...[]byte) error {
				for _, f := range fs {
					if _, err := tap.Write(f); err != nil {
						return err
					}
				}
				return nil
			},
			read: func() ([]byte, error) {
				k, err := tap.Read(buf)
				return buf[:k], err
			},
		}
	}
	ws := func(b *testing.B) port {
		url := bridgeOn(b, n.openTAP(b))
		c, err := dialBridge(context.Background(), url, testToken, simMAC, 1500)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { c.Close() })
		return port{write: c.WriteFrames, read: c.ReadFrame}
	}
	run := func(open func(*testing.B) port, burst int) func(*testing.B) {
		return func(b *testing.B) {
			p := open(b)
			req := echoRequest(n.mac, 0)
			// Warm up: the first echo proves the path.
			if err := p.write(req); err != nil {
				b.Fatal(err)
			}
			for f, err := p.read(); !isEchoReply(f); f, err = p.read() {
				if err != nil {
					b.Fatal(err)
				}
			}
			reqs := make([][]byte, burst)
			for i := range reqs {
				reqs[i] = req
			}
			cpu0 := cpuTime()
			b.ResetTimer()
			for done := 0; done < b.N; {
				k := min(burst, b.N-done)
				if err := p.write(reqs[:k]...); err != nil {
					b.Fatal(err)
				}
				for got := 0; got < k; {
					f, err := p.read()
					if err != nil {
						b.Fatal(err)
					}
					if isEchoReply(f) {
						got++
					}
				}
				done += k
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "echo/s")
			// CPU time (user and system, the kernel's ICMP work included)
			// is steadier than wall time on a shared machine.
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/echo")
		}
	}
	b.Run("raw/rtt", run(raw, 1))
	b.Run("ws/rtt", run(ws, 1))
	b.Run("raw/burst32", run(raw, 32))
	b.Run("ws/burst32", run(ws, 32))
}
