package web

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"skbscope/scenario"
	"skbscope/scenario/live"
)

// fakeConn fails its reads when told to.
type fakeConn struct {
	fail   chan error
	closed chan struct{}
	once   sync.Once
}

func newFakeConn() *fakeConn {
	return &fakeConn{fail: make(chan error, 1), closed: make(chan struct{})}
}

func (c *fakeConn) ReadFrame() ([]byte, error) {
	select {
	case err := <-c.fail:
		return nil, err
	case <-c.closed:
		return nil, errors.New("closed")
	}
}
func (c *fakeConn) WriteFrames(...[]byte) error { return nil }
func (c *fakeConn) Close() error                { c.once.Do(func() { close(c.closed) }); return nil }

// TestKeepLinked: a failed dial and a dropped connection are both
// retried after a backoff, the states are reported in order, and the end
// closes the connection held.
func TestKeepLinked(t *testing.T) {
	f, err := liveScenario(liveConfig{Addr: "192.0.2.2/24", MAC: "02:00:00:00:00:09"})
	if err != nil {
		t.Fatal(err)
	}
	r, err := scenario.NewRunner(f)
	if err != nil {
		t.Fatal(err)
	}
	s := live.New(r)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Run(ctx)

	conns := make(chan *fakeConn, 4)
	dials := 0
	dial := func(ctx context.Context, cfg liveConfig) (liveConn, error) {
		dials++
		if dials == 1 {
			return nil, errors.New("refused")
		}
		c := newFakeConn()
		conns <- c
		return c, nil
	}
	states := make(chan linkState, 32)
	done := make(chan struct{})
	go func() {
		keepLinked(ctx, s, liveConfig{}, dial, func(st linkState) { states <- st })
		close(done)
	}()
	next := func(want string) linkState {
		t.Helper()
		select {
		case st := <-states:
			if st.State != want {
				t.Fatalf("state %+v, want %s", st, want)
			}
			return st
		case <-time.After(5 * time.Second):
			t.Fatalf("no state %s", want)
		}
		return linkState{}
	}
	next(linkConnecting)
	if st := next(linkRetrying); st.Err != "refused" || st.RetryIn != backoffStart {
		t.Errorf("after a refused dial: %+v", st)
	}
	next(linkConnecting)
	next(linkUp)
	c1 := <-conns
	c1.fail <- errors.New("reset by peer")
	if st := next(linkRetrying); st.Err != "reset by peer" || st.Drops != 1 || st.RetryIn != backoffStart {
		t.Errorf("after a drop: %+v (the backoff restarts once a connection held)", st)
	}
	select {
	case <-c1.closed:
	case <-time.After(time.Second):
		t.Error("the dropped connection was not closed")
	}
	next(linkConnecting)
	next(linkUp)
	c2 := <-conns
	cancel()
	if st := next(linkClosed); st.Drops != 1 {
		t.Errorf("closed with %+v", st)
	}
	<-done
	select {
	case <-c2.closed:
	default:
		t.Error("the end left the connection open")
	}
}

// Every op's program is a valid program for the live host, and a bad
// target or port is refused before it reaches the run.
func TestOpPrograms(t *testing.T) {
	f, err := liveScenario(liveConfig{Addr: "192.0.2.2/24", MAC: randomMAC()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := liveScenario(liveConfig{Addr: "192.0.2.2", MAC: randomMAC()}); err == nil {
		t.Error("an address without a prefix length accepted")
	}
	r, err := scenario.NewRunner(f)
	if err != nil {
		t.Fatal(err)
	}
	for i, kind := range []string{opPing, opUDP, opTCP, opHTTP} {
		p, err := opProgram(kind, kind+"-"+string(rune('1'+i)), "192.0.2.1", 8000, "hi")
		if err != nil {
			t.Fatal(err)
		}
		if err := r.AddProgram(liveHost, p); err != nil {
			t.Errorf("%s: %v", kind, err)
		}
	}
	for _, bad := range []struct {
		kind, to string
		port     int
	}{{opPing, "example.org", 0}, {opUDP, "192.0.2.1", 0}, {opHTTP, "192.0.2.1", 70000}, {"telnet", "192.0.2.1", 23}} {
		if _, err := opProgram(bad.kind, "x", bad.to, bad.port, ""); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

func TestLiveURLs(t *testing.T) {
	cfg, connect, ok := liveFragment("#live&token=s3cret&addr=192.0.2.7%2F24")
	if !ok || !connect || cfg.Token != "s3cret" || cfg.Addr != "192.0.2.7/24" {
		t.Errorf("fragment: %+v %v %v", cfg, connect, ok)
	}
	if _, connect, ok := liveFragment("#token=x"); connect || !ok {
		t.Error("a token alone should fill the form, not connect")
	}
	if _, _, ok := liveFragment(""); ok {
		t.Error("an empty fragment asks for live mode")
	}
	page, _ := url.Parse("https://example.org:8443/?lesson=x")
	if got := bridgeURL(page); got != "wss://example.org:8443/bridge" {
		t.Errorf("bridge URL %s", got)
	}
	if got, err := withToken("ws://127.0.0.1:8080/bridge", "a b&c"); err != nil || got != "ws://127.0.0.1:8080/bridge?token=a+b%26c" {
		t.Errorf("withToken: %s %v", got, err)
	}
	if _, err := withToken("http://127.0.0.1:8080/bridge", "t"); err == nil {
		t.Error("an http:// bridge URL accepted")
	}
}

// The panel in each language: the form, then a running link with its
// ops and results.
func TestLivePanel(t *testing.T) {
	reply := []byte{0, 0, 0, 0, 0, 1, 0, 3}
	for _, l := range langs {
		s := &Scope{v: view{Lang: l}}
		s.live.open = true
		s.live.form = liveConfig{URL: "ws://127.0.0.1:8080/bridge", Addr: "192.0.2.2/24"}
		html := app.HTMLString(s.livePanel())
		if !strings.Contains(html, `id="live-connect"`) || !strings.Contains(html, "192.0.2.2/24") {
			t.Errorf("%s: no form: %s", l, html)
		}
		s.live.running = true
		s.live.run = &liveRun{cfg: liveConfig{URL: "ws://h/bridge", MAC: "02:00:00:00:00:09"}}
		s.live.link = linkState{State: linkRetrying, Err: "closed (1006)", RetryIn: time.Second, Drops: 2}
		s.live.ops = []liveOp{
			{Kind: opPing, Name: "ping-1", Target: "192.0.2.1", Got: reply},
			{Kind: opHTTP, Name: "http-2", Target: "192.0.2.1", Got: []byte("HTTP/1.0 200 OK\r\n\r\n<html>")},
		}
		html = app.HTMLString(s.livePanel())
		for _, want := range []string{`data-state="retrying"`, "icmp_seq=3", "ping-1", "&lt;html&gt;", `id="live-http"`, "closed (1006)"} {
			if !strings.Contains(html, want) {
				t.Errorf("%s: no %q in %s", l, want, html)
			}
		}
		if l == langHans && (!strings.Contains(html, "回显应答") || !strings.Contains(html, "重连")) {
			t.Errorf("zh-Hans panel not translated: %s", html)
		}
		if l == langHant && !strings.Contains(html, "重新連線") {
			t.Errorf("zh-Hant panel not translated: %s", html)
		}
	}
}

// A poll takes a snapshot only when events have run since the last, and
// only a change is rendered.
func TestLiveTake(t *testing.T) {
	f, err := liveScenario(liveConfig{Addr: "192.0.2.2/24", MAC: "02:00:00:00:00:09"})
	if err != nil {
		t.Fatal(err)
	}
	r, err := scenario.NewRunner(f)
	if err != nil {
		t.Fatal(err)
	}
	run := &liveRun{sess: live.New(r)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go run.sess.Run(ctx)
	time.Sleep(5 * time.Millisecond)
	t1, got1 := run.take()
	if t1 == nil || len(t1.Events) == 0 || t1.Events[0].Host != liveHost {
		t.Fatalf("first snapshot: %+v", t1)
	}
	t2, got2 := run.take()
	if t2 != nil || changed(t2, got2, got1) {
		t.Errorf("a quiet run gave a new snapshot (%v) or a change", t2 != nil)
	}
	p, err := opProgram(opUDP, "udp-1", "192.0.2.1", 9, "x")
	if err != nil {
		t.Fatal(err)
	}
	run.sess.Do(func(r *scenario.Runner) {
		if err := r.AddProgram(liveHost, p); err != nil {
			t.Error(err)
		}
		run.names = append(run.names, p.Name)
	})
	t3, got3 := run.take()
	if t3 == nil || len(t3.Events) <= len(t1.Events) || !changed(t3, got3, got2) {
		t.Errorf("after an op: snapshot %v", t3 != nil)
	}
	if _, ok := got3["udp-1"]; !ok {
		t.Error("the op's program is not polled")
	}
}
