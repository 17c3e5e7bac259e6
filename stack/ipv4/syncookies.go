package ipv4

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"

	"skbscope/stack/header"
	"skbscope/stack/kernel"
	"skbscope/stack/skb"
)

// Syncookies (net/ipv4/syncookies.c): under a SYN flood, a listener
// whose queue of request socks is full keeps nothing for a SYN. The
// SYN-ACK's ISN encodes what it needs (a keyed hash of the 4-tuple and
// the peer's ISN, a minute counter, the MSS as an index into a table);
// the options that do not fit ride in the low bits of the timestamp. A
// valid ACK then rebuilds the request and makes the child.

const syncookiesC = "net/ipv4/syncookies.c"

var (
	fnTCPSynFloodAction = kernel.NewFn("tcp_syn_flood_action", tcpInputC, "tcp")
	fnCookieV4InitSeq   = kernel.NewFn("cookie_v4_init_sequence", syncookiesC, "tcp")
	fnTCPV4CookieCheck  = kernel.NewFn("tcp_v4_cookie_check", tcpIPv4C, "tcp")
	fnCookieV4Check     = kernel.NewFn("cookie_v4_check", syncookiesC, "tcp")
	fnTCPGetCookieSock  = kernel.NewFn("tcp_get_cookie_sock", syncookiesC, "tcp")
	msstabV4            = [...]int{536, 1300, 1440, 1460} // msstab: the MSS values a cookie can say
	syncookieValidNs    = int64(120_000_000_000)          // TCP_SYNCOOKIE_VALID: 2 minutes
	maxSyncookieAge     = uint32(2)                       // MAX_SYNCOOKIE_AGE, in minutes
	cookieBits          = 24                              // COOKIEBITS
	cookieMask          = uint32(1)<<cookieBits - 1       // COOKIEMASK
	tsOptWscaleMask     = uint32(0xf)                     // TS_OPT_WSCALE_MASK
	tsOptSack           = uint32(1) << 4                  // TS_OPT_SACK
	tsOptBits           = 6                               // TSBITS
)

// tcpSynFloodAction is tcp_syn_flood_action(): the request queue is
// full: with tcp_syncookies on (the default), send cookies.
func (n *Net) tcpSynFloodAction(k *kernel.Kernel, l *tcpSock) bool {
	k.Call(fnTCPSynFloodAction).Note = fmt.Sprintf("Possible SYN flooding on port %d. Sending cookies.", l.sk.Num)
	return kernel.Ret(k, fnTCPSynFloodAction, true)
}

// cookieCount is tcp_cookie_time(): a counter that ticks every minute.
func cookieCount(k *kernel.Kernel) uint32 { return uint32(k.Now() / 60_000_000_000) }

// cookieHash is the keyed hash of a connection's 4-tuple and count (the
// kernel's siphash with syncookie_secret; here FNV-1a over the host's
// secret, which is just as deterministic in the simulation).
func (n *Net) cookieHash(r *requestSock, count uint32, c int) uint32 {
	if n.cookieSecret == 0 {
		n.cookieSecret = n.K.Sim.Rand().Uint64()
	}
	h := fnv.New32a()
	var b [8 + 4 + 4 + 2 + 2 + 4 + 1]byte
	binary.BigEndian.PutUint64(b[0:], n.cookieSecret)
	copy(b[8:], r.raddr.AsSlice())
	copy(b[12:], r.laddr.AsSlice())
	binary.BigEndian.PutUint16(b[16:], r.rport)
	binary.BigEndian.PutUint16(b[18:], r.lport)
	binary.BigEndian.PutUint32(b[20:], count)
	b[24] = byte(c)
	h.Write(b[:])
	return h.Sum32()
}

// cookieV4InitSequence is cookie_v4_init_sequence(): the SYN-ACK's ISN
// as a syncookie: hash + the peer's ISN + the minute counter in the top
// 8 bits + (a second hash + the MSS index) in the low 24. The listener
// remembers when it last overflowed (tcp_synq_overflow).
func (n *Net) cookieV4InitSequence(k *kernel.Kernel, l *tcpSock, r *requestSock) {
	e := k.Call(fnCookieV4InitSeq)
	mssind := 0
	for i := len(msstabV4) - 1; i >= 0; i-- {
		if r.mss >= msstabV4[i] {
			mssind = i
			break
		}
	}
	r.mss = msstabV4[mssind]
	count := cookieCount(k)
	r.isn = n.cookieHash(r, 0, 0) + r.rcvIsn + count<<cookieBits + (n.cookieHash(r, count, 1)+uint32(mssind))&cookieMask
	r.cookie, r.tsOffset = true, 0
	l.lastOverflow = k.Now()
	e.Note = fmt.Sprintf("mss %d (index %d), minute %d: ISN %d", r.mss, mssind, count, r.isn)
	kernel.Ret(k, fnCookieV4InitSeq, kernel.Err(0))
}

// cookieInitTimestamp is cookie_init_timestamp(): the SYN-ACK's TSval
// with the peer's window scale and SACK permission in its low 6 bits.
func cookieInitTimestamp(k *kernel.Kernel, r *requestSock) uint32 {
	opts := tsOptWscaleMask
	if r.wscale >= 0 && r.sndWscale >= 0 {
		opts = uint32(r.sndWscale) & tsOptWscaleMask
	}
	if r.sackOK {
		opts |= tsOptSack
	}
	ts := tsNow(k)&^(1<<tsOptBits-1) | opts
	if ts > tsNow(k) { // never in the future
		ts -= 1 << tsOptBits
	}
	return ts
}

// tcpV4CookieCheck is tcp_v4_cookie_check(): a segment without SYN on a
// listener may be the ACK of a cookie SYN-ACK (cookie_v4_check). It
// returns the child; or nil and valid false to let the listener handle
// the segment; or nil and valid true when the cookie was good but no
// child could be made (the accept queue is full), and the segment is to
// be dropped.
func (n *Net) tcpV4CookieCheck(k *kernel.Kernel, l *tcpSock, s *skb.SKB) (child *tcpSock, valid bool) {
	in := rcvInfoOf(s)
	if in.fl&header.TCPSyn != 0 || in.fl&header.TCPAck == 0 || in.fl&header.TCPRst != 0 ||
		l.lastOverflow == 0 || k.Now()-l.lastOverflow > syncookieValidNs { // tcp_synq_no_recent_overflow
		return nil, false
	}
	k.Call(fnTCPV4CookieCheck, s)
	child, valid = n.cookieV4Check(k, l, s, in)
	switch {
	case child != nil:
		k.RetS(fnTCPV4CookieCheck, child.name())
	case valid:
		k.RetS(fnTCPV4CookieCheck, "NULL")
	default:
		k.RetS(fnTCPV4CookieCheck, "sk (the listener)")
	}
	return child, valid
}

// cookieV4Check is cookie_v4_check(): decode the cookie in ack - 1. If
// it is valid (the hashes match, at most two minutes old, a known MSS
// index), rebuild the request from it and from the options in the
// echoed timestamp, and make the child (tcp_get_cookie_sock).
func (n *Net) cookieV4Check(k *kernel.Kernel, l *tcpSock, s *skb.SKB, in *tcpRcvInfo) (*tcpSock, bool) {
	e := k.Call(fnCookieV4Check, s)
	r := &requestSock{listener: l, laddr: in.ip.Dst(), raddr: in.ip.Src(), lport: in.th.DstPort(), rport: in.th.SrcPort(),
		rcvIsn: in.seq - 1, isn: in.ack - 1, cookie: true, wscale: -1, sndWscale: -1}
	v := r.isn - n.cookieHash(r, 0, 0) - r.rcvIsn
	count := cookieCount(k)
	age := (count - v>>cookieBits) & (1<<(32-cookieBits) - 1)
	mssind := (v - n.cookieHash(r, count-age, 1)) & cookieMask
	if age >= maxSyncookieAge || mssind >= uint32(len(msstabV4)) {
		e.Note = fmt.Sprintf("ack %d is not one of our cookies", in.ack)
		kernel.Ret(k, fnCookieV4Check, kernel.Err(0))
		return nil, false
	}
	r.mss = msstabV4[mssind]
	wsOK := false
	if in.opts.TS { // cookie_timestamp_decode: without timestamps the options are lost
		r.tstampOK, r.tsRecent = true, in.opts.TSVal
		if ws := in.opts.TSEcr & tsOptWscaleMask; ws != tsOptWscaleMask {
			r.sndWscale, wsOK = min(int(ws), tcpMaxWscale), true
		}
		r.sackOK = in.opts.TSEcr&tsOptSack != 0
	}
	rmss := r.mss
	if r.tstampOK {
		rmss -= 12
	}
	var ws int
	r.rcvWnd, ws, r.windowClamp = selectInitialWindow(k, tcpFullSpace(l), rmss)
	if wsOK {
		r.wscale = ws
	}
	e.Note = fmt.Sprintf("a valid cookie: mss %d, minute %d%s", r.mss, count-age, optNote(header.TCPOptions{SACKPerm: r.sackOK, WScale: r.sndWscale}))
	kernel.Ret(k, fnCookieV4Check, kernel.Err(0))
	return n.tcpGetCookieSock(k, l, r), true
}

// tcpGetCookieSock is tcp_get_cookie_sock(): syn_recv_sock makes the
// child, which goes straight on the accept queue (there is no request
// sock to replace).
func (n *Net) tcpGetCookieSock(k *kernel.Kernel, l *tcpSock, r *requestSock) *tcpSock {
	k.Call(fnTCPGetCookieSock)
	c := n.tcpV4SynRecvSock(k, r)
	if c == nil {
		k.RetS(fnTCPGetCookieSock, "NULL")
		return nil
	}
	n.inetCskReqskQueueAdd(k, l, c)
	k.RetS(fnTCPGetCookieSock, c.name())
	return c
}
