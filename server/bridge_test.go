package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/sys/unix"
)

const testToken = "test-token"

// seqpacketPair stands in for a TAP: a SOCK_SEQPACKET socket pair keeps
// frame boundaries as a TAP does. The first end goes to the bridge, the
// second plays the kernel.
func seqpacketPair(t testing.TB) (*os.File, *os.File) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	return os.NewFile(uintptr(fds[0]), "fake-tap"), os.NewFile(uintptr(fds[1]), "fake-kernel")
}

// bridgeHarness is a bridge on a fake TAP behind an httptest server.
type bridgeHarness struct {
	b      *bridge
	srv    *httptest.Server
	kernel *os.File
	url    string
}

// newHarness starts a bridge and checks, at cleanup, that closing it
// leaves no goroutine behind.
func newHarness(t *testing.T, opt bridgeOptions) *bridgeHarness {
	t.Helper()
	before := runtime.NumGoroutine()
	tap, kernel := seqpacketPair(t)
	if opt.Token == "" {
		opt.Token = testToken
	}
	opt.Logf = t.Logf
	b, err := newBridge(tap, opt)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(withBridge(http.NotFoundHandler(), b))
	h := &bridgeHarness{b: b, srv: srv, kernel: kernel, url: "ws" + strings.TrimPrefix(srv.URL, "http") + "/bridge"}
	t.Cleanup(func() {
		srv.Close()
		b.Close()
		kernel.Close()
		noLeaks(t, before)
	})
	return h
}

// noLeaks waits for the goroutine count to fall back to before.
func noLeaks(t testing.TB, before int) {
	t.Helper()
	var n int
	for range 200 {
		if n = runtime.NumGoroutine(); n <= before {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	buf := make([]byte, 1<<20)
	t.Errorf("goroutines: %d before, %d after\n%s", before, n, buf[:runtime.Stack(buf, true)])
}

func (h *bridgeHarness) dialRaw(t *testing.T, hdr http.Header, query string) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	ws, resp, err := websocket.DefaultDialer.Dial(h.url+query, hdr)
	if err == nil {
		t.Cleanup(func() { ws.Close() })
	}
	return ws, resp, err
}

func bearer(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }

// dial connects a client that said hello with MAC 02:00:00:00:00:nn.
func (h *bridgeHarness) dial(t *testing.T, nn byte) *bridgeConn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := dialBridge(ctx, h.url, testToken, testMAC(nn), 1500)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func testMAC(nn byte) net.HardwareAddr { return net.HardwareAddr{2, 0, 0, 0, 0, nn} }

var broadcast = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// ethFrame is a frame of n bytes (at least 14) with a made-up EtherType.
func ethFrame(dst, src net.HardwareAddr, n int) []byte {
	f := make([]byte, n)
	copy(f, dst)
	copy(f[6:], src)
	f[12], f[13] = 0x88, 0xb5 // local experimental EtherType
	return f
}

// readKernel returns the next frame the bridge wrote to the fake TAP.
func (h *bridgeHarness) readKernel(t *testing.T, wait time.Duration) ([]byte, error) {
	t.Helper()
	h.kernel.SetReadDeadline(time.Now().Add(wait))
	buf := make([]byte, 65536)
	n, err := h.kernel.Read(buf)
	return buf[:n], err
}

// readFrame is the next frame for c, within a second.
func readFrame(t *testing.T, c *bridgeConn) []byte {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(time.Second))
	f, err := c.ReadFrame()
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// stats asks c's bridge for its counters; frames before them are lost.
func stats(t *testing.T, c *bridgeConn) *bridgeMsg {
	t.Helper()
	if err := c.RequestStats(0); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, m, err := c.Read()
		if err != nil {
			t.Fatal(err)
		}
		if m != nil && m.Type == "stats" {
			return m
		}
	}
}

// expectViolation reads until the server's error message and close frame.
func expectViolation(t *testing.T, ws *websocket.Conn, wantErr string, wantCode int) {
	t.Helper()
	ws.SetReadDeadline(time.Now().Add(2 * time.Second))
	var got string
	for {
		typ, p, err := ws.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != wantCode {
				t.Fatalf("closed with %v, want code %d", err, wantCode)
			}
			break
		}
		var m bridgeMsg
		if typ == websocket.TextMessage && json.Unmarshal(p, &m) == nil && m.Type == "error" {
			got = m.Error
		}
	}
	if !strings.Contains(got, wantErr) {
		t.Errorf("error message %q, want one containing %q", got, wantErr)
	}
}

func TestBridgeOffWithoutTAP(t *testing.T) {
	srv := httptest.NewServer(withBridge(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("site"))
	}), nil))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/bridge")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("/bridge without -tap: %s, want 404", resp.Status)
	}
}

func TestBridgeAdmission(t *testing.T) {
	h := newHarness(t, bridgeOptions{AllowOrigins: []string{"https://Lessons.example.org/"}})
	host := strings.TrimPrefix(h.srv.URL, "http://")
	for _, tc := range []struct {
		name   string
		hdr    http.Header
		query  string
		status int
	}{
		{"no token", nil, "", http.StatusUnauthorized},
		{"wrong token", bearer("nope"), "", http.StatusUnauthorized},
		{"token prefix", bearer(testToken[:4]), "", http.StatusUnauthorized},
		{"wrong query token", nil, "?token=nope", http.StatusUnauthorized},
		{"other origin", http.Header{"Authorization": {"Bearer " + testToken}, "Origin": {"https://evil.example"}}, "", http.StatusForbidden},
		{"other origin, no token", http.Header{"Origin": {"https://evil.example"}}, "", http.StatusForbidden},
		{"bearer", bearer(testToken), "", http.StatusSwitchingProtocols},
		{"query token", nil, "?token=" + testToken, http.StatusSwitchingProtocols},
		{"same origin", http.Header{"Origin": {"http://" + host}}, "?token=" + testToken, http.StatusSwitchingProtocols},
		{"allowed origin", http.Header{"Origin": {"https://lessons.example.org"}}, "?token=" + testToken, http.StatusSwitchingProtocols},
	} {
		ws, resp, err := h.dialRaw(t, tc.hdr, tc.query)
		if resp == nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if resp.StatusCode != tc.status {
			t.Errorf("%s: %s, want %d", tc.name, resp.Status, tc.status)
		}
		if ws != nil {
			ws.Close()
		}
	}
}

func TestBridgeViolations(t *testing.T) {
	h := newHarness(t, bridgeOptions{MTU: 1500})
	for _, tc := range []struct {
		name    string
		typ     int
		msg     []byte
		wantErr string
		code    int
	}{
		{"oversized frame", websocket.BinaryMessage, ethFrame(broadcast, testMAC(1), 1515), "longer than 1514", websocket.CloseMessageTooBig},
		{"huge frame", websocket.BinaryMessage, ethFrame(broadcast, testMAC(1), 1<<20), "longer than 1514", websocket.CloseMessageTooBig},
		{"empty frame", websocket.BinaryMessage, nil, "frame of 0 bytes", websocket.ClosePolicyViolation},
		{"runt frame", websocket.BinaryMessage, []byte{1, 2, 3}, "frame of 3 bytes", websocket.ClosePolicyViolation},
		{"empty text", websocket.TextMessage, nil, "bad control message", websocket.CloseUnsupportedData},
		{"huge text", websocket.TextMessage, bytes.Repeat([]byte(" "), 5000), "longer than 1024", websocket.CloseMessageTooBig},
		{"unknown type", websocket.TextMessage, []byte(`{"type":"teleport"}`), "unknown message type", websocket.ClosePolicyViolation},
		{"multicast mac", websocket.TextMessage, []byte(`{"type":"hello","mac":"03:00:00:00:00:01"}`), "not a unicast", websocket.ClosePolicyViolation},
		{"bad mac", websocket.TextMessage, []byte(`{"type":"hello","mac":"02:00"}`), "bad mac", websocket.ClosePolicyViolation},
		{"stats before hello", websocket.TextMessage, []byte(`{"type":"stats"}`), "hello first", websocket.ClosePolicyViolation},
	} {
		ws, _, err := h.dialRaw(t, bearer(testToken), "")
		if err != nil {
			t.Fatal(err)
		}
		if err := ws.WriteMessage(tc.typ, tc.msg); err != nil {
			t.Fatal(err)
		}
		t.Run(tc.name, func(t *testing.T) { expectViolation(t, ws, tc.wantErr, tc.code) })
	}
	// A MAC belongs to one client at a time, and to one client once.
	c := h.dial(t, 1)
	ws, _, err := h.dialRaw(t, bearer(testToken), "")
	if err != nil {
		t.Fatal(err)
	}
	ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"hello","mac":"02:00:00:00:00:01"}`))
	expectViolation(t, ws, "in use", websocket.ClosePolicyViolation)
	c.ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"hello","mac":"02:00:00:00:00:09"}`))
	expectViolation(t, c.ws, "hello twice", websocket.ClosePolicyViolation)
	if n := h.b.counts().TAPTx; n != 0 {
		t.Errorf("%d frames reached the TAP from violators", n)
	}
}

func TestBridgeSpoofedMAC(t *testing.T) {
	h := newHarness(t, bridgeOptions{})
	c := h.dial(t, 1)
	c.WriteFrame(ethFrame(broadcast, testMAC(66), 60))
	good := ethFrame(broadcast, testMAC(1), 60)
	good[20] = 1
	c.WriteFrame(good)
	f, err := h.readKernel(t, time.Second)
	if err != nil || !bytes.Equal(f, good) {
		t.Fatalf("TAP read %x, %v; want the genuine frame first", f, err)
	}
	if s := stats(t, c); s.Client.DropSpoof != 1 || s.Client.InFrames != 1 || s.Bridge.TAPTx != 1 {
		t.Errorf("stats %+v %+v: want one spoofed frame dropped, one passed", *s.Client, *s.Bridge)
	}
}

// A v86 relay client sends no hello: its first frame's source pins it.
func TestBridgeImplicitHello(t *testing.T) {
	h := newHarness(t, bridgeOptions{})
	ws, _, err := h.dialRaw(t, bearer(testToken), "")
	if err != nil {
		t.Fatal(err)
	}
	f := ethFrame(broadcast, testMAC(7), 60)
	ws.WriteMessage(websocket.BinaryMessage, f)
	if got, err := h.readKernel(t, time.Second); err != nil || !bytes.Equal(got, f) {
		t.Fatalf("TAP read %x, %v", got, err)
	}
	back := ethFrame(testMAC(7), testMAC(200), 60)
	h.kernel.Write(back)
	ws.SetReadDeadline(time.Now().Add(time.Second))
	typ, got, err := ws.ReadMessage()
	if err != nil || typ != websocket.BinaryMessage || !bytes.Equal(got, back) {
		t.Fatalf("client read %d %x %v, want the kernel's frame and no control", typ, got, err)
	}
}

// heapInUse is the live heap after a full collection.
func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

func TestBridgeFloodFromClient(t *testing.T) {
	h := newHarness(t, bridgeOptions{Rate: 1000, Burst: 50})
	var got int
	done := make(chan struct{})
	go func() { // the kernel side takes whatever comes
		defer close(done)
		buf := make([]byte, 2048)
		for {
			h.kernel.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
			if _, err := h.kernel.Read(buf); err != nil {
				return
			}
			got++
		}
	}()
	c := h.dial(t, 1)
	before := heapInUse()
	const n = 10000 // 15 MB at line rate
	start := time.Now()
	f := ethFrame(broadcast, testMAC(1), 1514)
	for range n {
		if err := c.WriteFrame(f); err != nil {
			t.Fatal(err)
		}
	}
	s := stats(t, c)
	elapsed := time.Since(start)
	after := heapInUse()
	<-done
	limit := 50 + int(1000*elapsed.Seconds()) + 10
	if got > limit || got == 0 {
		t.Errorf("%d frames reached the TAP in %v; the limit allows %d", got, elapsed, limit)
	}
	if int(s.Client.DropRate)+int(s.Client.InFrames) != n || s.Client.DropRate == 0 {
		t.Errorf("stats %+v: want %d frames, the excess counted as drop_rate", *s.Client, n)
	}
	if after > before+4<<20 {
		t.Errorf("heap grew from %d to %d bytes over a flood", before, after)
	}
}

func TestBridgeSlowClient(t *testing.T) {
	h := newHarness(t, bridgeOptions{QueueLen: 64})
	ws, _, err := h.dialRaw(t, bearer(testToken), "") // says hello, then never reads
	if err != nil {
		t.Fatal(err)
	}
	ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"hello","mac":"02:00:00:00:00:01"}`))
	fast := h.dial(t, 2)
	before := heapInUse()
	const n = 20000
	f := ethFrame(broadcast, testMAC(200), 1514)
	for range n {
		if _, err := h.kernel.Write(f); err != nil {
			t.Fatal(err)
		}
	}
	// The TAP reader went on: a frame for the fast client still gets there.
	// The fast client's queue may have overflowed too, so the marker is
	// sent until it gets through.
	marker := ethFrame(testMAC(2), testMAC(200), 100)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			h.kernel.Write(marker)
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	fast.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		got, err := fast.ReadFrame()
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(got, marker) {
			break
		}
	}
	after := heapInUse()
	if after > before+4<<20 {
		t.Errorf("heap grew from %d to %d bytes behind a slow client", before, after)
	}
	h.b.mu.RLock()
	slow := h.b.byMAC[mac(testMAC(1))]
	h.b.mu.RUnlock()
	if slow == nil {
		t.Fatal("slow client gone")
	}
	// One frame may be in the writer's hands, neither queued nor sent.
	if s := slow.cnt.snapshot(); s.DropQueue == 0 || s.OutFrames+s.DropQueue+uint64(len(slow.out)) < n-1 {
		t.Errorf("slow client %+v: want the frames it could not take counted in drop_queue", *s)
	}
}

func TestBridgeHundredClients(t *testing.T) {
	h := newHarness(t, bridgeOptions{})
	cs := make([]*bridgeConn, 100)
	for i := range cs {
		cs[i] = h.dial(t, byte(i+1))
	}
	f := ethFrame(broadcast, testMAC(200), 60)
	h.kernel.Write(f)
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Go(func() {
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if got, err := c.ReadFrame(); err != nil || !bytes.Equal(got, f) {
				t.Errorf("client %d: %x %v", i, got, err)
			}
		})
	}
	wg.Wait()
	// Unicast from the TAP reaches its owner alone.
	u := ethFrame(testMAC(50), testMAC(200), 60)
	h.kernel.Write(u)
	if got := readFrame(t, cs[49]); !bytes.Equal(got, u) {
		t.Errorf("owner got %x", got)
	}
	if s := stats(t, cs[0]); s.Client.OutFrames != 1 || s.Bridge.Clients != 100 {
		t.Errorf("client 1: %+v %+v: want only the broadcast, 100 clients", *s.Client, *s.Bridge)
	}
}

func TestBridgeSwitching(t *testing.T) {
	h := newHarness(t, bridgeOptions{})
	a, b, c := h.dial(t, 1), h.dial(t, 2), h.dial(t, 3)
	// Unicast to a client goes to it alone, not to the TAP.
	ab := ethFrame(testMAC(2), testMAC(1), 60)
	a.WriteFrame(ab)
	if got := readFrame(t, b); !bytes.Equal(got, ab) {
		t.Fatalf("b got %x", got)
	}
	// Broadcast goes to the TAP and every other client.
	bc := ethFrame(broadcast, testMAC(1), 60)
	a.WriteFrame(bc)
	if got := readFrame(t, b); !bytes.Equal(got, bc) {
		t.Fatalf("b got %x", got)
	}
	if got := readFrame(t, c); !bytes.Equal(got, bc) {
		t.Fatalf("c got %x", got)
	}
	if got, err := h.readKernel(t, time.Second); !bytes.Equal(got, bc) {
		t.Fatalf("TAP got %x %v, want the broadcast (and not the unicast to b)", got, err)
	}
	// Once the kernel's MAC is learned, unicast to it goes to the TAP alone.
	h.kernel.Write(ethFrame(broadcast, testMAC(200), 60))
	for _, x := range []*bridgeConn{a, b, c} {
		readFrame(t, x)
	}
	ak := ethFrame(testMAC(200), testMAC(1), 60)
	a.WriteFrame(ak)
	if got, err := h.readKernel(t, time.Second); !bytes.Equal(got, ak) {
		t.Fatalf("TAP got %x %v", got, err)
	}
	if s := stats(t, c); s.Client.OutFrames != 2 {
		t.Errorf("c saw %d frames, want the two broadcasts", s.Client.OutFrames)
	}
}

func TestBridgeIsolate(t *testing.T) {
	h := newHarness(t, bridgeOptions{Isolate: true})
	a, b := h.dial(t, 1), h.dial(t, 2)
	for _, f := range [][]byte{ethFrame(testMAC(2), testMAC(1), 60), ethFrame(broadcast, testMAC(1), 61)} {
		a.WriteFrame(f)
		if got, err := h.readKernel(t, time.Second); !bytes.Equal(got, f) {
			t.Fatalf("TAP got %x %v", got, err)
		}
	}
	if s := stats(t, b); s.Client.OutFrames != 0 {
		t.Errorf("isolated b received %d frames from a", s.Client.OutFrames)
	}
	// The kernel still reaches both.
	bc := ethFrame(broadcast, testMAC(200), 60)
	h.kernel.Write(bc)
	for _, x := range []*bridgeConn{a, b} {
		if got := readFrame(t, x); !bytes.Equal(got, bc) {
			t.Errorf("got %x", got)
		}
	}
}

func TestBridgePingAndClose(t *testing.T) {
	h := newHarness(t, bridgeOptions{PingEvery: 30 * time.Millisecond, PongWait: 100 * time.Millisecond})
	// A client that reads answers pings and stays.
	c := h.dial(t, 1)
	go func() {
		for {
			if _, err := c.ReadFrame(); err != nil {
				return
			}
		}
	}()
	// A client that never reads (so never answers a ping) is dropped.
	ws, _, err := h.dialRaw(t, bearer(testToken), "")
	if err != nil {
		t.Fatal(err)
	}
	ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"hello","mac":"02:00:00:00:00:02"}`))
	deadline := time.Now().Add(3 * time.Second)
	for h.b.counts().Clients != 1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := h.b.counts().Clients; n != 1 {
		t.Fatalf("%d clients, want the silent one dropped", n)
	}
	// A clean close is answered with a close frame.
	raw, _, err := h.dialRaw(t, bearer(testToken), "")
	if err != nil {
		t.Fatal(err)
	}
	raw.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "bye"), time.Now().Add(time.Second))
	raw.SetReadDeadline(time.Now().Add(time.Second))
	if _, _, err := raw.ReadMessage(); !websocket.IsCloseError(err, websocket.CloseNormalClosure) {
		t.Errorf("after our close: %v, want the server's normal close", err)
	}
	// Periodic stats arrive on request.
	c2 := h.dial(t, 3)
	c2.RequestStats(100 * time.Millisecond)
	c2.SetReadDeadline(time.Now().Add(time.Second))
	var n int
	for n < 3 {
		typ, p, err := c2.ws.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		if typ == websocket.TextMessage && strings.Contains(string(p), `"stats"`) {
			n++
		}
	}
}

// Closing the bridge sends every client an error and a close frame.
func TestBridgeClose(t *testing.T) {
	h := newHarness(t, bridgeOptions{})
	c := h.dial(t, 1)
	go h.b.Close()
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := c.ReadFrame(); err == nil || !strings.Contains(err.Error(), "bridge closed") {
		t.Errorf("read after Close: %v", err)
	}
}

func TestBridgeFlags(t *testing.T) {
	parse := func(args ...string) *bridgeFlags {
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		f := addBridgeFlags(fs)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		return f
	}
	if b, _, _, err := parse().open(); b != nil || err != nil {
		t.Errorf("without -tap: %v %v, want no bridge and no error", b, err)
	}
	empty := filepath.Join(t.TempDir(), "token")
	os.WriteFile(empty, []byte("\n"), 0o600)
	if _, _, _, err := parse("-tap", "tap0", "-token-file", empty).open(); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("empty token file: %v", err)
	}
	t.Setenv("SKBSCOPE_BRIDGE_TOKEN", "from-env")
	_, _, _, err := parse("-tap", "skbscope-no-such-tap").open()
	if err == nil || !strings.Contains(err.Error(), "ip tuntap add dev skbscope-no-such-tap mode tap user") {
		t.Errorf("missing TAP: %v, want advice on making it", err)
	}
	var out bytes.Buffer
	f := parse("-tap", "tap0", "-allow-origin", "https://a.example", "-allow-origin", "https://b.example")
	f.announce(&out, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}, "secret", false)
	if strings.Contains(out.String(), "secret") || !strings.Contains(out.String(), "$SKBSCOPE_BRIDGE_TOKEN") || len(f.origins) != 2 {
		t.Errorf("announce %q, origins %q: a given token must not be printed", out.String(), f.origins)
	}
}

// TestBridgeTAPOrder: frames from the TAP reach a client in the order the
// kernel sent them, whichever path each took (queued for the writer, or
// sent at once by the reader of the client whose frame the kernel was
// answering), and a long frame arrives whole.
func TestBridgeTAPOrder(t *testing.T) {
	h := newHarness(t, bridgeOptions{QueueLen: 4096})
	c := h.dial(t, 1)
	const n = 3000
	seqFrame := func(seq int, size int) []byte {
		f := ethFrame(testMAC(1), testMAC(200), size)
		binary.BigEndian.PutUint32(f[14:], uint32(seq))
		return f
	}
	// The kernel sends a stream of frames and takes the client's
	// requests in between: one writer, so seq is the TAP's order, while
	// the client's reader polls the TAP after each burst it sends.
	go func() {
		buf := make([]byte, 2048)
		for seq := 0; seq < n; seq++ {
			size := 60
			if seq%7 == 0 {
				size = 1514
			}
			h.kernel.Write(seqFrame(seq, size))
			if seq%4 == 0 {
				for {
					h.kernel.SetReadDeadline(time.Now())
					if _, err := h.kernel.Read(buf); err != nil {
						break
					}
				}
			}
		}
	}()
	go func() {
		req := ethFrame(testMAC(200), testMAC(1), 60)
		for range n {
			if c.WriteFrames(req, req, req, req) != nil {
				return
			}
			time.Sleep(20 * time.Microsecond)
		}
	}()
	last, got := -1, 0
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	for last < n-1 {
		f, err := c.ReadFrame()
		if err != nil {
			t.Fatalf("after %d frames (last seq %d): %v", got, last, err)
		}
		seq := int(binary.BigEndian.Uint32(f[14:]))
		if seq <= last {
			t.Fatalf("frame %d after frame %d", seq, last)
		}
		if want := seqFrame(seq, len(f)); !bytes.Equal(f, want) || len(f) != 60 && len(f) != 1514 {
			t.Fatalf("frame %d garbled (%d bytes)", seq, len(f))
		}
		last = seq
		got++
	}
	if got < n/2 {
		t.Errorf("only %d of %d frames arrived", got, n)
	}
}

func TestAppendBinaryMessage(t *testing.T) {
	for _, n := range []int{0, 125, 126, 65535, 65536} {
		p := make([]byte, n)
		m := appendBinaryMessage(nil, p)
		var hdr []byte
		switch {
		case n < 126:
			hdr = []byte{0x82, byte(n)}
		case n < 65536:
			hdr = []byte{0x82, 126, byte(n >> 8), byte(n)}
		default:
			hdr = append([]byte{0x82, 127}, binary.BigEndian.AppendUint64(nil, uint64(n))...)
		}
		if !bytes.Equal(m[:len(hdr)], hdr) || len(m) != len(hdr)+n {
			t.Errorf("%d bytes: header % x, length %d", n, m[:min(len(m), 10)], len(m))
		}
	}
}

// TestBridgeTAPGone: when the TAP's other end goes away, the bridge
// says so to its clients and stops, rather than spinning on reads.
func TestBridgeTAPGone(t *testing.T) {
	h := newHarness(t, bridgeOptions{})
	c := h.dial(t, 1)
	h.kernel.Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, _, err := c.Read()
		if err == nil {
			continue
		}
		if !strings.Contains(err.Error(), "TAP device failed") {
			t.Errorf("the client was told %v", err)
		}
		break
	}
	h.b.mu.RLock()
	closed := h.b.closed
	h.b.mu.RUnlock()
	if !closed {
		t.Error("the bridge still runs without its TAP")
	}
}
