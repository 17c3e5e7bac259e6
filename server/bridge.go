package main

import (
	"bufio"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
)

// The bridge joins WebSocket clients (simulated NICs in browsers or the
// headless client) to one TAP device. The wire protocol follows v86's
// relays: each binary message is one Ethernet frame without FCS, in both
// directions. Text messages carry JSON control (bridgeMsg).

// ethHeaderLen is the Ethernet header the frame limit adds to the MTU.
const ethHeaderLen = 14

// ctlLimit bounds a JSON control message; hello and stats fit easily.
const ctlLimit = 1024

// maxTAPMACs bounds the MACs learned behind the TAP; a TAP bridged to a
// big LAN must not grow the table without bound, so it is forgotten whole
// when full and relearned from the next frames.
const maxTAPMACs = 1024

// bridgeOptions configure a bridge; zero values take the defaults below.
type bridgeOptions struct {
	Token        string   // required from every client, as Bearer or ?token=
	AllowOrigins []string // origins allowed besides the server's own host
	Isolate      bool     // clients talk only to the TAP, never to each other
	Rate         float64  // frames/s accepted from each client; 0: unlimited
	Burst        int      // token-bucket depth; default Rate/10, at least 16
	MTU          int      // frame limit is MTU+14; default 1500
	QueueLen     int      // frames queued towards one client; default 256

	PingEvery time.Duration // default 15s
	PongWait  time.Duration // a client silent this long is dropped; default 2×PingEvery
	WriteWait time.Duration // a write that blocks this long drops the client; default 10s

	Logf func(format string, args ...any) // default log.Printf
}

// bridgeMsg is every JSON control message, both ways:
//
//	client: {"type":"hello","mac":"02:00:00:00:00:02","mtu":1500}
//	server: {"type":"hello","mtu":1500}
//	client: {"type":"stats"} or {"type":"stats","every_ms":1000} (0 stops)
//	server: {"type":"stats","client":{...},"bridge":{...}}
//	server: {"type":"error","error":"..."}, then a close frame
type bridgeMsg struct {
	Type    string        `json:"type"`
	MAC     string        `json:"mac,omitempty"`
	MTU     int           `json:"mtu,omitempty"`
	EveryMS int           `json:"every_ms,omitempty"`
	Error   string        `json:"error,omitempty"`
	Client  *clientStats  `json:"client,omitempty"`
	Bridge  *bridgeCounts `json:"bridge,omitempty"`
}

// clientStats count one client's frames; "in" is from the client into
// the bridge, "out" from the bridge to the client.
type clientStats struct {
	InFrames  uint64 `json:"in_frames"`
	InBytes   uint64 `json:"in_bytes"`
	OutFrames uint64 `json:"out_frames"`
	OutBytes  uint64 `json:"out_bytes"`
	DropRate  uint64 `json:"drop_rate"`  // over the rate limit
	DropSpoof uint64 `json:"drop_spoof"` // source MAC not the pinned one
	DropQueue uint64 `json:"drop_queue"` // towards the client, queue full
}

// bridgeCounts count the TAP side.
type bridgeCounts struct {
	Clients     int    `json:"clients"`
	TAPRx       uint64 `json:"tap_rx_frames"`
	TAPTx       uint64 `json:"tap_tx_frames"`
	TAPTxErrors uint64 `json:"tap_tx_errors"`
	TAPOversize uint64 `json:"tap_oversize"` // read from the TAP, longer than MTU+14
}

// counters is clientStats kept with atomics, written by several goroutines.
type counters struct {
	inFrames, inBytes, outFrames, outBytes, dropRate, dropSpoof, dropQueue atomic.Uint64
}

func (c *counters) snapshot() *clientStats {
	return &clientStats{
		InFrames: c.inFrames.Load(), InBytes: c.inBytes.Load(),
		OutFrames: c.outFrames.Load(), OutBytes: c.outBytes.Load(),
		DropRate: c.dropRate.Load(), DropSpoof: c.dropSpoof.Load(), DropQueue: c.dropQueue.Load(),
	}
}

type mac [6]byte

func (m mac) String() string { return net.HardwareAddr(m[:]).String() }

// bridge is an http.Handler for the WebSocket endpoint and the owner of
// the TAP device: Close closes both.
type bridge struct {
	tap      io.ReadWriteCloser
	opt      bridgeOptions
	tokenSum [32]byte
	origins  map[string]bool
	upgrader websocket.Upgrader

	mu      sync.RWMutex
	closed  bool
	clients map[*bridgeClient]bool
	byMAC   map[mac]*bridgeClient // pinned MACs of clients past hello

	tapMu   sync.Mutex
	tapMACs map[mac]bool // source MACs seen on frames from the TAP

	// Frames from the TAP are read, without waiting, by whoever holds
	// rxMu: the TAP reader, or the reader of a client that wrote to the
	// TAP, once it has handled what it read (the kernel answers within
	// the TAP write, and sending the answers from there saves the hand-off
	// to the client's writer). Holding rxMu while dispatching keeps them
	// in order.
	rxMu     sync.Mutex
	rxClosed bool            // the TAP is closed: tapFD is no longer ours
	tapRaw   syscall.RawConn // nil: the TAP is read by the TAP reader alone
	tapFD    uintptr
	rxBuf    []byte
	touched  []*bridgeClient // clients with frames gathered for a direct send

	tapRx, tapTx, tapTxErr, tapOversize atomic.Uint64

	shutdownOnce sync.Once
	wg           sync.WaitGroup
}

// newBridge starts reading tap and returns the handler for /bridge.
func newBridge(tap io.ReadWriteCloser, opt bridgeOptions) (*bridge, error) {
	if opt.Token == "" {
		return nil, errors.New("bridge: a token is required")
	}
	if opt.MTU == 0 {
		opt.MTU = 1500
	}
	if opt.MTU < 68 || opt.MTU > 65535-ethHeaderLen {
		return nil, fmt.Errorf("bridge: MTU %d out of range", opt.MTU)
	}
	if opt.Burst == 0 {
		opt.Burst = max(16, int(opt.Rate/10))
	}
	if opt.QueueLen == 0 {
		opt.QueueLen = 256
	}
	if opt.PingEvery == 0 {
		opt.PingEvery = 15 * time.Second
	}
	if opt.PongWait == 0 {
		opt.PongWait = 2 * opt.PingEvery
	}
	if opt.WriteWait == 0 {
		opt.WriteWait = 10 * time.Second
	}
	if opt.Logf == nil {
		opt.Logf = log.Printf
	}
	b := &bridge{
		tap:      tap,
		opt:      opt,
		tokenSum: sha256.Sum256([]byte(opt.Token)),
		origins:  map[string]bool{},
		clients:  map[*bridgeClient]bool{},
		byMAC:    map[mac]*bridgeClient{},
		tapMACs:  map[mac]bool{},
	}
	for _, o := range opt.AllowOrigins {
		b.origins[normOrigin(o)] = true
	}
	if sc, ok := tap.(syscall.Conn); ok && haveRaw {
		if rc, err := sc.SyscallConn(); err == nil {
			rc.Control(func(fd uintptr) { b.tapFD = fd })
			if nonblocking(b.tapFD) {
				b.tapRaw, b.rxBuf = rc, make([]byte, 65536)
			}
		}
	}
	b.upgrader = websocket.Upgrader{
		// A read buffer of several frames takes a client's burst in
		// one system call.
		ReadBufferSize:  16 << 10,
		WriteBufferSize: opt.MTU + ethHeaderLen + 16,
		CheckOrigin:     b.originOK,
	}
	b.wg.Add(1)
	go b.readTAP()
	return b, nil
}

// normOrigin makes "HTTP://Host:80/" and "http://host:80" compare equal.
func normOrigin(o string) string { return strings.TrimSuffix(strings.ToLower(o), "/") }

// originOK admits requests without Origin (not from a browser, so no
// cross-site request to forge), from the server's own host, or from an
// allowed origin. A page from anywhere else must not reach the TAP even
// if it somehow holds the token.
func (b *bridge) originOK(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" || b.origins[normOrigin(o)] {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && strings.EqualFold(u.Host, r.Host)
}

// tokenOK compares hashes in constant time, so neither the token's bytes
// nor its length leak through timing.
func (b *bridge) tokenOK(r *http.Request) bool {
	tok := r.URL.Query().Get("token")
	if a, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		tok = strings.TrimSpace(a)
	}
	sum := sha256.Sum256([]byte(tok))
	return subtle.ConstantTimeCompare(sum[:], b.tokenSum[:]) == 1
}

// ServeHTTP upgrades an authorised request and runs the client until it
// leaves; the client's reader runs on this goroutine.
func (b *bridge) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !b.originOK(r) {
		http.Error(w, "origin not allowed", http.StatusForbidden)
		return
	}
	if !b.tokenOK(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="skbscope bridge"`)
		http.Error(w, "missing or wrong token", http.StatusUnauthorized)
		return
	}
	b.mu.Lock()
	closed := b.closed
	if !closed {
		b.wg.Add(2) // this reader and the client's writer
	}
	b.mu.Unlock()
	if closed {
		http.Error(w, "bridge closed", http.StatusServiceUnavailable)
		return
	}
	hj := &batchHijacker{ResponseWriter: w}
	conn, err := b.upgrader.Upgrade(hj, r, nil)
	if err != nil {
		b.wg.Add(-2) // the upgrader has answered the request
		return
	}
	c := newBridgeClient(b, conn, hj.conn)
	hj.conn.beforeRead = func() {
		if c.wroteTAP {
			c.wroteTAP = false
			b.pollTAP()
		}
	}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		c.shutdown(websocket.CloseGoingAway, "bridge closed")
	} else {
		b.clients[c] = true
		b.mu.Unlock()
	}
	go c.writeLoop()
	c.readLoop()
}

// Close disconnects every client, closes the TAP and waits for every
// goroutine the bridge started.
func (b *bridge) Close() error {
	b.shutdown("bridge closed")
	b.wg.Wait()
	return nil
}

// shutdown stops the bridge without waiting, so the TAP reader can call it.
func (b *bridge) shutdown(why string) {
	b.shutdownOnce.Do(func() {
		b.mu.Lock()
		b.closed = true
		cs := make([]*bridgeClient, 0, len(b.clients))
		for c := range b.clients {
			cs = append(cs, c)
		}
		b.mu.Unlock()
		b.rxMu.Lock()
		b.rxClosed = true
		b.rxMu.Unlock()
		b.tap.Close()
		for _, c := range cs {
			c.shutdown(websocket.CloseGoingAway, why)
		}
	})
}

// counts is the TAP side's statistics.
func (b *bridge) counts() *bridgeCounts {
	b.mu.RLock()
	n := len(b.clients)
	b.mu.RUnlock()
	return &bridgeCounts{
		Clients: n, TAPRx: b.tapRx.Load(), TAPTx: b.tapTx.Load(),
		TAPTxErrors: b.tapTxErr.Load(), TAPOversize: b.tapOversize.Load(),
	}
}

// readTAP hands each frame from the kernel to the clients it is for. It
// never blocks on a client: a frame a client's socket cannot take at once
// is queued, and a full queue loses it.
func (b *bridge) readTAP() {
	defer b.wg.Done()
	var err error
	if b.tapRaw != nil {
		for err == nil {
			var rerr error
			err = b.tapRaw.Read(func(fd uintptr) bool {
				b.rxMu.Lock()
				defer b.rxMu.Unlock()
				if b.rxClosed {
					rerr = os.ErrClosed
					return true
				}
				again, e := b.drainTAP(fd, false)
				rerr = e
				return e != nil || !again // else wait until the TAP is readable
			})
			if err == nil {
				err = rerr
			}
		}
	} else {
		buf := make([]byte, 65536)
		for {
			var n int
			if n, err = b.tap.Read(buf); err != nil {
				break
			}
			b.rxMu.Lock()
			b.tapFrame(buf[:n], false)
			b.rxMu.Unlock()
		}
	}
	b.mu.RLock()
	closed := b.closed
	b.mu.RUnlock()
	if !closed {
		b.opt.Logf("bridge: reading the TAP: %v", err)
		b.shutdown("TAP device failed")
	}
}

// drainBatch bounds how many frames one holder of rxMu reads in a row.
const drainBatch = 64

// drainTAP reads and dispatches the frames ready on the TAP, at most
// drainBatch; direct, it sends each client its share in one write (see
// deliver). again reports that it found none left. Callers hold rxMu.
func (b *bridge) drainTAP(fd uintptr, direct bool) (again bool, err error) {
	defer b.sendGathered()
	for range drainBatch {
		n, again, err := readFD(fd, b.rxBuf)
		if again || err != nil {
			return again, err
		}
		b.tapFrame(b.rxBuf[:n], direct)
	}
	return false, nil
}

// sendGathered sends the frames deliver gathered. Callers hold rxMu.
func (b *bridge) sendGathered() {
	for _, c := range b.touched {
		c.sendDirect()
	}
	clear(b.touched)
	b.touched = b.touched[:0]
}

// pollTAP takes the frames already waiting on the TAP, unless the TAP
// reader is at it. A client's reader calls it when it has handled all it
// had read and is about to wait on its socket, if it wrote to the TAP
// meanwhile: the kernel's answers to a burst then leave in one write.
func (b *bridge) pollTAP() {
	if b.tapRaw == nil || !b.rxMu.TryLock() {
		return
	}
	defer b.rxMu.Unlock()
	if !b.rxClosed {
		b.drainTAP(b.tapFD, true) // an error is the TAP reader's to report
	}
}

// tapFrame sends one frame from the kernel to the clients it is for,
// gathering it for a direct send if asked (see deliver). Callers hold
// rxMu; f is only borrowed.
func (b *bridge) tapFrame(f []byte, direct bool) {
	b.tapRx.Add(1)
	if len(f) < ethHeaderLen {
		return
	}
	if len(f) > b.opt.MTU+ethHeaderLen {
		b.tapOversize.Add(1)
		return
	}
	b.learnTAP(mac(f[6:12]))
	var cp []byte // one copy for all the queues it joins
	b.mu.RLock()
	defer b.mu.RUnlock()
	if c := b.byMAC[mac(f[:6])]; c != nil {
		c.deliver(f, &cp, direct)
		return
	}
	// Broadcast, multicast and unknown unicast go to every client,
	// as a switch floods them.
	for c := range b.clients {
		if c.pinned.Load() {
			c.deliver(f, &cp, direct)
		}
	}
}

// learnTAP remembers a MAC that lives behind the TAP, so unicast to it
// from a client goes to the TAP alone.
func (b *bridge) learnTAP(m mac) {
	if m[0]&1 != 0 {
		return
	}
	b.tapMu.Lock()
	if !b.tapMACs[m] {
		if len(b.tapMACs) >= maxTAPMACs {
			clear(b.tapMACs)
		}
		b.tapMACs[m] = true
	}
	b.tapMu.Unlock()
}

// forward switches a frame from client from: to the TAP, and unless the
// bridge isolates clients, to the client that owns the destination MAC or
// (broadcast, multicast, unknown unicast) to every other client too.
func (b *bridge) forward(from *bridgeClient, frame []byte) {
	dst := mac(frame[:6])
	toTAP := true
	if !b.opt.Isolate {
		b.mu.RLock()
		if c := b.byMAC[dst]; c != nil { // never multicast: pin refuses those
			toTAP = false
			if c != from {
				c.enqueue(append([]byte(nil), frame...))
			}
		} else {
			b.tapMu.Lock()
			behindTAP := b.tapMACs[dst]
			b.tapMu.Unlock()
			if !behindTAP {
				var cp []byte
				for c := range b.clients {
					if c != from && c.pinned.Load() {
						if cp == nil {
							cp = append([]byte(nil), frame...)
						}
						c.enqueue(cp)
					}
				}
			}
		}
		b.mu.RUnlock()
	}
	if toTAP {
		if _, err := b.tap.Write(frame); err != nil {
			b.tapTxErr.Add(1)
		} else {
			b.tapTx.Add(1)
			from.wroteTAP = true
		}
	}
}

// bridgeClient is one WebSocket peer: a reader (the HTTP handler's
// goroutine) and a writer that owns every data write to the connection.
type bridgeClient struct {
	b     *bridge
	conn  *websocket.Conn
	batch *batchConn  // conn's socket
	out   chan []byte // frames to send; bounded, never waited on by senders
	ctl   chan []byte // JSON control to send; bounded, extra stats dropped
	quit  chan struct{}
	kick  chan struct{} // the writer has the rest of a direct send to write
	cnt   counters

	// queued counts messages in out and ctl or in the writer's hands: a
	// frame may be sent directly only when it is 0, so as not to overtake
	// them (the answer to hello must come first).
	queued atomic.Int64

	// Frames from the TAP gathered for one direct send, under b.rxMu.
	gathering bool
	direct    []byte   // as WebSocket messages
	frames    [][]byte // the same frames, to queue if the send fails
	bytes     int

	wroteTAP bool // the reader sent a frame to the TAP since it last polled

	// mac is written once, by the reader, before pinned is set; others
	// read it only after seeing pinned.
	mac    mac
	pinned atomic.Bool

	statsEvery atomic.Int64 // ns between periodic stats; 0: none

	quitOnce   sync.Once
	closeCode  int
	closeWhy   string
	readDone   chan struct{}
	writerDone chan struct{}
}

func newBridgeClient(b *bridge, conn *websocket.Conn, batch *batchConn) *bridgeClient {
	return &bridgeClient{
		b: b, conn: conn, batch: batch,
		out:        make(chan []byte, b.opt.QueueLen),
		ctl:        make(chan []byte, 4),
		quit:       make(chan struct{}),
		kick:       make(chan struct{}, 1),
		readDone:   make(chan struct{}),
		writerDone: make(chan struct{}),
	}
}

// enqueue queues a frame for the client or counts it lost.
func (c *bridgeClient) enqueue(frame []byte) {
	c.queued.Add(1)
	select {
	case c.out <- frame:
	default:
		c.queued.Add(-1)
		c.cnt.dropQueue.Add(1)
	}
}

// deliver queues a frame from the TAP for the client's writer, or, if
// direct and nothing waits in the client's queues to go before it,
// gathers it for a direct send to the client's socket (sendDirect: no
// hand-off to the writer goroutine). Only a client's reader sends
// directly, after a burst it wrote to the TAP; the TAP reader leaves
// batching to the writers, which gather whatever queued meanwhile.
// *cp is a copy of f shared by the clients of one broadcast. Callers
// hold b.rxMu.
func (c *bridgeClient) deliver(f []byte, cp *[]byte, direct bool) {
	if *cp == nil {
		*cp = append([]byte(nil), f...)
	}
	if !c.gathering {
		if !direct || c.batch.raw == nil || c.queued.Load() != 0 {
			c.enqueue(*cp)
			return
		}
		c.gathering = true
		c.b.touched = append(c.b.touched, c)
	}
	c.direct = appendBinaryMessage(c.direct, f)
	c.frames = append(c.frames, *cp)
	c.bytes += len(f)
	if len(c.direct) >= batchBytes {
		c.sendDirect()
	}
}

// sendDirect writes the gathered frames in one go if the socket takes
// them without waiting, else queues them for the writer, in order.
// Callers hold b.rxMu.
func (c *bridgeClient) sendDirect() {
	if !c.gathering {
		return
	}
	if c.batch.tryDirect(c.direct, c.kick) {
		c.cnt.outFrames.Add(uint64(len(c.frames)))
		c.cnt.outBytes.Add(uint64(c.bytes))
	} else {
		for _, f := range c.frames {
			c.enqueue(f)
		}
	}
	c.gathering, c.bytes = false, 0
	clear(c.frames)
	c.frames = c.frames[:0]
	c.direct = c.direct[:0]
	if cap(c.direct) > 2*batchBytes {
		c.direct = nil
	}
}

// appendBinaryMessage appends f as one unmasked, final, binary WebSocket
// frame (RFC 6455 section 5.2), as a server sends it.
func appendBinaryMessage(dst, f []byte) []byte {
	switch n := len(f); {
	case n < 126:
		dst = append(dst, 0x82, byte(n))
	case n < 1<<16:
		dst = append(dst, 0x82, 126, byte(n>>8), byte(n))
	default:
		dst = append(dst, 0x82, 127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	return append(dst, f...)
}

// sendCtl queues a control message; control is advisory, so a client too
// slow to take it loses it rather than holding anyone up.
func (c *bridgeClient) sendCtl(m bridgeMsg) {
	p, _ := json.Marshal(m)
	c.queued.Add(1)
	select {
	case c.ctl <- p:
	default:
		c.queued.Add(-1)
	}
}

// shutdown asks the writer to send why (if any) as an error message and a
// close frame with code, then stop. Only the first call counts. The
// socket's deadlines are cut short so that a read or write stuck on a
// silent or slow peer cannot hold the client (or Close) for long.
func (c *bridgeClient) shutdown(code int, why string) {
	c.quitOnce.Do(func() {
		c.closeCode, c.closeWhy = code, why
		close(c.quit)
		c.conn.NetConn().SetDeadline(time.Now().Add(time.Second))
	})
}

// violation ends the connection over a protocol error.
func (c *bridgeClient) violation(code int, format string, args ...any) {
	c.shutdown(code, fmt.Sprintf(format, args...))
}

// readLoop reads until the peer leaves or breaks the protocol, then
// drains briefly so the peer can read our error and close frame before
// the socket goes away.
func (c *bridgeClient) readLoop() {
	b := c.b
	defer b.wg.Done()
	defer c.leave()
	c.conn.SetReadDeadline(time.Now().Add(b.opt.PongWait))
	c.conn.SetPongHandler(func(string) error {
		return c.conn.SetReadDeadline(time.Now().Add(b.opt.PongWait))
	})
	// The writer answers the peer's close frame (goodbye), unless we
	// sent ours first: one close frame each way.
	c.conn.SetCloseHandler(func(int, string) error {
		c.shutdown(websocket.CloseNormalClosure, "")
		return nil
	})
	limit := b.opt.MTU + ethHeaderLen
	buf := make([]byte, limit+1)
	bucket := tokenBucket{rate: b.opt.Rate, burst: float64(b.opt.Burst), tokens: float64(b.opt.Burst), last: time.Now()}
	for {
		select {
		case <-c.quit:
			c.drain()
			return
		default:
		}
		typ, r, err := c.conn.NextReader()
		if err != nil {
			c.shutdown(websocket.CloseNormalClosure, "")
			return
		}
		c.conn.SetReadDeadline(time.Now().Add(b.opt.PongWait))
		lim := limit
		if typ == websocket.TextMessage {
			lim = ctlLimit
		}
		// Read one byte past the limit to see an oversized message
		// without ever buffering it.
		n, err := io.ReadFull(io.LimitReader(r, int64(lim+1)), buf[:min(lim+1, len(buf))])
		if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
			c.shutdown(websocket.CloseNormalClosure, "")
			return
		}
		switch {
		case n > lim:
			c.violation(websocket.CloseMessageTooBig, "message longer than %d bytes", lim)
		case typ == websocket.TextMessage:
			c.control(buf[:n])
		case n < ethHeaderLen:
			c.violation(websocket.ClosePolicyViolation, "frame of %d bytes: an Ethernet frame has at least %d", n, ethHeaderLen)
		default:
			c.frame(buf[:n], &bucket)
		}
	}
}

// drain reads and discards until the peer closes or a second passes.
func (c *bridgeClient) drain() {
	c.conn.SetReadDeadline(time.Now().Add(time.Second))
	for {
		if _, _, err := c.conn.NextReader(); err != nil {
			return
		}
	}
}

// control handles one JSON message from the client.
func (c *bridgeClient) control(p []byte) {
	var m bridgeMsg
	if err := json.Unmarshal(p, &m); err != nil {
		c.violation(websocket.CloseUnsupportedData, "bad control message: %v", err)
		return
	}
	switch m.Type {
	case "hello":
		if c.pinned.Load() {
			c.violation(websocket.ClosePolicyViolation, "hello twice")
			return
		}
		hw, err := net.ParseMAC(m.MAC)
		if err != nil || len(hw) != 6 {
			c.violation(websocket.ClosePolicyViolation, "hello: bad mac %q", m.MAC)
			return
		}
		c.pin(mac(hw), true)
	case "stats":
		if !c.pinned.Load() {
			c.violation(websocket.ClosePolicyViolation, "hello first")
			return
		}
		every := time.Duration(m.EveryMS) * time.Millisecond
		if every != 0 {
			every = max(every, 100*time.Millisecond)
		}
		c.statsEvery.Store(int64(every))
		c.sendCtl(c.stats())
	default:
		c.violation(websocket.ClosePolicyViolation, "unknown message type %q", m.Type)
	}
}

// pin gives the client its MAC: from hello, or (v86's relays have no
// hello) from the source of its first frame. It reports success. The
// answer to hello is queued before any frame can be, so it comes first.
func (c *bridgeClient) pin(m mac, hello bool) bool {
	if m[0]&1 != 0 || m == (mac{}) {
		c.violation(websocket.ClosePolicyViolation, "mac %s is not a unicast address", m)
		return false
	}
	b := c.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.byMAC[m] != nil {
		c.violation(websocket.ClosePolicyViolation, "mac %s is in use by another client", m)
		return false
	}
	if hello {
		c.sendCtl(bridgeMsg{Type: "hello", MTU: b.opt.MTU})
	}
	c.mac = m
	b.byMAC[m] = c
	c.pinned.Store(true)
	return true
}

// frame handles one Ethernet frame from the client.
func (c *bridgeClient) frame(f []byte, bucket *tokenBucket) {
	if !c.pinned.Load() && !c.pin(mac(f[6:12]), false) {
		return
	}
	if mac(f[6:12]) != c.mac {
		c.cnt.dropSpoof.Add(1)
		return
	}
	if !bucket.allow(time.Now()) {
		c.cnt.dropRate.Add(1)
		return
	}
	c.cnt.inFrames.Add(1)
	c.cnt.inBytes.Add(uint64(len(f)))
	c.b.forward(c, f)
}

func (c *bridgeClient) stats() bridgeMsg {
	return bridgeMsg{Type: "stats", Client: c.cnt.snapshot(), Bridge: c.b.counts()}
}

// leave unregisters the client once its reader is done, gives the writer
// a moment to finish the close handshake, and closes the socket.
func (c *bridgeClient) leave() {
	c.shutdown(websocket.CloseNormalClosure, "")
	b := c.b
	b.mu.Lock()
	delete(b.clients, c)
	if c.pinned.Load() && b.byMAC[c.mac] == c {
		delete(b.byMAC, c.mac)
	}
	b.mu.Unlock()
	close(c.readDone)
	select {
	case <-c.writerDone:
	case <-time.After(2 * time.Second):
	}
	c.conn.Close()
}

// writeLoop sends queued frames, control, pings and periodic stats; on
// quit it sends the error and the close frame.
func (c *bridgeClient) writeLoop() {
	b := c.b
	defer b.wg.Done()
	defer close(c.writerDone)
	ping := time.NewTicker(b.opt.PingEvery)
	defer ping.Stop()
	stats := time.NewTimer(time.Hour)
	defer stats.Stop()
	var statsArmed time.Duration
	write := func(typ int, p []byte) bool {
		c.conn.SetWriteDeadline(time.Now().Add(b.opt.WriteWait))
		if err := c.conn.WriteMessage(typ, p); err != nil {
			c.conn.Close() // unblocks the reader
			c.shutdown(websocket.CloseAbnormalClosure, "")
			return false
		}
		return true
	}
	// A message gorilla writes in two parts (one longer than its buffer)
	// must not let a direct send in between: hold it and write it whole.
	flush := func() bool {
		if err := c.batch.flush(); err != nil {
			c.conn.Close()
			c.shutdown(websocket.CloseAbnormalClosure, "")
			return false
		}
		return true
	}
	writeOne := func(typ int, p []byte) bool {
		c.batch.hold()
		return write(typ, p) && flush()
	}
	for {
		select { // quitting, then control, come before queued frames
		case <-c.quit:
			c.goodbye()
			select { // let the peer answer our close frame
			case <-c.readDone:
			case <-time.After(time.Second):
			}
			c.conn.Close()
			return
		case p := <-c.ctl:
			if !writeOne(websocket.TextMessage, p) {
				return
			}
			c.queued.Add(-1)
			continue
		default:
		}
		if e := time.Duration(c.statsEvery.Load()); e != statsArmed {
			statsArmed = e
			if e > 0 {
				stats.Reset(e)
			} else {
				stats.Stop()
			}
		}
		select {
		case f := <-c.out:
			// Frames already queued behind this one leave with it, in
			// one system call.
			c.batch.hold()
			sent := int64(0)
			for {
				if !write(websocket.BinaryMessage, f) {
					return
				}
				sent++
				c.cnt.outFrames.Add(1)
				c.cnt.outBytes.Add(uint64(len(f)))
				if c.batch.held() >= batchBytes || len(c.out) == 0 {
					break
				}
				f = <-c.out // only this goroutine receives
			}
			if !flush() {
				return
			}
			c.queued.Add(-sent)
		case p := <-c.ctl:
			if !writeOne(websocket.TextMessage, p) {
				return
			}
			c.queued.Add(-1)
		case <-c.kick:
			if !flush() {
				return
			}
		case <-stats.C:
			if statsArmed > 0 {
				p, _ := json.Marshal(c.stats())
				if !writeOne(websocket.TextMessage, p) {
					return
				}
				stats.Reset(statsArmed)
			}
		case <-ping.C:
			c.batch.hold()
			if err := c.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(b.opt.WriteWait)); err != nil || !flush() {
				c.conn.Close()
				c.shutdown(websocket.CloseAbnormalClosure, "")
				return
			}
		case <-c.quit: // handled at the top of the loop
		}
	}
}

// goodbye sends the reason for closing, if any, and a close frame.
func (c *bridgeClient) goodbye() {
	if c.closeCode == websocket.CloseAbnormalClosure {
		return // the connection is already gone
	}
	c.batch.seal()
	deadline := time.Now().Add(time.Second)
	if c.closeWhy != "" {
		p, _ := json.Marshal(bridgeMsg{Type: "error", Error: c.closeWhy})
		c.conn.SetWriteDeadline(deadline)
		if c.conn.WriteMessage(websocket.TextMessage, p) != nil {
			c.conn.Close()
			return
		}
	}
	why := c.closeWhy
	if len(why) > 120 { // a close frame's reason is at most 123 bytes
		why = why[:120]
	}
	c.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(c.closeCode, why), deadline)
}

// tokenBucket is a per-client rate limit: rate tokens a second, at most
// burst saved up; each frame costs one.
type tokenBucket struct {
	rate, burst, tokens float64
	last                time.Time
}

func (t *tokenBucket) allow(now time.Time) bool {
	if t.rate <= 0 {
		return true
	}
	t.tokens = min(t.burst, t.tokens+now.Sub(t.last).Seconds()*t.rate)
	t.last = now
	if t.tokens < 1 {
		return false
	}
	t.tokens--
	return true
}

// withBridge routes /bridge to b, or answers 404 there when the server
// runs without a TAP (b == nil), so the endpoint is off by default.
func withBridge(site http.Handler, b *bridge) http.Handler {
	mux := http.NewServeMux()
	if b != nil {
		mux.Handle("/bridge", b)
	} else {
		mux.Handle("/bridge", http.NotFoundHandler())
	}
	mux.Handle("/", site)
	return mux
}

// batchBytes is how much the writer gathers before a system call.
const batchBytes = 32 << 10

// batchHijacker hands the upgrader a batchConn for the hijacked socket.
type batchHijacker struct {
	http.ResponseWriter
	conn *batchConn
}

func (h *batchHijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	h.conn = &batchConn{Conn: c}
	if sc, ok := c.(syscall.Conn); ok && haveRaw {
		if rc, err := sc.SyscallConn(); err == nil {
			h.conn.raw = rc
		}
	}
	return h.conn, brw, nil
}

// batchConn holds writes between hold and flush, so that a burst of
// WebSocket messages costs one system call instead of one each: the
// bridge's throughput is bounded by system calls, not bytes. Server side,
// it also takes direct sends (tryDirect).
type batchConn struct {
	net.Conn
	mu      sync.Mutex
	holding bool
	buf     []byte
	raw     syscall.RawConn // nil: no direct sends
	rest    []byte          // what the socket did not take of a direct send; goes first
	sealed  bool            // the close frame is going out: no more direct sends

	// beforeRead, if set, runs before each read from the socket: the
	// reader has handled everything it had read (gorilla reads through a
	// buffer) and may be about to wait.
	beforeRead func()
}

func (b *batchConn) Read(p []byte) (int, error) {
	if b.beforeRead != nil {
		b.beforeRead()
	}
	return b.Conn.Read(p)
}

func (b *batchConn) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.holding {
		if err := b.writeRest(); err != nil {
			return 0, err
		}
		return b.Conn.Write(p)
	}
	b.buf = append(b.buf, p...)
	return len(p), nil
}

func (b *batchConn) hold() {
	b.mu.Lock()
	b.holding = true
	b.mu.Unlock()
}

// held is the number of bytes waiting for flush.
func (b *batchConn) held() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.buf)
}

// flush writes what was held and stops holding.
func (b *batchConn) flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.holding = false
	if err := b.writeRest(); err != nil {
		return err
	}
	if len(b.buf) == 0 {
		return nil
	}
	_, err := b.Conn.Write(b.buf)
	b.buf = b.buf[:0]
	return err
}

// writeRest finishes a direct send. Callers hold mu.
func (b *batchConn) writeRest() error {
	if len(b.rest) == 0 {
		return nil
	}
	_, err := b.Conn.Write(b.rest)
	b.rest = b.rest[:0]
	return err
}

// tryDirect writes message p now if that cannot wait: nobody else is
// writing or holding bytes, and the socket takes at least part of p at
// once. What it does not take is kept for the writer, woken through kick,
// to send before anything else. It reports whether p is on its way.
func (b *batchConn) tryDirect(p []byte, kick chan<- struct{}) bool {
	if b.raw == nil || !b.mu.TryLock() {
		return false
	}
	defer b.mu.Unlock()
	if b.holding || len(b.buf) > 0 || len(b.rest) > 0 || b.sealed {
		return false
	}
	var n int
	var werr error
	// Holding mu, no one else is inside a write on this socket, so
	// RawConn's write lock is free and this never waits.
	if err := b.raw.Write(func(fd uintptr) bool { n, werr = writeFD(fd, p); return true }); err != nil || werr != nil || n == 0 {
		return false
	}
	if n < len(p) {
		b.rest = append(b.rest, p[n:]...)
		select {
		case kick <- struct{}{}:
		default:
		}
	}
	return true
}

// seal stops direct sends: the close frame must be the last message.
func (b *batchConn) seal() {
	b.mu.Lock()
	b.sealed = true
	b.mu.Unlock()
}
