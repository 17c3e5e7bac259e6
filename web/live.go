package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"skbscope/scenario"
	"skbscope/scenario/live"
	"skbscope/stack/header"
	"skbscope/stack/trace"
)

// Live mode: the page's simulated host gets a NIC whose cable is a
// WebSocket to `server serve -tap`, and so a real kernel on the TAP for
// a neighbour. The simulation runs paced to the wall clock (live.Session,
// the headless client's pump); frames from the real network and the
// buttons' programs enter at the time they happen and are recorded, so
// the run can be downloaded as a scenario and replayed. The view follows
// the live end of the trace.

// Names in the live scenario.
const (
	liveHost = "sim"
	liveNIC  = "eth0"
	liveLink = "tap0"
	liveMTU  = 1500
)

// liveUntil bounds a live run: a day of wall-clock time (the event limit
// of scenario.Runner comes first on a busy network).
const liveUntil = 24 * 3600 * 1_000_000_000

// liveConfig is what the Live form asks for.
type liveConfig struct {
	URL   string // the bridge's WebSocket URL, ws://HOST/bridge
	Token string
	Addr  string // the simulated NIC's address, as CIDR
	MAC   string
}

// liveConn is a bridge connection as the page holds it.
type liveConn interface {
	live.Conn
	Close() error
}

// liveDialer connects to the bridge; dialWS in the browser.
type liveDialer func(ctx context.Context, cfg liveConfig) (liveConn, error)

// Link states, as the status line's data-state names them.
const (
	linkConnecting = "connecting"
	linkUp         = "connected"
	linkRetrying   = "retrying"
	linkClosed     = "closed"
)

// linkState is the WebSocket's state for the status line.
type linkState struct {
	State   string
	Err     string        // why the last connection failed
	RetryIn time.Duration // linkRetrying: the wait before the next dial
	Drops   int           // how many times a connection was lost
}

// Reconnection backoff: doubled after each failure, back to the start
// once a connection holds.
const (
	backoffStart = 500 * time.Millisecond
	backoffMax   = 8 * time.Second
)

// keepLinked dials the bridge and keeps the session attached to it until
// ctx ends, dialling again with a growing backoff whenever the connection
// fails or cannot be made; report hears of every change. It closes the
// connection it holds when ctx ends (a clean close, code 1000).
func keepLinked(ctx context.Context, s *live.Session, cfg liveConfig, dial liveDialer, report func(linkState)) {
	st := linkState{State: linkConnecting}
	wait := backoffStart
	for ctx.Err() == nil {
		report(st)
		c, err := dial(ctx, cfg)
		if err == nil {
			wait = backoffStart
			failed := make(chan error, 1)
			s.Attach(c, func(err error) { failed <- err })
			st = linkState{State: linkUp, Drops: st.Drops}
			report(st)
			select {
			case err = <-failed:
			case <-ctx.Done():
			}
			c.Close()
			if ctx.Err() != nil {
				break
			}
			st.Drops++
		}
		st.State, st.Err, st.RetryIn = linkRetrying, err.Error(), wait
		report(st)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
		}
		wait = min(2*wait, backoffMax)
		st.State = linkConnecting
	}
	report(linkState{State: linkClosed, Drops: st.Drops})
}

// liveScenario is the live run's world: one host whose eth0 is cabled to
// the bridge. Its first program brings eth0 up (ip link set eth0 up), so
// the trace starts with the host coming on line.
func liveScenario(cfg liveConfig) (*scenario.File, error) {
	f := scenario.File{
		Version: scenario.Version, Name: "live", Title: "Live: bridged to a real network", UntilNs: liveUntil,
		Hosts: []scenario.Host{{
			Name: liveHost,
			NICs: []scenario.NIC{{Name: liveNIC, MAC: cfg.MAC, Addr: cfg.Addr, MTU: liveMTU}},
			Programs: []scenario.Program{{Name: "ip-link-up", Steps: []scenario.Step{
				{Op: "link", Dev: liveNIC, State: "up"}}}},
		}},
		Links: []scenario.Link{{Name: liveLink, A: liveHost + "." + liveNIC, B: scenario.BridgeEnd, RateBps: 1_000_000_000}},
	}
	b, err := json.Marshal(f)
	if err != nil {
		return nil, err
	}
	return scenario.Parse(b) // checks the address and the MAC
}

// randomMAC is a locally administered unicast address, so that two pages
// on one bridge do not collide.
func randomMAC() string {
	m := [6]byte{0x02}
	for i := 1; i < 6; i++ {
		m[i] = byte(rand.IntN(256))
	}
	return header.MAC(m).String()
}

// Op kinds the Live panel offers.
const (
	opPing = "ping"
	opUDP  = "udp"
	opTCP  = "tcp"
	opHTTP = "http"
)

// liveOp is one button press: the program it started and what came back.
type liveOp struct {
	Kind, Name, Target string
	Got                []byte // what the program's recv calls returned
	Err                string
}

// opProgram is the program an op runs on the simulated host: what ping
// -c 1, a one-datagram UDP sender, a TCP connect and close, and an
// HTTP/1.0 GET (the server closes, so reading to the end ends) would do.
func opProgram(kind, name, target string, port int, data string) (scenario.Program, error) {
	a, err := netip.ParseAddr(target)
	if err != nil || !a.Is4() {
		return scenario.Program{}, fmt.Errorf("%q is not an IPv4 address", target)
	}
	if kind != opPing && (port < 1 || port > 65535) {
		return scenario.Program{}, fmt.Errorf("port %d outside 1..65535", port)
	}
	to := netip.AddrPortFrom(a, uint16(port)).String()
	p := scenario.Program{Name: name}
	switch kind {
	case opPing:
		p.Steps = []scenario.Step{{Op: "ping", To: target, Count: 1}}
	case opUDP:
		p.Steps = []scenario.Step{{Op: "socket", Type: "udp", As: "u"}, {Op: "sendto", Sock: "u", To: to, Data: data}, {Op: "close", Sock: "u"}}
	case opTCP:
		p.Steps = []scenario.Step{{Op: "socket", Type: "tcp", As: "c"}, {Op: "connect", Sock: "c", To: to}, {Op: "close", Sock: "c"}}
	case opHTTP:
		p.Steps = []scenario.Step{{Op: "socket", Type: "tcp", As: "c"}, {Op: "connect", Sock: "c", To: to},
			{Op: "send", Sock: "c", Data: "GET / HTTP/1.0\r\nHost: " + to + "\r\n\r\n"},
			{Op: "drain", Sock: "c", Size: 4096}, {Op: "close", Sock: "c"}}
	default:
		return scenario.Program{}, fmt.Errorf("unknown op %q", kind)
	}
	return p, nil
}

// result is an op's outcome in words.
func (o liveOp) result(l lang) string {
	if o.Err != "" {
		return o.Err
	}
	switch o.Kind {
	case opPing:
		// A ping socket's recvfrom returns the ICMP message: type, code,
		// checksum, id, sequence, then the data.
		if len(o.Got) >= header.ICMPLen && o.Got[0] == header.ICMPEchoReply {
			seq := int(o.Got[6])<<8 | int(o.Got[7])
			return fmt.Sprintf(l.t("echo reply from %s: icmp_seq=%d, %d bytes"), o.Target, seq, len(o.Got))
		}
		return l.t("waiting for the echo reply…")
	case opUDP, opTCP:
		return l.t("started")
	}
	if len(o.Got) == 0 {
		return l.t("waiting for the answer…")
	}
	return fmt.Sprintf(l.t("%d bytes received"), len(o.Got))
}

// snapshot copies the trace so far, for the UI goroutine to read while
// the run goes on recording.
func snapshot(r *scenario.Runner) *trace.Trace {
	t := r.Trace()
	c := *t
	c.Events = slices.Clone(t.Events)
	c.Snaps = slices.Clip(t.Snaps)
	return &c
}

// bridgeURL is the default bridge address for a page served at page: the
// same host, ws or wss as the page is http or https.
func bridgeURL(page *url.URL) string {
	scheme := "ws"
	if page.Scheme == "https" {
		scheme = "wss"
	}
	return scheme + "://" + page.Host + "/bridge"
}

// liveFragment reads the page URL's fragment: token=T (so that the token
// never reaches a server's logs), bridge=URL, addr=CIDR; live (present)
// asks to connect at once.
func liveFragment(frag string) (cfg liveConfig, connect, ok bool) {
	q, err := url.ParseQuery(strings.TrimPrefix(frag, "#"))
	if err != nil {
		return cfg, false, false
	}
	cfg = liveConfig{URL: q.Get("bridge"), Token: q.Get("token"), Addr: q.Get("addr")}
	_, connect = q["live"]
	return cfg, connect, connect || cfg.Token != ""
}

// withToken puts the token in the WebSocket URL's query: browsers cannot
// set an Authorization header on a WebSocket.
func withToken(raw, token string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	if u.Scheme != "ws" && u.Scheme != "wss" {
		return "", errors.New("the bridge URL must start with ws:// or wss://")
	}
	q := u.Query()
	q.Set("token", token)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// portOf reads a port field; anything else is 0, which opProgram refuses.
func portOf(s string) int {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0
	}
	return n
}
