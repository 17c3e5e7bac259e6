package ppp

import (
	"fmt"

	"skbscope/stack/core"
	"skbscope/stack/kernel"
	"skbscope/stack/skb"
)

const pppAsyncC = "drivers/net/ppp/ppp_async.c"

var (
	fnPPPAsyncSend       = kernel.NewFn("ppp_async_send", pppAsyncC, "driver")
	fnPPPAsyncPush       = kernel.NewFn("ppp_async_push", pppAsyncC, "driver")
	fnPPPAsyncEncode     = kernel.NewFn("ppp_async_encode", pppAsyncC, "driver")
	fnPPPAsyncttyWakeup  = kernel.NewFn("ppp_asynctty_wakeup", pppAsyncC, "driver")
	fnPPPAsyncProcess    = kernel.NewFn("ppp_async_process", pppAsyncC, "driver")
	fnPPPAsyncttyReceive = kernel.NewFn("ppp_asynctty_receive", pppAsyncC, "driver")
	fnPPPAsyncInput      = kernel.NewFn("ppp_async_input", pppAsyncC, "driver")
	fnProcessInputPacket = kernel.NewFn("process_input_packet", pppAsyncC, "driver")
)

// RFC 1662 octet values and ppp_async's constants.
const (
	PPPFlag   = 0x7e // PPP_FLAG: frames start and end with it
	PPPEscape = 0x7d // PPP_ESCAPE: the next byte is XORed with PPP_TRANS
	PPPTrans  = 0x20 // PPP_TRANS
	oBufSize  = 4096 // OBUFSIZE
	// flagTimeNs is flag_time = HZ: a frame starts with its own flag only
	// when the line has been idle that long (else the previous frame's
	// closing flag serves).
	flagTimeNs = 1_000_000_000
)

// State bits (ap->state).
const (
	scToss      = 1
	scEscape    = 2
	scPrevError = 4
)

// FCS16 runs the RFC 1662 16-bit frame check sequence (CRC-CCITT,
// reflected, polynomial 0x8408) over b from fcs. Start from 0xffff; a
// frame with its FCS appended leaves 0xf0b8 (PPP_GOODFCS).
func FCS16(fcs uint16, b []byte) uint16 {
	for _, c := range b {
		fcs ^= uint16(c)
		for range 8 {
			if fcs&1 != 0 {
				fcs = fcs>>1 ^ 0x8408
			} else {
				fcs >>= 1
			}
		}
	}
	return fcs
}

// Async is struct asyncppp: the N_PPP line discipline on a tty, the PPP
// channel of one unit.
type Async struct {
	k    *kernel.Kernel
	ppp  *PPP
	tty  *uart
	tsk  kernel.Tasklet
	xacc [8]uint32 // xaccm: bytes to escape on transmit
	racc uint32    // raccm: control bytes the peer escapes (ignored when received raw)
	mru  int

	// xmit_flags
	xmitWakeup, xmitFull, xmitBusy bool

	tpkt     *skb.SKB // the frame being encoded
	obuf     []byte   // encoded bytes not yet written to the tty
	lastXmit int64

	rpkt   *skb.SKB // the frame being received
	state  int
	rqueue []*skb.SKB

	// FCSErrors counts frames process_input_packet threw away (the
	// kernel has no counter of its own: the next good frame carries
	// SC_PREV_ERROR and the unit counts rx_errors).
	BadFrames int
}

func newAsync(k *kernel.Kernel, p *PPP) *Async {
	a := &Async{k: k, ppp: p, mru: MRU, racc: ^uint32(0), lastXmit: -flagTimeNs}
	// ppp_asynctty_open's defaults, as pppd leaves them: escape all of
	// 0x00-0x1f, and 0x7d and 0x7e always.
	a.xacc[0] = ^uint32(0)
	a.xacc[3] = 0x60000000
	a.tsk = kernel.Tasklet{Name: "ppp_async_process", Fn: func() { a.pppAsyncProcess(k) }}
	a.tty = newUART(k, p.Dev.Name, a)
	return a
}

func (a *Async) rqueueName() string { return a.ppp.Dev.Name + " ap->rqueue" }

// escape is PUT_BYTE's test: does c go out as PPP_ESCAPE, c^PPP_TRANS?
func (a *Async) escape(c byte) bool { return a.xacc[c>>5]&(1<<(c&0x1f)) != 0 }

// pppAsyncSend is ppp_async_send(), the channel's start_xmit: push out
// what is buffered; if a frame is still being encoded (XMIT_FULL) refuse
// this one (0: ppp_output_wakeup will ask again); else take it and push.
func (a *Async) pppAsyncSend(k *kernel.Kernel, s *skb.SKB) int {
	seq := k.Call(fnPPPAsyncSend, s).Seq
	a.pppAsyncPush(k)
	if a.xmitFull {
		noteAt(k, seq, "XMIT_FULL: still encoding the previous frame, refused")
		return kernel.Ret(k, fnPPPAsyncSend, 0)
	}
	a.xmitFull = true
	a.tpkt = s
	noteAt(k, seq, "the channel takes the frame: ap->tpkt, XMIT_FULL")
	a.pppAsyncPush(k)
	return kernel.Ret(k, fnPPPAsyncSend, 1)
}

// pppAsyncPush is ppp_async_push(): write encoded bytes to the tty
// while it takes them, encoding the next piece of tpkt whenever the
// buffer is empty. Returns 1 when it finished a frame (the channel can
// take another). XMIT_BUSY keeps a nested call out.
func (a *Async) pppAsyncPush(k *kernel.Kernel) int {
	e := k.Call(fnPPPAsyncPush)
	if a.xmitBusy {
		e.Note = "XMIT_BUSY: another push is running"
		return kernel.Ret(k, fnPPPAsyncPush, 0)
	}
	a.xmitBusy = true
	seq := e.Seq
	done, stuffed := 0, false
	for {
		if a.xmitWakeup {
			a.xmitWakeup = false
			stuffed = false
		}
		if !stuffed && len(a.obuf) > 0 {
			a.tty.ttyDoWriteWakeup = true
			sent := a.tty.uartWrite(k, a.obuf)
			a.obuf = a.obuf[sent:]
			if len(a.obuf) > 0 {
				stuffed = true
			}
			continue
		}
		if len(a.obuf) == 0 && a.tpkt != nil {
			if a.pppAsyncEncode(k) {
				a.xmitFull = false
				done = 1
			}
			continue
		}
		a.xmitBusy = false
		if !a.xmitWakeup && (stuffed || a.tpkt == nil) {
			break
		}
		a.xmitBusy = true
	}
	if len(a.obuf) > 0 {
		noteAt(k, seq, fmt.Sprintf("the tty is full: %d encoded bytes wait for its write_wakeup", len(a.obuf)))
	}
	return kernel.Ret(k, fnPPPAsyncPush, done)
}

// pppAsyncEncode is ppp_async_encode(): RFC 1662 framing of tpkt into
// obuf. An opening flag if the line was idle for flag_time, the address
// and control bytes 0xff 0x03 (not compressed), the frame with every
// byte in the ACCM (and 0x7d, 0x7e) escaped, the FCS (also escaped as
// needed) and the closing flag. Frames longer than obuf are encoded in
// pieces; it returns true when the frame is done and consumed.
func (a *Async) pppAsyncEncode(k *kernel.Kernel) bool {
	s := a.tpkt
	e := k.Call(fnPPPAsyncEncode, s)
	data := s.Data()
	islcp := len(data) >= 3 && uint16(data[0])<<8|uint16(data[1]) == PPPLCP && data[2] >= 1 && data[2] <= 7
	buf := make([]byte, 0, oBufSize)
	put := func(c byte) {
		if islcp && c < 0x20 || a.escape(c) {
			buf = append(buf, PPPEscape, c^PPPTrans)
		} else {
			buf = append(buf, c)
		}
	}
	flag := islcp || k.Now()-a.lastXmit >= flagTimeNs
	if flag {
		buf = append(buf, PPPFlag)
	}
	a.lastXmit = k.Now()
	fcs := FCS16(0xffff, []byte{PPPAllStations, PPPUI})
	put(PPPAllStations)
	put(PPPUI)
	escaped := 0
	for _, c := range data {
		if islcp && c < 0x20 || a.escape(c) {
			escaped++
		}
		put(c)
	}
	// The model encodes a frame in one piece: obuf holds any frame of
	// MRU 1500 (at worst 2 bytes a byte plus 7).
	fcs = FCS16(fcs, data)
	fcs = ^fcs
	put(byte(fcs))
	put(byte(fcs >> 8))
	buf = append(buf, PPPFlag)
	a.obuf = buf
	e.Note = fmt.Sprintf("%d bytes → %d on the line: opening flag %v, ff 03, %d bytes escaped with 0x7d, FCS 0x%04x, closing flag",
		len(data), len(buf), flag, escaped, fcs)
	a.tpkt = nil
	core.ConsumeSkb(k, s)
	k.RetS(fnPPPAsyncEncode, "1")
	return true
}

// pppAsynctttyWakeup is ppp_asynctty_wakeup(), the line discipline's
// write_wakeup, called by the UART driver in hard interrupt context when
// its buffer runs low: set XMIT_WAKEUP and leave the work to the
// tasklet.
func (a *Async) pppAsyncttyWakeup(k *kernel.Kernel) {
	k.Call(fnPPPAsyncttyWakeup).Note = "clear TTY_DO_WRITE_WAKEUP; set XMIT_WAKEUP; the tasklet does the rest"
	a.tty.ttyDoWriteWakeup = false
	a.xmitWakeup = true
	k.TaskletSchedule(&a.tsk)
	k.RetVoid(fnPPPAsyncttyWakeup)
}

// pppAsyncProcess is ppp_async_process(), the tasklet (TASKLET_SOFTIRQ):
// hand received frames to ppp_input (after ppp_input_error if a bad
// frame came before), then, on XMIT_WAKEUP, push more out, and if a
// frame was finished tell the unit with ppp_output_wakeup.
func (a *Async) pppAsyncProcess(k *kernel.Kernel) {
	k.Call(fnPPPAsyncProcess)
	for len(a.rqueue) > 0 {
		s := a.rqueue[0]
		a.rqueue = a.rqueue[1:]
		k.Dequeue(a.rqueueName(), len(a.rqueue), s)
		if s.CB[0] != 0 {
			a.ppp.pppInputError(k)
		}
		a.ppp.pppInput(k, s)
	}
	if a.xmitWakeup && a.pppAsyncPush(k) != 0 {
		a.ppp.pppOutputWakeup(k)
	}
	k.RetVoid(fnPPPAsyncProcess)
}

// pppAsyncttyReceive is ppp_asynctty_receive(), the line discipline's
// receive_buf: the tty's flush_to_ldisc work hands it the bytes the
// UART received. Frames found go on rqueue, and the tasklet is
// scheduled to deliver them.
func (a *Async) pppAsyncttyReceive(k *kernel.Kernel, buf []byte) {
	k.Call(fnPPPAsyncttyReceive).Note = fmt.Sprintf("%d bytes from the tty", len(buf))
	a.pppAsyncInput(k, buf)
	if len(a.rqueue) > 0 {
		k.TaskletSchedule(&a.tsk)
	}
	k.RetVoid(fnPPPAsyncttyReceive)
}

// pppAsyncInput is ppp_async_input(): undo the framing byte by byte.
// Ordinary bytes go into rpkt (an skb of MRU + PPP_HDRLEN + 2), the byte
// after PPP_ESCAPE XORed with PPP_TRANS, a flag ends the frame
// (process_input_packet), a control byte in the receive ACCM is line
// noise and dropped. A frame longer than the MRU is tossed to the next
// flag.
func (a *Async) pppAsyncInput(k *kernel.Kernel, buf []byte) {
	k.Call(fnPPPAsyncInput).Note = fmt.Sprintf("%d bytes to unstuff", len(buf))
	for _, c := range buf {
		switch {
		case c == PPPFlag:
			a.processInputPacket(k)
			continue
		case c == PPPEscape:
			a.state |= scEscape
			continue
		case c < 0x20 && a.racc&(1<<c) != 0:
			continue // a control character the peer would have escaped
		}
		if a.state&scToss != 0 {
			continue
		}
		if a.state&scEscape != 0 {
			c ^= PPPTrans
			a.state &^= scEscape
		}
		if a.rpkt == nil {
			a.rpkt = core.NetdevAllocSkb(k, a.mru+PPPHdrLen+2)
			if c != PPPAllStations {
				_ = a.rpkt.Reserve(2 + int(c&1)) // align the payload
			}
		}
		b, err := a.rpkt.PutBytes(1)
		if err != nil {
			a.state |= scToss // packet overflowed MRU
			continue
		}
		b[0] = c
	}
	k.RetVoid(fnPPPAsyncInput)
}

// processInputPacket is process_input_packet(), at a flag: check the
// frame (not tossed, no escape pending, at least 3 bytes, FCS good),
// trim the FCS, strip 0xff 0x03, and queue it on rqueue with the state
// (SC_PREV_ERROR if the frame before was bad) in cb[0]. A bad frame is
// freed and remembered as SC_PREV_ERROR.
func (a *Async) processInputPacket(k *kernel.Kernel) {
	s := a.rpkt
	if s == nil && a.state&(scToss|scEscape) == 0 {
		return // back-to-back flags: an empty frame
	}
	e := k.Call(fnProcessInputPacket, s)
	bad := ""
	switch {
	case a.state&scToss != 0:
		bad = "tossed (overflowed the MRU)"
	case a.state&scEscape != 0:
		bad = "ends in PPP_ESCAPE"
	case s.Len() < 3:
		bad = "too short"
	case FCS16(0xffff, s.Data()) != 0xf0b8:
		bad = fmt.Sprintf("bad FCS (0x%04x, want PPP_GOODFCS 0xf0b8)", FCS16(0xffff, s.Data()))
	}
	if bad == "" {
		s.Trim(s.Len() - 2)
		d := s.Data()
		if d[0] == PPPAllStations {
			if d[1] != PPPUI || s.Len() < 3 {
				bad = "address 0xff without control 0x03"
			} else {
				_ = s.Pull(2)
			}
		}
		if bad == "" && s.Data()[0]&1 == 0 && s.Len() < 2 {
			bad = "too short for a protocol field"
		}
	}
	if bad != "" {
		e.Note = "frame " + bad + ": dropped, SC_PREV_ERROR"
		a.state = scPrevError
		a.rpkt = nil
		a.BadFrames++
		if s != nil {
			core.KfreeSkbReason(k, s, skb.NotSpecified)
		}
		k.RetVoid(fnProcessInputPacket)
		return
	}
	s.CB[0] = byte(a.state)
	e.Note = fmt.Sprintf("good FCS; %d bytes from the protocol field on, queued for the tasklet", s.Len())
	if a.state&scPrevError != 0 {
		e.Note += " (cb[0] = SC_PREV_ERROR: the frame before was bad)"
	}
	a.rqueue = append(a.rqueue, s)
	k.Enqueue(a.rqueueName(), len(a.rqueue), s)
	a.rpkt, a.state = nil, 0
	k.RetVoid(fnProcessInputPacket)
}
