//go:build linux

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"skbscope/scenario"
	"skbscope/stack/trace"
)

// The interop tests run the simulated stack live against the real
// kernel: the simulated host S (192.0.2.2, simMAC) is cabled through the
// bridge to tap0 (192.0.2.1) in a namespace of the test's own.

// simHost is a scenario with S on the bridge and the given programs
// (JSON), running until untilNs.
func simHost(programs string, untilNs int64) string {
	return fmt.Sprintf(`{"version": 1, "name": "interop", "until_ns": %d,
  "hosts": [{"name": "S",
    "nics": [{"name": "eth0", "mac": %q, "addr": "192.0.2.2/24", "mtu": 1500}],
    "programs": [%s]}],
  "links": [{"name": "tap0", "a": "S.eth0", "b": "bridge", "rate_bps": 1000000000, "delay_ns": 0}]}`,
		untilNs, simMAC.String(), programs)
}

// interop runs scenario live against a fresh namespace while kernelSide
// runs there; it returns the finished run. drop may discard frames the
// simulated host sends.
func interop(t *testing.T, sc string, drop func([]byte) bool, kernelSide func(n *testNetns)) *scenario.Runner {
	t.Helper()
	f, err := scenario.Parse([]byte(sc))
	if err != nil {
		t.Fatal(err)
	}
	r, err := scenario.NewRunner(f)
	if err != nil {
		t.Fatal(err)
	}
	n := newTestNetns(t)
	url := bridgeOn(t, n.openTAP(t))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := dialBridge(ctx, url, testToken, simMAC, 1500)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	done := make(chan error, 1)
	go func() { done <- runLive(ctx, r, c, drop) }()
	if kernelSide != nil {
		kernelSide(n)
	}
	if err := <-done; err != nil {
		t.Fatalf("live run: %v", err)
	}
	return r
}

// rets are the return values of fn on S, in order.
func rets(tr *trace.Trace, fn string) []string {
	var out []string
	for _, e := range tr.Events {
		if e.Host == "S" && e.Kind == trace.Ret && e.Fn == fn {
			out = append(out, e.Ret)
		}
	}
	return out
}

func count(tr *trace.Trace, kind trace.Kind, fn string) int {
	c := 0
	for _, e := range tr.Events {
		if e.Kind == kind && e.Fn == fn {
			c++
		}
	}
	return c
}

// pingScript sends count ICMP echo requests from the namespace and
// prints how many were answered (a raw socket: there is no ping(8) here).
const pingScript = `
import socket, struct, sys, time
dst, count = sys.argv[1], int(sys.argv[2])
def csum(b):
    s = sum(struct.unpack('!%dH' % (len(b)//2), b))
    s = (s >> 16) + (s & 0xffff); s += s >> 16
    return ~s & 0xffff
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
s.settimeout(2)
got = 0
for seq in range(1, count+1):
    body = struct.pack('!HH', 0x5b5b, seq) + b'skbscope-interop'
    hdr = struct.pack('!BBH', 8, 0, 0)
    pkt = struct.pack('!BBH', 8, 0, csum(hdr + body)) + body
    s.sendto(pkt, (dst, 0))
    while True:
        try:
            data, addr = s.recvfrom(2048)
        except socket.timeout:
            break
        icmp = data[(data[0] & 15) * 4:]
        if icmp[0] == 0 and icmp[4:8] == struct.pack('!HH', 0x5b5b, seq):
            got += 1
            break
    time.sleep(0.1)
print(got)
`

// TestInteropARPAndPing: S resolves and pings the kernel; then the
// kernel, its neighbour entry flushed, resolves and pings S.
func TestInteropARPAndPing(t *testing.T) {
	var kernelGot string
	r := interop(t, simHost(`{"name": "ping", "at_ns": 200000000, "steps": [
      {"op": "ping", "to": "192.0.2.1", "count": 2, "ns": 200000000}]}`, 2_500_000_000), nil, func(n *testNetns) {
		time.Sleep(1200 * time.Millisecond) // S has pinged by now
		n.exec(t, "ip", "neigh", "flush", "dev", "tap0")
		kernelGot = strings.TrimSpace(n.exec(t, "python3", "-c", pingScript, "192.0.2.2", "2"))
	})
	tr := r.Trace()
	if kernelGot != "2" {
		t.Errorf("the kernel's pings answered: %s of 2", kernelGot)
	}
	if got := count(tr, trace.Call, "arp_solicit"); got < 1 {
		t.Error("S never sent an ARP request")
	}
	if got := count(tr, trace.Call, "icmp_echo"); got != 2 {
		t.Errorf("S answered %d echo requests, want 2", got)
	}
	var replies int
	for _, ret := range rets(tr, "__sys_recvfrom") {
		if ret != "" && ret[0] != '-' {
			replies++
		}
	}
	if replies != 2 {
		t.Errorf("S's ping got %d replies, want 2 (recvfrom returned %v)", replies, rets(tr, "__sys_recvfrom"))
	}
	// The kernel asked for S's address after the flush: S answered from
	// arp_process, which it only reaches for a request.
	if got := count(tr, trace.Call, "arp_process"); got < 2 {
		t.Errorf("S processed %d ARP packets, want the kernel's reply and its request", got)
	}
}

const udpScript = `
import socket, sys
r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
r.bind(('192.0.2.1', 7001)); r.settimeout(5)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(b'from the kernel', ('192.0.2.2', 7000))
data, addr = r.recvfrom(2048)
print(data.decode(), addr[0], addr[1])
`

// TestInteropUDP: a datagram each way, bytes and addresses checked.
func TestInteropUDP(t *testing.T) {
	var kernelGot string
	r := interop(t, simHost(`{"name": "rx", "at_ns": 0, "steps": [
      {"op": "socket", "type": "udp", "as": "s"},
      {"op": "bind", "sock": "s", "addr": "0.0.0.0:7000"},
      {"op": "recvfrom", "sock": "s", "size": 2048},
      {"op": "sendto", "sock": "s", "to": "192.0.2.1:7001", "data": "from the simulation"}]}`, 3_000_000_000), nil, func(n *testNetns) {
		kernelGot = strings.TrimSpace(n.exec(t, "python3", "-c", udpScript))
	})
	if got := string(r.Received("S", "rx")); got != "from the kernel" {
		t.Errorf("S received %q", got)
	}
	if kernelGot != "from the simulation 192.0.2.2 7000" {
		t.Errorf("the kernel received %q", kernelGot)
	}
}

// httpGet is S's side of an HTTP/1.0 GET to the kernel's web server.
const httpGet = `{"name": "get", "at_ns": 1500000000, "steps": [
      {"op": "socket", "type": "tcp", "as": "s"},
      {"op": "connect", "sock": "s", "to": "192.0.2.1:8000"},
      {"op": "send", "sock": "s", "data": "GET /hello.txt HTTP/1.0\r\n\r\n"},
      {"op": "drain", "sock": "s", "size": 65536},
      {"op": "close", "sock": "s"}]}`

// webServer serves dir's files from the namespace on 192.0.2.1:8000 with
// python3 -m http.server until the test ends.
func webServer(t *testing.T, n *testNetns) string {
	dir := t.TempDir()
	body := strings.Repeat("Linux 6.12 answered the simulated TCP. ", 200) // several segments
	if err := os.WriteFile(filepath.Join(dir, "hello.txt"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("ip", "netns", "exec", n.name, "python3", "-m", "http.server", "8000", "--bind", "192.0.2.1", "--directory", dir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return body
}

// TestInteropTCPClient: S fetches a page from a real HTTP server.
func TestInteropTCPClient(t *testing.T) {
	var body string
	r := interop(t, simHost(httpGet, 6_000_000_000), nil, func(n *testNetns) { body = webServer(t, n) })
	got := string(r.Received("S", "get"))
	if !strings.HasPrefix(got, "HTTP/1.0 200 OK\r\n") || !strings.HasSuffix(got, "\r\n\r\n"+body) {
		t.Errorf("S received %d bytes: %.200q", len(got), got)
	}
}

// TestInteropRetransmission: the bridge loses S's request once; S sends
// it again (its loss probe fires before the RTO: tcp_send_loss_probe →
// __tcp_retransmit_skb) and the page still arrives.
func TestInteropRetransmission(t *testing.T) {
	var body string
	dropped := 0
	drop := func(f []byte) bool {
		// IPv4, TCP, to port 8000, carrying the GET.
		if dropped == 0 && len(f) > 54 && f[23] == 6 && strings.Contains(string(f[54:]), "GET /hello.txt") {
			dropped++
			return true
		}
		return false
	}
	r := interop(t, simHost(httpGet, 8_000_000_000), drop, func(n *testNetns) { body = webServer(t, n) })
	if dropped != 1 {
		t.Fatalf("dropped %d frames", dropped)
	}
	tr := r.Trace()
	if count(tr, trace.Call, "__tcp_retransmit_skb") < 1 {
		t.Error("no __tcp_retransmit_skb on S")
	}
	if got := string(r.Received("S", "get")); !strings.HasSuffix(got, body) {
		t.Errorf("after the loss S received %d bytes: %.200q", len(got), got)
	}
}

// TestInteropTCPServer: curl in the namespace fetches a page S serves.
func TestInteropTCPServer(t *testing.T) {
	const page = "hello from the simulated kernel\n"
	var out string
	r := interop(t, simHost(fmt.Sprintf(`{"name": "httpd", "at_ns": 0, "steps": [
      {"op": "socket", "type": "tcp", "as": "l"},
      {"op": "bind", "sock": "l", "addr": "0.0.0.0:80"},
      {"op": "listen", "sock": "l", "count": 8},
      {"op": "accept", "sock": "l", "as": "c"},
      {"op": "recv", "sock": "c", "size": 4096},
      {"op": "send", "sock": "c", "data": %q},
      {"op": "close", "sock": "c"}]}`, "HTTP/1.0 200 OK\r\nContent-Length: 32\r\n\r\n"+page), 4_000_000_000), nil, func(n *testNetns) {
		out = n.exec(t, "curl", "-sS", "--max-time", "3", "http://192.0.2.2/")
	})
	if out != page {
		t.Errorf("curl got %q", out)
	}
	if req := string(r.Received("S", "httpd")); !strings.HasPrefix(req, "GET / HTTP/1.1\r\nHost: 192.0.2.2\r\n") {
		t.Errorf("S received the request %q", req)
	}
}

// TestInteropRST: the kernel answers a SYN to a closed port with a RST,
// and S's connect fails with ECONNREFUSED.
func TestInteropRST(t *testing.T) {
	r := interop(t, simHost(`{"name": "c", "at_ns": 100000000, "steps": [
      {"op": "socket", "type": "tcp", "as": "s"},
      {"op": "connect", "sock": "s", "to": "192.0.2.1:9"}]}`, 1_500_000_000), nil, nil)
	if got := rets(r.Trace(), "__sys_connect"); !slices.Equal(got, []string{"-ECONNREFUSED"}) {
		t.Errorf("connect returned %v", got)
	}
}

// TestHeadlessClient: `server client` runs a scenario live through a
// bridge to the real kernel, reports what its program received, and
// writes a pcap of the bridge link that tshark reads cleanly.
func TestHeadlessClient(t *testing.T) {
	n := newTestNetns(t)
	url := bridgeOn(t, n.openTAP(t))
	dir := t.TempDir()
	file := filepath.Join(dir, "s.json")
	sc := simHost(`{"name": "rx", "at_ns": 0, "steps": [
      {"op": "socket", "type": "udp", "as": "s"},
      {"op": "bind", "sock": "s", "addr": "0.0.0.0:7000"},
      {"op": "recvfrom", "sock": "s", "size": 2048},
      {"op": "sendto", "sock": "s", "to": "192.0.2.1:7001", "data": "from the simulation"}]}`, 3_000_000_000)
	if err := os.WriteFile(file, []byte(sc), 0o644); err != nil {
		t.Fatal(err)
	}
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte(testToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	pcap := filepath.Join(dir, "bridge.pcap")
	var stdout, stderr strings.Builder
	code := make(chan int, 1)
	go func() {
		code <- run([]string{"client", "-bridge", url, "-token-file", tokenFile, "-scenario", file, "-pcap", pcap}, &stdout, &stderr)
	}()
	kernelGot := strings.TrimSpace(n.exec(t, "python3", "-c", udpScript))
	if c := <-code; c != 0 {
		t.Fatalf("exit %d: %s", c, stderr.String())
	}
	if kernelGot != "from the simulation 192.0.2.2 7000" {
		t.Errorf("the kernel received %q", kernelGot)
	}
	if !strings.Contains(stdout.String(), `S/rx received 15 bytes: "from the kernel"`) {
		t.Errorf("client said:\n%s", stdout.String())
	}
	out, err := exec.Command("tshark", "-r", pcap, "-o", "udp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE",
		"-Y", "_ws.expert.severity >= warning || udp.payload contains \"from the\"", "-T", "fields", "-e", "udp.payload").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	if lines := strings.Fields(string(out)); len(lines) != 2 {
		t.Errorf("tshark saw %d matching frames (want the two datagrams, no warnings): %s", len(lines), out)
	}
}
