// Package ppp models the kernel's PPP over an asynchronous serial line:
// the generic PPP unit (drivers/net/ppp/ppp_generic.c, the ppp0
// net_device), its async channel (ppp_async.c, the N_PPP tty line
// discipline) and the 8250 UART under the tty (serial_core.go) that
// puts the bytes on the wire.
//
// The generic part lives here rather than under stack/: in Linux it is a
// driver (drivers/net/ppp), reached from the stack only through
// ndo_start_xmit and netif_rx like any NIC driver, and it is only ever
// used with a channel below it. Keeping unit, channel and UART in one
// package puts ppp_start_xmit beside the line it ends on, as the other
// NIC packages keep a driver beside its hardware.
//
// What pppd does is taken as done: LCP and IPCP are up, no compression
// (no VJ, no CCP, no address/control or protocol field compression),
// the async control character map RFC 1662 starts with (escape every
// byte below 0x20: what ppp_asynctty_open sets and what pppd keeps with
// its default-asyncmap option; a pppd that negotiated asyncmap 0 would
// escape only 0x7d and 0x7e), one channel, no multilink, no PPP filter.
//
// Sources: https://elixir.bootlin.com/linux/v6.12/source/drivers/net/ppp/ppp_generic.c
// and https://elixir.bootlin.com/linux/v6.12/source/drivers/net/ppp/ppp_async.c
package ppp

import (
	"encoding/binary"
	"fmt"

	"skbscope/nicsim"
	"skbscope/stack/core"
	"skbscope/stack/kernel"
	"skbscope/stack/skb"
	"skbscope/stack/trace"
)

const pppGenericC = "drivers/net/ppp/ppp_generic.c"

var (
	fnPPPStartXmit         = kernel.NewFn("ppp_start_xmit", pppGenericC, "driver")
	fnPPPXmitProcess       = kernel.NewFn("ppp_xmit_process", pppGenericC, "driver")
	fnPPPXmitProcessLocked = kernel.NewFn("__ppp_xmit_process", pppGenericC, "driver")
	fnPPPSendFrame         = kernel.NewFn("ppp_send_frame", pppGenericC, "driver")
	fnPPPPush              = kernel.NewFn("ppp_push", pppGenericC, "driver")
	fnPPPOutputWakeup      = kernel.NewFn("ppp_output_wakeup", pppGenericC, "driver")
	fnPPPChannelPush       = kernel.NewFn("ppp_channel_push", pppGenericC, "driver")
	fnPPPInput             = kernel.NewFn("ppp_input", pppGenericC, "driver")
	fnPPPInputError        = kernel.NewFn("ppp_input_error", pppGenericC, "driver")
	fnPPPDoRecv            = kernel.NewFn("ppp_do_recv", pppGenericC, "driver")
	fnPPPReceiveFrame      = kernel.NewFn("ppp_receive_frame", pppGenericC, "driver")
	fnPPPReceiveNonmpFrame = kernel.NewFn("ppp_receive_nonmp_frame", pppGenericC, "driver")
	fnPPPReceiveError      = kernel.NewFn("ppp_receive_error", pppGenericC, "driver")
)

// PPP header constants (include/uapi/linux/ppp_defs.h).
const (
	PPPHdrLen      = 4    // PPP_HDRLEN: address, control, 2-byte protocol
	PPPAllStations = 0xff // PPP_ALLSTATIONS, the address field
	PPPUI          = 0x03 // PPP_UI, the control field
	PPPIP          = 0x0021
	PPPLCP         = 0xc021
	pppCCPFrag     = 0x80fd
	pppMaxRQLen    = 32 // PPP_MAX_RQLEN
	// TxQueueLen is what ppp_setup gives dev->tx_queue_len: 3.
	TxQueueLen = 3
	// MRU is PPP_MRU, also ppp_setup's MTU.
	MRU = 1500
)

// npindex: the network protocols a PPP unit carries, PPP number and
// ethertype (npindex_to_proto, npindex_to_ethertype).
var npProtos = [...]struct{ ppp, eth uint16 }{
	{0x0021, 0x0800}, {0x0057, 0x86dd}, {0x002b, 0x8137},
	{0x0029, 0x809b}, {0x0281, 0x8847}, {0x0283, 0x8848},
}

func ethertypeToNpindex(eth uint16) int {
	if eth == 0x80f3 { // ETH_P_PPPTALK
		return 3
	}
	for i, p := range npProtos {
		if p.eth == eth {
			return i
		}
	}
	return -1
}

func protoToNpindex(proto uint16) int {
	for i, p := range npProtos {
		if p.ppp == proto {
			return i
		}
	}
	return -1
}

// PPP is struct ppp, a PPP unit (ppp0) with its one channel. Its device
// has no header_ops, no hardware address, IFF_POINTOPOINT|IFF_NOARP.
type PPP struct {
	k   *kernel.Kernel
	Dev *core.Device
	Ch  *Async

	xq            []*skb.SKB // ppp->file.xq: frames waiting for the channel
	rq            []*skb.SKB // ppp->file.rq: frames for pppd
	xmitPending   *skb.SKB   // the frame the channel has not taken yet
	xmitRecursion int        // ppp->xmit_recursion on this CPU

	// dev->stats the driver keeps itself.
	RxErrors, RxLengthErrors, TxErrors int
}

// Setup is ppp_setup() plus the ioctls pppd issues: the device's flags,
// header length and queue length, and the channel attached.
func Setup(k *kernel.Kernel, dev *core.Device) *PPP {
	p := &PPP{k: k, Dev: dev}
	dev.Ops = p
	dev.Driver = "ppp"
	dev.HardHeaderLen = PPPHdrLen
	dev.PointToPoint, dev.NoHeaderOps = true, true
	dev.Features = core.FeatSG // NETIF_F_SG | NETIF_F_FRAGLIST: no checksum offload
	p.Ch = newAsync(k, p)
	return p
}

func (p *PPP) xqName() string { return p.Dev.Name + " ppp->file.xq" }

// NdoStartXmit is ppp_start_xmit(): find the network protocol's index,
// check it may pass (NPMODE_PASS: IPCP is up), push the 2-byte PPP
// protocol number and hand the skb to ppp_xmit_process. It always
// returns NETDEV_TX_OK: flow control is netif_stop_queue in
// __ppp_xmit_process, never NETDEV_TX_BUSY.
func (p *PPP) NdoStartXmit(k *kernel.Kernel, s *skb.SKB, dev *core.Device) core.NetdevTx {
	e := k.Call(fnPPPStartXmit, s)
	npi := ethertypeToNpindex(s.Protocol)
	if npi < 0 {
		e.Note = fmt.Sprintf("protocol 0x%04x has no PPP network protocol: dropped", s.Protocol)
		p.Dev.TxDropped++
		core.KfreeSkbReason(k, s, skb.NotSpecified)
		return kernel.Ret(k, fnPPPStartXmit, core.NetdevTxOK)
	}
	if s.Headroom() < PPPHdrLen { // skb_cow_head would reallocate; the model's skbs always have room
		e.Note = "skb_cow_head: no headroom for the PPP header"
		p.Dev.TxDropped++
		core.KfreeSkbReason(k, s, skb.NotSpecified)
		return kernel.Ret(k, fnPPPStartXmit, core.NetdevTxOK)
	}
	h, _ := s.Push(2)
	binary.BigEndian.PutUint16(h, npProtos[npi].ppp)
	e.Note = fmt.Sprintf("npmode[%d] = NPMODE_PASS; skb_push 2: PPP protocol 0x%04x; skb_scrub_packet drops the route", npi, npProtos[npi].ppp)
	s.Dst, s.PktType = nil, skb.PacketHost
	p.pppXmitProcess(k, s)
	return kernel.Ret(k, fnPPPStartXmit, core.NetdevTxOK)
}

// pppXmitProcess is ppp_xmit_process(): bottom halves off, and a
// per-CPU recursion guard (a channel whose output loops back into this
// unit would otherwise recurse forever).
func (p *PPP) pppXmitProcess(k *kernel.Kernel, s *skb.SKB) {
	k.Call(fnPPPXmitProcess, s)
	k.LocalBhDisable()
	if p.xmitRecursion > 0 {
		k.LocalBhEnable()
		k.Note(trace.State, p.Dev.Name+": recursion detected", s)
		core.KfreeSkbReason(k, s, skb.NotSpecified)
		k.RetVoid(fnPPPXmitProcess)
		return
	}
	p.xmitRecursion++
	p.xmitProcessLocked(k, s)
	p.xmitRecursion--
	k.LocalBhEnable()
	k.RetVoid(fnPPPXmitProcess)
}

// xmitProcessLocked is __ppp_xmit_process(): first retry the frame the
// channel refused, then queue the new skb on file.xq and send from it
// while the channel takes frames. Nothing left: netif_wake_queue; a
// frame still pending: netif_stop_queue, until the channel's wakeup
// comes back here.
func (p *PPP) xmitProcessLocked(k *kernel.Kernel, s *skb.SKB) {
	k.Call(fnPPPXmitProcessLocked, s)
	p.pppPush(k)
	if s != nil {
		p.xq = append(p.xq, s)
		k.Enqueue(p.xqName(), len(p.xq), s)
	}
	for p.xmitPending == nil && len(p.xq) > 0 {
		x := p.xq[0]
		p.xq = p.xq[1:]
		k.Dequeue(p.xqName(), len(p.xq), x)
		p.pppSendFrame(k, x)
	}
	if p.xmitPending == nil && len(p.xq) == 0 {
		p.Dev.NetifWakeQueue(k)
	} else {
		p.Dev.NetifStopQueue(k)
	}
	k.RetVoid(fnPPPXmitProcessLocked)
}

// pppSendFrame is ppp_send_frame(): count the frame, skip VJ and CCP
// compression (not negotiated), make it xmit_pending and push it.
func (p *PPP) pppSendFrame(k *kernel.Kernel, s *skb.SKB) {
	e := k.Call(fnPPPSendFrame, s)
	s.Dev = p.Dev.Name
	proto := binary.BigEndian.Uint16(s.Data())
	e.Note = fmt.Sprintf("protocol 0x%04x; no VJ header compression, no CCP: the frame goes as it is", proto)
	p.Dev.TxPackets++
	p.Dev.TxBytes += s.Len() - 2
	p.xmitPending = s
	p.pppPush(k)
	k.RetVoid(fnPPPSendFrame)
}

// pppPush is ppp_push(): offer xmit_pending to the first channel's
// start_xmit (ppp_async_send). Taken, it is no longer pending; refused,
// it stays for the next try.
func (p *PPP) pppPush(k *kernel.Kernel) {
	s := p.xmitPending
	e := k.Call(fnPPPPush, s)
	if s == nil {
		e.Note = "nothing pending"
		k.RetVoid(fnPPPPush)
		return
	}
	if p.Ch == nil {
		e.Note = "no channel: nowhere to send it"
		p.xmitPending = nil
		core.KfreeSkbReason(k, s, skb.NotSpecified)
		k.RetVoid(fnPPPPush)
		return
	}
	seq := e.Seq
	if p.Ch.pppAsyncSend(k, s) != 0 {
		p.xmitPending = nil
		noteAt(k, seq, "the channel took the frame")
	} else {
		noteAt(k, seq, "the channel is full: the frame stays in xmit_pending")
	}
	k.RetVoid(fnPPPPush)
}

// pppOutputWakeup is ppp_output_wakeup(): the channel can take more, so
// ppp_channel_push runs the unit's transmit side again.
func (p *PPP) pppOutputWakeup(k *kernel.Kernel) {
	k.Call(fnPPPOutputWakeup)
	k.Call(fnPPPChannelPush).Note = "the channel's own queue (frames pppd wrote) is empty: on to the unit, __ppp_xmit_process"
	p.xmitRecursion++
	p.xmitProcessLocked(k, nil)
	p.xmitRecursion--
	k.RetVoid(fnPPPChannelPush)
	k.RetVoid(fnPPPOutputWakeup)
}

// pppInput is ppp_input(): a frame from the channel. Its protocol field
// is made 2 bytes (undoing protocol field compression); LCP, other
// control protocols and CCP fragments go to the channel's queue for
// pppd, the rest to the unit.
func (p *PPP) pppInput(k *kernel.Kernel, s *skb.SKB) {
	e := k.Call(fnPPPInput, s)
	if s.Len() >= 1 && s.Data()[0]&1 != 0 {
		if h, err := s.Push(1); err == nil {
			h[0] = 0 // __ppp_decompress_proto
		}
	}
	if s.Len() < 2 {
		e.Note = "shorter than a protocol field"
		core.KfreeSkbReason(k, s, skb.NotSpecified)
		p.RxLengthErrors++
		p.pppReceiveError(k)
		k.RetVoid(fnPPPInput)
		return
	}
	proto := binary.BigEndian.Uint16(s.Data())
	if proto >= 0xc000 || proto == pppCCPFrag {
		e.Note = fmt.Sprintf("protocol 0x%04x is for pppd: the channel's receive queue", proto)
		p.queueForPppd(k, s)
		k.RetVoid(fnPPPInput)
		return
	}
	e.Note = fmt.Sprintf("protocol 0x%04x: to the unit", proto)
	p.pppDoRecv(k, s)
	k.RetVoid(fnPPPInput)
}

// queueForPppd puts a frame on a file's receive queue, which pppd
// reads (not modelled: frames stay there), dropping the oldest beyond
// PPP_MAX_RQLEN.
func (p *PPP) queueForPppd(k *kernel.Kernel, s *skb.SKB) {
	q := p.Dev.Name + " ppp->file.rq (for pppd)"
	p.rq = append(p.rq, s)
	k.Enqueue(q, len(p.rq), s)
	for len(p.rq) > pppMaxRQLen {
		old := p.rq[0]
		p.rq = p.rq[1:]
		k.Dequeue(q, len(p.rq), old)
		core.KfreeSkbReason(k, old, skb.NotSpecified)
	}
}

// pppInputError is ppp_input_error(): the channel saw a bad frame
// before this one; a 0-length skb through ppp_do_recv tells the unit.
func (p *PPP) pppInputError(k *kernel.Kernel) {
	k.Call(fnPPPInputError).Note = "the channel dropped a bad frame: a 0-length skb tells the unit"
	s := core.AllocSkb(k, 0)
	p.pppDoRecv(k, s)
	k.RetVoid(fnPPPInputError)
}

// pppDoRecv is ppp_do_recv(): under the unit's receive lock, unless the
// unit is closing, ppp_receive_frame.
func (p *PPP) pppDoRecv(k *kernel.Kernel, s *skb.SKB) {
	k.Call(fnPPPDoRecv, s)
	p.pppReceiveFrame(k, s)
	k.RetVoid(fnPPPDoRecv)
}

// pppReceiveFrame is ppp_receive_frame(): a 0-length skb is an error
// indication (free it, count rx_errors); any other frame is not
// multilink here, so ppp_receive_nonmp_frame.
func (p *PPP) pppReceiveFrame(k *kernel.Kernel, s *skb.SKB) {
	e := k.Call(fnPPPReceiveFrame, s)
	if s.Len() == 0 {
		e.Note = "0-length skb: the channel reports an error"
		core.KfreeSkbReason(k, s, skb.NotSpecified)
		p.pppReceiveError(k)
		k.RetVoid(fnPPPReceiveFrame)
		return
	}
	p.pppReceiveNonmpFrame(k, s)
	k.RetVoid(fnPPPReceiveFrame)
}

// pppReceiveError is ppp_receive_error(): count dev->stats.rx_errors
// (and reset VJ decompression, not in use here).
func (p *PPP) pppReceiveError(k *kernel.Kernel) {
	p.RxErrors++
	k.Call(fnPPPReceiveError).Note = fmt.Sprintf("%s rx_errors = %d", p.Dev.Name, p.RxErrors)
	k.RetVoid(fnPPPReceiveError)
}

// pppReceiveNonmpFrame is ppp_receive_nonmp_frame(): no decompression
// to do; count the frame; a network protocol frame loses its protocol
// field, gets skb->protocol from it and goes to netif_rx (the per-CPU
// backlog, as a non-NAPI driver does); anything else goes to pppd.
func (p *PPP) pppReceiveNonmpFrame(k *kernel.Kernel, s *skb.SKB) {
	e := k.Call(fnPPPReceiveNonmpFrame, s)
	proto := binary.BigEndian.Uint16(s.Data())
	p.Dev.RxPackets++
	p.Dev.RxBytes += s.Len() - 2
	npi := protoToNpindex(proto)
	switch {
	case npi < 0:
		e.Note = fmt.Sprintf("protocol 0x%04x is a control protocol: for pppd", proto)
		p.queueForPppd(k, s)
	case !p.Dev.Up:
		e.Note = p.Dev.Name + " is down: dropped"
		core.KfreeSkbReason(k, s, skb.NotSpecified)
	default:
		_ = s.Pull(2)
		s.Dev = p.Dev.Name
		s.Protocol = npProtos[npi].eth
		s.ResetMACHeader()
		s.Dst, s.PktType = nil, skb.PacketHost
		e.Note = fmt.Sprintf("protocol 0x%04x: skb_pull_rcsum 2, skb->protocol = 0x%04x, netif_rx", proto, s.Protocol)
		p.Dev.Net.NetifRxAny(k, s)
	}
	k.RetVoid(fnPPPReceiveNonmpFrame)
}

// noteAt sets the note of event seq: an *trace.Event from k.Call is
// only good until the next event is recorded.
func noteAt(k *kernel.Kernel, seq int, note string) { k.Sim.Trace().Events[seq].Note = note }

// Port is the end of the serial line this unit's channel writes to.
func (p *PPP) Port() nicsim.Port { return p.Ch.tty }

// SetLink plugs the serial cable into the UART.
func (p *PPP) SetLink(l *nicsim.Link) { p.Ch.tty.Link = l }
