package ipv4

import (
	"fmt"
	"net/netip"

	"skbscope/stack/core"
	"skbscope/stack/header"
	"skbscope/stack/kernel"
	"skbscope/stack/netfilter"
	"skbscope/stack/skb"
	"skbscope/stack/socket"
	"skbscope/stack/trace"
)

const ipOutputC = "net/ipv4/ip_output.c"

var (
	fnIPMakeSkb         = kernel.NewFn("ip_make_skb", ipOutputC, "ip")
	fnIPAppendData      = kernel.NewFn("__ip_append_data", ipOutputC, "ip")
	fnIPGenericGetfrag  = kernel.NewFn("ip_generic_getfrag", ipOutputC, "ip")
	fnIPAppendDataQ     = kernel.NewFn("ip_append_data", ipOutputC, "ip")
	fnIPPushPending     = kernel.NewFn("ip_push_pending_frames", ipOutputC, "ip")
	writeQueue          = "sk_write_queue"
	fnIPMakeSkbInner    = kernel.NewFn("__ip_make_skb", ipOutputC, "ip")
	fnIPSendSkb         = kernel.NewFn("ip_send_skb", ipOutputC, "ip")
	fnIPLocalOut        = kernel.NewFn("ip_local_out", ipOutputC, "ip")
	fnIPLocalOutInner   = kernel.NewFn("__ip_local_out", ipOutputC, "ip")
	fnDstOutput         = kernel.NewFn("dst_output", "include/net/dst.h", "ip")
	fnIPOutput          = kernel.NewFn("ip_output", ipOutputC, "ip")
	fnIPFinishOutput    = kernel.NewFn("ip_finish_output", ipOutputC, "ip")
	fnIPFinishOutputIn  = kernel.NewFn("__ip_finish_output", ipOutputC, "ip")
	fnIPFinishOutput2   = kernel.NewFn("ip_finish_output2", ipOutputC, "ip")
	fnIPNeighForGw      = kernel.NewFn("ip_neigh_for_gw", "include/net/route.h", "neigh")
	fnIPFragment        = kernel.NewFn("ip_fragment", ipOutputC, "ip")
	fnIPDoFragment      = kernel.NewFn("ip_do_fragment", ipOutputC, "ip")
	fnIPFraglistInit    = kernel.NewFn("ip_fraglist_init", ipOutputC, "ip")
	fnIPFraglistPrepare = kernel.NewFn("ip_fraglist_prepare", ipOutputC, "ip")
	fnIPFragInit        = kernel.NewFn("ip_frag_init", ipOutputC, "ip")
	fnIPFragNext        = kernel.NewFn("ip_frag_next", ipOutputC, "ip")
	fnIPFragIpcb        = kernel.NewFn("ip_frag_ipcb", ipOutputC, "ip")
	fnIPOptionsFragment = kernel.NewFn("ip_options_fragment", "net/ipv4/ip_options.c", "ip")
	corkQueue           = "ip_make_skb queue (on stack)"
	maxNonFragSize      = 0xffff
	ipPmtudiscWantNotes = "DF: IP_PMTUDISC_WANT and the datagram fits the route's MTU"
)

// ipMakeSkb is ip_make_skb(): build one datagram on a private queue
// (__ip_append_data: one skb, or one per fragment when the datagram is
// larger than the MTU) and turn the queue into a single skb with its IP
// header (__ip_make_skb), the later skbs on its frag_list. skip bytes are
// left for the transport header, which the caller writes. It may sleep
// for send buffer space.
func (n *Net) ipMakeSkb(k *kernel.Kernel, t *kernel.Task, sk *socket.Sock, fl *Flowi4, rt *Rtable, data []byte, skip int, noblock bool, done func(*skb.SKB, int)) {
	k.Call(fnIPMakeSkb)
	n.ipAppendData(k, t, sk, rt, fnIPGenericGetfrag, data, skip, noblock, func(list []*skb.SKB, err int) {
		if err < 0 {
			k.RetS(fnIPMakeSkb, kernel.Err(err).String())
			done(nil, err)
			return
		}
		for i, s := range list {
			k.Enqueue(corkQueue, i+1, s)
		}
		s := n.ipMakeSkbInner(k, sk, fl, rt, list, corkQueue)
		k.RetS(fnIPMakeSkb, "skb", s)
		done(s, 0)
	})
}

// ipAppendDataQueued is ip_append_data(): the corked path, which builds
// the datagram on sk_write_queue (one skb, or one per fragment) until
// ip_push_pending_frames sends it.
func (n *Net) ipAppendDataQueued(k *kernel.Kernel, t *kernel.Task, sk *socket.Sock, rt *Rtable, getfrag *kernel.Fn, data []byte, noblock bool, done func(int)) {
	k.Call(fnIPAppendDataQ)
	n.ipAppendData(k, t, sk, rt, getfrag, data, 0, noblock, func(list []*skb.SKB, err int) {
		if err < 0 {
			done(int(kernel.Ret(k, fnIPAppendDataQ, kernel.Err(err))))
			return
		}
		for _, s := range list {
			sk.WriteQueue = append(sk.WriteQueue, s)
			k.Enqueue(sk.QueueName(writeQueue), len(sk.WriteQueue), s)
		}
		done(int(kernel.Ret(k, fnIPAppendDataQ, kernel.Err(0))))
	})
}

// ipPushPendingFrames is ip_push_pending_frames(): ip_finish_skb (which
// is __ip_make_skb on sk_write_queue), then ip_send_skb.
func (n *Net) ipPushPendingFrames(k *kernel.Kernel, sk *socket.Sock, fl *Flowi4, rt *Rtable) int {
	k.Call(fnIPPushPending)
	if len(sk.WriteQueue) == 0 {
		return int(kernel.Ret(k, fnIPPushPending, kernel.Err(0)))
	}
	list := sk.WriteQueue
	sk.WriteQueue = nil
	s := n.ipMakeSkbInner(k, sk, fl, rt, list, sk.QueueName(writeQueue))
	err := n.ipSendSkb(k, s)
	return int(kernel.Ret(k, fnIPPushPending, kernel.Err(err)))
}

// ipAppendData is __ip_append_data(). A datagram that fits the MTU gets
// one skb: room for the link-layer header (hh_len) reserved, the IP
// header's space put, skip bytes left for the transport header, and
// getfrag copying the data after them; a device that checksums gets
// CHECKSUM_PARTIAL. A larger one becomes a chain of skbs of maxfraglen bytes each, every one with room
// for its own IP header, and no checksum offload: the UDP checksum must
// cover all fragments, so the stack computes it. A socket that does not
// let its datagrams be fragmented (IP_PMTUDISC_DO) gets -EMSGSIZE here.
// The first allocation may sleep for send buffer space.
func (n *Net) ipAppendData(k *kernel.Kernel, t *kernel.Task, sk *socket.Sock, rt *Rtable, getfrag *kernel.Fn, data []byte, skip int, noblock bool, done func([]*skb.SKB, int)) {
	e := k.Call(fnIPAppendData)
	fail := func(err int) { done(nil, int(kernel.Ret(k, fnIPAppendData, kernel.Err(err)))) }
	const fragheaderlen = header.IPv4MinLen
	length := len(data) + skip
	mtu := rt.MTU
	maxnonfragsize := maxNonFragSize
	if !sk.IgnoreDF() {
		maxnonfragsize = mtu
	}
	if length > maxnonfragsize-fragheaderlen {
		if maxnonfragsize == mtu {
			e.Note = fmt.Sprintf("IP_PMTUDISC_DO: %d bytes + IP header > mtu %d and the datagram may not be fragmented: -EMSGSIZE (ip_local_error queues the MTU for an IP_RECVERR socket)", length, mtu)
		} else {
			e.Note = fmt.Sprintf("%d bytes do not fit in one IP datagram (64 KiB)", length)
		}
		fail(-kernel.EMSGSIZE)
		return
	}
	hhLen := rt.Dev.LLReservedSpace()
	if length+fragheaderlen <= mtu {
		fraglen := length + fragheaderlen
		alloclen := fraglen + hhLen + 15
		e.Note = fmt.Sprintf("one skb: %d bytes of IP datagram + hh_len %d + 15 of slack", fraglen, hhLen)
		core.SockAllocSendSkb(k, t, sk, alloclen, noblock, func(s *skb.SKB, err int) {
			if err < 0 {
				fail(err)
				return
			}
			// The transport header is in this skb and the datagram fits the
			// MTU: a device that checksums lets the NIC do it.
			s.IPSummed = skb.ChecksumNone
			if skip > 0 && fraglen <= rt.MTU && rt.Dev.Features&core.FeatHWCsum != 0 {
				s.IPSummed = skb.ChecksumPartial
			}
			if s.Reserve(hhLen) != nil || s.PutBytesErr(fraglen) != nil {
				core.KfreeSkbReason(k, s, skb.NotSpecified)
				fail(-kernel.ENOMEM)
				return
			}
			s.SetNetworkHeader(0)
			s.TransportHeader = s.NetworkHeader + fragheaderlen
			getfragCopy(k, getfrag, s, s.TransportHeader+skip, data)
			kernel.Ret(k, fnIPAppendData, kernel.Err(0), s)
			done([]*skb.SKB{s}, 0)
		})
		return
	}
	// Fragment-sized pieces: maxfraglen keeps each fragment's data a
	// multiple of 8 bytes, as the offset field counts 8-byte units.
	maxfraglen := (mtu-fragheaderlen)&^7 + fragheaderlen
	pieces := (length + maxfraglen - fragheaderlen - 1) / (maxfraglen - fragheaderlen)
	e.Note = fmt.Sprintf("%d bytes > mtu %d - %d: %d skbs of at most maxfraglen %d bytes, CHECKSUM_NONE (no offload for a datagram that will be fragmented)",
		length, mtu, fragheaderlen, pieces, maxfraglen)
	var list []*skb.SKB
	// fill puts one piece in s: its IP header's space, then its part
	// of the transport header and data.
	fill := func(s *skb.SKB, datalen, transhdrlen int) bool {
		s.IPSummed = skb.ChecksumNone
		if s.Reserve(hhLen) != nil || s.PutBytesErr(datalen+fragheaderlen) != nil {
			return false
		}
		s.SetNetworkHeader(0)
		s.TransportHeader = s.NetworkHeader + fragheaderlen
		copyLen := datalen - transhdrlen
		getfragCopy(k, getfrag, s, s.TransportHeader+transhdrlen, data[:copyLen])
		data = data[copyLen:]
		list = append(list, s)
		return true
	}
	flush := func(err int) {
		// ip_make_skb's __ip_flush_pending_frames frees what was built.
		for _, s := range list {
			core.KfreeSkbReason(k, s, skb.NotSpecified)
		}
		fail(err)
	}
	datalen := min(length, maxfraglen-fragheaderlen)
	core.SockAllocSendSkb(k, t, sk, datalen+fragheaderlen+hhLen+15, noblock, func(s *skb.SKB, err int) {
		if err < 0 {
			fail(err)
			return
		}
		if !fill(s, datalen, skip) {
			list = append(list, s)
			flush(-kernel.ENOMEM)
			return
		}
		for left := length - datalen; left > 0; left -= datalen {
			datalen = min(left, maxfraglen-fragheaderlen)
			// Without a transport header to write, the later pieces come
			// from alloc_skb, charged to the socket up to twice sk_sndbuf.
			if sk.WmemAlloc > 2*sk.SndBuf {
				k.Note(trace.State, fmt.Sprintf("sk_wmem_alloc %d > 2 × sk_sndbuf %d: -ENOBUFS", sk.WmemAlloc, sk.SndBuf))
				flush(-kernel.ENOBUFS)
				return
			}
			s := core.AllocSkb(k, datalen+fragheaderlen+hhLen+15)
			core.SkbSetOwnerW(k, s, sk)
			if !fill(s, datalen, 0) {
				list = append(list, s)
				flush(-kernel.ENOMEM)
				return
			}
		}
		kernel.Ret(k, fnIPAppendData, kernel.Err(0), list[0])
		done(list, 0)
	})
}

// getfragCopy is the getfrag callback (ip_generic_getfrag for a user's
// buffer, icmp_glue_bits for an ICMP message, ping_getfrag for ping):
// copy the bytes into the skb.
func getfragCopy(k *kernel.Kernel, getfrag *kernel.Fn, s *skb.SKB, off int, data []byte) {
	k.Call(getfrag, s)
	copy(s.At(off, len(data)), data)
	k.Spend(int64(len(data)) / 16)
	kernel.Ret(k, getfrag, kernel.Err(0), s)
}

// ipMakeSkbInner is __ip_make_skb(): take the skbs off the queue, chain
// the later ones on the first one's frag_list (their IP header space
// pulled off: ip_do_fragment will push it back), and write the IP header,
// leaving tot_len and the checksum to __ip_local_out.
func (n *Net) ipMakeSkbInner(k *kernel.Kernel, sk *socket.Sock, fl *Flowi4, rt *Rtable, list []*skb.SKB, queue string) *skb.SKB {
	s := list[0]
	e := k.Call(fnIPMakeSkbInner, s)
	k.Dequeue(queue, len(list)-1, s)
	for i, tmp := range list[1:] {
		k.Dequeue(queue, len(list)-2-i, tmp)
		_ = tmp.Pull(tmp.TransportHeader - tmp.NetworkHeader)
		// The head now carries the piece's memory (truesize): the piece
		// loses its owner and destructor.
		tmp.Destructor, tmp.Sk, tmp.Owner = nil, "", nil
		s.AddFrag(tmp)
	}
	// DF: always for IP_PMTUDISC_DO and PROBE; for WANT when the
	// datagram fits the route's MTU (ip_dont_fragment).
	pm := sk.PMTUDisc()
	df := pm == socket.IPPmtudiscDo || pm == socket.IPPmtudiscProbe ||
		s.Len() <= rt.MTU && pm == socket.IPPmtudiscWant
	var frag uint16
	why := ipPmtudiscWantNotes
	switch {
	case df && pm != socket.IPPmtudiscWant:
		frag = header.IPv4DF
		why = "DF: IP_PMTUDISC_DO"
	case df:
		frag = header.IPv4DF
	case pm == socket.IPPmtudiscWant:
		why = fmt.Sprintf("no DF: %d bytes > mtu %d, so the datagram will be fragmented here (%d skbs on the frag_list)", s.Len(), rt.MTU, len(s.FragList))
	default:
		why = "no DF: the socket does not do path MTU discovery"
	}
	ttl := sk.TTL
	if ttl < 0 {
		ttl = n.DefaultTTL
	}
	// ip_select_ident: a datagram that may be fragmented (no DF, or a
	// socket whose DF is ignorable, ip_sk_ignore_df) takes its ID from
	// __ip_select_ident's hashed counters; one with a DF that counts
	// takes the connected socket's inet_id, or 0.
	var id uint16
	switch {
	case frag&header.IPv4DF == 0 || sk.IgnoreDF():
		id = uint16(n.K.Sim.Rand().Uint32())
	case sk.Daddr.IsValid():
		id = sk.IPID
		sk.IPID++
	}
	header.IPv4(s.At(s.NetworkHeader, header.IPv4MinLen)).Encode(sk.TOS, id, frag, uint8(ttl), uint8(sk.Protocol), fl.Saddr, fl.Daddr)
	s.Priority = sk.Priority
	s.Protocol = header.EtherTypeIPv4
	s.Dst = rt
	e.Note = fmt.Sprintf("IPv4 %s → %s, ttl %d, id %d; %s", fl.Saddr, fl.Daddr, ttl, id, why)
	return kernel.Ret(k, fnIPMakeSkbInner, s, s)
}

// ipSendSkb is ip_send_skb(): ip_local_out, with a positive NET_XMIT code
// turned into an errno (net_xmit_errno).
func (n *Net) ipSendSkb(k *kernel.Kernel, s *skb.SKB) int {
	k.Call(fnIPSendSkb, s)
	err := n.ipLocalOut(k, s)
	if err > 0 {
		err = netXmitErrno(core.NetXmit(err))
	}
	return int(kernel.Ret(k, fnIPSendSkb, kernel.Err(err)))
}

// netXmitErrno is net_xmit_errno(): congestion is not an error, any other
// NET_XMIT code is -ENOBUFS.
func netXmitErrno(e core.NetXmit) int {
	if e == core.NetXmitCN {
		return 0
	}
	return -kernel.ENOBUFS
}

// ipLocalOut is ip_local_out(): __ip_local_out runs the LOCAL_OUT hook;
// when it accepts (1), dst_output sends the packet on.
func (n *Net) ipLocalOut(k *kernel.Kernel, s *skb.SKB) int {
	k.Call(fnIPLocalOut, s)
	err := n.ipLocalOutInner(k, s)
	if err == 1 {
		err = n.dstOutput(k, s)
	}
	return int(kernel.Ret(k, fnIPLocalOut, core.NetXmit(err)))
}

// ipLocalOutInner is __ip_local_out(): set tot_len, compute the header
// checksum (ip_send_check) and pass NF_INET_LOCAL_OUT.
func (n *Net) ipLocalOutInner(k *kernel.Kernel, s *skb.SKB) int {
	k.Call(fnIPLocalOutInner, s)
	iph := header.IPv4(s.At(s.NetworkHeader, header.IPv4MinLen))
	iph.SetTotalLen(s.Len())
	iph.SetChecksum()
	s.InetSkbParm()
	return int(kernel.Ret(k, fnIPLocalOutInner, kernel.Err(n.nfHook(k, netfilter.LocalOut, s))))
}

// nfHook is nf_hook() at one of the IPv4 hooks, with this host's rules;
// a packet dropped there is freed (NETFILTER_DROP) and -EPERM returned.
func (n *Net) nfHook(k *kernel.Kernel, h netfilter.Hook, s *skb.SKB) int {
	return n.NF.Hook(k, h, s, func(r skb.Reason) { core.KfreeSkbReason(k, s, r) })
}

// dstOutput is dst_output(): skb_dst(skb)->output, which for a unicast
// route is ip_output.
func (n *Net) dstOutput(k *kernel.Kernel, s *skb.SKB) int {
	k.Call(fnDstOutput, s)
	return int(kernel.Ret(k, fnDstOutput, core.NetXmit(n.ipOutput(k, s))))
}

// ipOutput is ip_output(): set skb->dev from the route and pass
// NF_INET_POST_ROUTING into ip_finish_output.
func (n *Net) ipOutput(k *kernel.Kernel, s *skb.SKB) int {
	k.Call(fnIPOutput, s)
	rt := s.Dst.(*Rtable)
	s.Dev = rt.Dev.Name
	r := n.nfHook(k, netfilter.PostRouting, s)
	if r == 1 {
		r = n.ipFinishOutput(k, s)
	}
	return int(kernel.Ret(k, fnIPOutput, core.NetXmit(r)))
}

// ipFinishOutput is ip_finish_output(): the cgroup BPF egress hook
// (nothing attached), then __ip_finish_output.
func (n *Net) ipFinishOutput(k *kernel.Kernel, s *skb.SKB) int {
	k.Call(fnIPFinishOutput, s)
	return int(kernel.Ret(k, fnIPFinishOutput, core.NetXmit(n.ipFinishOutputInner(k, s))))
}

// ipFinishOutputInner is __ip_finish_output(): GSO, fragmentation or the
// plain path. A datagram longer than the route's MTU goes to ip_fragment,
// with ip_finish_output2 as the output for each fragment.
func (n *Net) ipFinishOutputInner(k *kernel.Kernel, s *skb.SKB) int {
	e := k.Call(fnIPFinishOutputIn, s)
	rt := s.Dst.(*Rtable)
	if s.GSOSize != 0 { // skb_is_gso
		return int(kernel.Ret(k, fnIPFinishOutputIn, core.NetXmit(n.ipFinishOutputGSO(k, s, rt.MTU))))
	}
	if s.Len() > rt.MTU {
		e.Note = fmt.Sprintf("len %d > mtu %d: ip_fragment, each fragment to ip_finish_output2", s.Len(), rt.MTU)
		r := n.ipFragment(k, s, rt.MTU, n.ipFinishOutput2)
		kernel.Ret(k, fnIPFinishOutputIn, xmitRet(r))
		return r
	}
	e.Note = fmt.Sprintf("len %d ≤ mtu %d, not GSO: no fragmentation", s.Len(), rt.MTU)
	return int(kernel.Ret(k, fnIPFinishOutputIn, core.NetXmit(n.ipFinishOutput2(k, s))))
}

// xmitRet names a result that is either an errno or a NET_XMIT code.
func xmitRet(r int) fmt.Stringer {
	if r < 0 {
		return kernel.Err(r)
	}
	return core.NetXmit(r)
}

// ipFinishOutput2 is ip_finish_output2(): find the neighbour for the next
// hop and hand the skb to it.
func (n *Net) ipFinishOutput2(k *kernel.Kernel, s *skb.SKB) int {
	e2 := k.Call(fnIPFinishOutput2, s)
	rt := s.Dst.(*Rtable)
	if hh := rt.Dev.LLReservedSpace(); s.Headroom() < hh && !rt.Dev.Loopback {
		e2.Note = fmt.Sprintf("headroom %d < LL_RESERVED_SPACE(%s) %d: skb_expand_head", s.Headroom(), rt.Dev.Name, hh)
		core.SkbExpandHead(k, s, hh)
	}
	daddr := header.IPv4(s.At(s.NetworkHeader, header.IPv4MinLen)).Dst()
	nh := rt.Nexthop(daddr)
	if rt.Dev.Loopback || rt.Dev.PointToPoint {
		// lo's and a point-to-point device's one neighbour is keyed
		// INADDR_ANY (__ipv4_neigh_lookup_noref)
		nh = netip.IPv4Unspecified()
	}
	e := k.Call(fnIPNeighForGw, s)
	neigh := n.Core.NeighLookup(rt.Dev, nh)
	if neigh == nil {
		neigh = n.Core.NeighCreate(k, rt.Dev, nh)
	}
	e.Note = "__ipv4_neigh_lookup_noref(" + rt.Dev.Name + ", " + nh.String() + ") → " + neigh.HA.String()
	if rt.Dev.NoHeaderOps {
		e.Note = "__ipv4_neigh_lookup_noref(" + rt.Dev.Name + ", " + nh.String() + "): the point-to-point link's one neighbour, no hardware address"
	}
	k.RetS(fnIPNeighForGw, "neigh")
	return int(kernel.Ret(k, fnIPFinishOutput2, core.NeighOutput(k, neigh, s)))
}

// ipFragment is ip_fragment(): a datagram without DF is split by
// ip_do_fragment. One with DF that its socket does not let be ignored
// is refused with -EMSGSIZE (the kernel also sends itself an ICMP
// "fragmentation needed" with the MTU, which this model leaves out: its
// sockets refuse such a datagram earlier, in __ip_append_data).
func (n *Net) ipFragment(k *kernel.Kernel, s *skb.SKB, mtu int, output func(*kernel.Kernel, *skb.SKB) int) int {
	e := k.Call(fnIPFragment, s)
	iph := header.IPv4(s.At(s.NetworkHeader, header.IPv4MinLen))
	if iph.FragOff()&header.IPv4DF != 0 {
		e.Note = fmt.Sprintf("DF set and %d bytes > mtu %d: IPSTATS_MIB_FRAGFAILS, -EMSGSIZE", s.Len(), mtu)
		core.KfreeSkbReason(k, s, skb.NotSpecified)
		return int(kernel.Ret(k, fnIPFragment, kernel.Err(-kernel.EMSGSIZE)))
	}
	e.Note = "no DF: ip_do_fragment"
	r := n.ipDoFragment(k, s, mtu, output)
	kernel.Ret(k, fnIPFragment, xmitRet(r))
	return r
}

// ipDoFragment is ip_do_fragment(). Its fast path serves a datagram that
// __ip_append_data already cut into fragment-sized skbs on a frag_list:
// the head becomes the first fragment, each frag_list skb gets a copy of
// the IP header with its own offset, MF, tot_len and checksum, and each
// goes to output (ip_finish_output2) in turn, taking its share of the
// socket's send buffer with it. Anything else takes the slow path
// (ip_frag_init, then ip_frag_next per fragment): a linear skb, such as
// a forwarded packet bigger than the next link's MTU, or a frag_list
// whose pieces do not fit the MTU, or a cloned skb, is copied piece by
// piece into new skbs, each with LL_RESERVED_SPACE of headroom, and the
// original is consumed once all are sent.
func (n *Net) ipDoFragment(k *kernel.Kernel, s *skb.SKB, mtu int, output func(*kernel.Kernel, *skb.SKB) int) int {
	e := k.Call(fnIPDoFragment, s)
	rt := s.Dst.(*Rtable)
	iph := header.IPv4(s.At(s.NetworkHeader, header.IPv4MinLen))
	hlen := iph.IHL()
	if mtu < hlen+8 {
		e.Note = fmt.Sprintf("mtu %d leaves no room for 8 bytes of data: -EMSGSIZE", mtu)
		core.KfreeSkbReason(k, s, skb.NotSpecified)
		return int(kernel.Ret(k, fnIPDoFragment, kernel.Err(-kernel.EMSGSIZE)))
	}
	mtu -= hlen // the room for data in each fragment
	s.InetSkbParm().SetFlags(s.InetSkbParm().Flags() | ipskbFragComplete)
	llRs := rt.Dev.LLReservedSpace()
	firstLen := s.HeadLen()
	fast := len(s.FragList) > 0 && firstLen-hlen <= mtu && (firstLen-hlen)&7 == 0 &&
		iph.FragOff()&(header.IPv4MF|header.IPv4Offset) == 0 && !s.Cloned() && s.Headroom() >= llRs
	for i, f := range s.FragList {
		last := i == len(s.FragList)-1
		if f.Len() > mtu || f.Len()&7 != 0 && !last || f.Headroom() < hlen+llRs || f.Users() > 1 {
			fast = false
		}
	}
	if !fast {
		return n.ipDoFragmentSlow(k, e, s, hlen, llRs, mtu, output)
	}
	e.Note = fmt.Sprintf("fast path: the head and %d frag_list skbs are the fragments, %d bytes of data each at most", len(s.FragList), mtu&^7)
	if sk, ok := s.Owner.(*socket.Sock); ok {
		for _, f := range s.FragList {
			core.SetWfree(k, f, sk)
		}
	}
	frags := n.ipFraglistInit(k, s, hlen)
	cur, offset, err := s, 0, 0
	for i := 0; ; i++ {
		var next *skb.SKB
		if i < len(frags) {
			next = frags[i]
			next.InetSkbParm().SetFlags(s.InetSkbParm().Flags())
			offset = n.ipFraglistPrepare(k, cur, next, offset, hlen, i < len(frags)-1)
		}
		err = output(k, cur)
		if err != 0 || next == nil {
			if err != 0 && next != nil {
				// kfree_skb_list(iter.frag): the fragments not sent yet.
				for _, f := range frags[i:] {
					core.KfreeSkbReason(k, f, skb.NotSpecified)
				}
			}
			break
		}
		cur = next
	}
	if err == 0 {
		k.Note(trace.State, fmt.Sprintf("IPSTATS_MIB_FRAGOKS: %d fragments created", len(frags)+1))
	} else {
		k.Note(trace.State, "IPSTATS_MIB_FRAGFAILS: a fragment was not sent, the rest are freed")
	}
	kernel.Ret(k, fnIPDoFragment, xmitRet(err))
	return err
}

// ipDoFragmentSlow is ip_do_fragment's slow_path: ip_frag_init, then
// for each fragment ip_frag_next (a new skb with the data copied in),
// ip_frag_ipcb and output; the original skb is consumed at the end, or
// freed if a fragment could not be sent.
func (n *Net) ipDoFragmentSlow(k *kernel.Kernel, e *trace.Event, s *skb.SKB, hlen, llRs, mtu int, output func(*kernel.Kernel, *skb.SKB) int) int {
	why := "no frag_list"
	switch {
	case len(s.FragList) > 0 && s.Cloned():
		why = "the skb is cloned"
	case len(s.FragList) > 0:
		why = "the frag_list pieces do not fit the MTU as they are"
	}
	e.Note = fmt.Sprintf("slow path (%s): copy %d bytes of data into fragments of at most %d", why, s.Len()-hlen, mtu&^7)
	st := n.ipFragInit(k, s, hlen, llRs, mtu)
	err, count := 0, 0
	for st.left > 0 {
		first := st.offset == 0
		f := n.ipFragNext(k, s, st)
		n.ipFragIpcb(k, s, f, first)
		count++
		if err = output(k, f); err != 0 {
			break
		}
	}
	if err != 0 {
		core.KfreeSkbReason(k, s, skb.NotSpecified)
		k.Note(trace.State, "IPSTATS_MIB_FRAGFAILS: a fragment was not sent; the original is freed")
	} else {
		core.ConsumeSkb(k, s)
		k.Note(trace.State, fmt.Sprintf("IPSTATS_MIB_FRAGOKS: %d fragments created; the original skb is consumed", count))
	}
	kernel.Ret(k, fnIPDoFragment, xmitRet(err))
	return err
}

// ipFragState is struct ip_frag_state: where the slow path is in the
// datagram.
type ipFragState struct {
	df          bool
	hlen, llRs  int
	mtu         int // room for data in a fragment
	left, ptr   int // bytes still to send; where they start, from the IP header
	offset      int // their offset in the original datagram
	notLastFrag bool
}

// ipFragInit is ip_frag_init(): all of the datagram after the header is
// left to send, from the header's end; the offset starts at the
// packet's own (it may already be a fragment) and MF is kept if it had
// it.
func (n *Net) ipFragInit(k *kernel.Kernel, s *skb.SKB, hlen, llRs, mtu int) *ipFragState {
	e := k.Call(fnIPFragInit, s)
	iph := header.IPv4(s.At(s.NetworkHeader, header.IPv4MinLen))
	st := &ipFragState{
		df:   s.InetSkbParm().Flags()&ipskbFragPMTU != 0,
		hlen: hlen, llRs: llRs, mtu: mtu,
		left: s.Len() - (s.NetworkHeader - s.DataOff()) - hlen, ptr: hlen,
		offset:      int(iph.FragOff()&header.IPv4Offset) << 3,
		notLastFrag: iph.FragOff()&header.IPv4MF != 0,
	}
	e.Note = fmt.Sprintf("left %d bytes, ptr %d, offset %d, LL_RESERVED_SPACE %d", st.left, st.ptr, st.offset, llRs)
	k.RetVoid(fnIPFragInit, s)
	return st
}

// ipFragNext is ip_frag_next(): the next fragment, mtu bytes of data
// (cut to a multiple of 8 unless it is the last): a new skb with
// ll_rs bytes of headroom for the link header, the metadata copied
// (ip_copy_metadata), charged to the original's socket if it has one,
// the IP header copied in and the data copied from the original
// (skb_copy_bits, which walks a frag_list too); then the header gets
// its offset, MF (unless this is the end of the original), tot_len and
// checksum.
func (n *Net) ipFragNext(k *kernel.Kernel, s *skb.SKB, st *ipFragState) *skb.SKB {
	e := k.Call(fnIPFragNext, s)
	l := min(st.left, st.mtu)
	if l < st.left {
		l &^= 7
	}
	f := core.AllocSkb(k, l+st.hlen+st.llRs)
	// ip_copy_metadata: the cb is not copied (ip_frag_ipcb copies the
	// IPCB flags alone)
	f.PktType, f.Priority, f.Protocol, f.Dev, f.Dst = s.PktType, s.Priority, s.Protocol, s.Dev, s.Dst
	f.Hash, f.L4Hash, f.SwHash = s.Hash, s.L4Hash, s.SwHash
	_ = f.Reserve(st.llRs)
	_ = f.PutBytesErr(l + st.hlen)
	f.ResetNetworkHeader()
	f.TransportHeader = f.NetworkHeader + st.hlen
	if sk, ok := s.Owner.(*socket.Sock); ok {
		core.SkbSetOwnerW(k, f, sk)
	}
	nh := s.NetworkHeader - s.DataOff()
	copy(f.At(f.NetworkHeader, st.hlen), s.At(s.NetworkHeader, st.hlen))
	copy(f.At(f.TransportHeader, l), s.CopyBits(nh+st.ptr, l))
	st.left -= l
	iph := header.IPv4(f.At(f.NetworkHeader, st.hlen))
	fo := uint16(st.offset >> 3)
	if st.df {
		fo |= header.IPv4DF
	}
	if st.left > 0 || st.notLastFrag {
		fo |= header.IPv4MF
	}
	iph.SetFragOff(fo)
	st.ptr += l
	iph.SetTotalLen(l + st.hlen)
	iph.SetChecksum()
	mf := ""
	if fo&header.IPv4MF != 0 {
		mf = ", MF"
	}
	e.Note = fmt.Sprintf("alloc_skb(%d): id %d, offset %d (frag_off %d × 8)%s, tot_len %d", l+st.hlen+st.llRs, iph.ID(), st.offset, st.offset>>3, mf, l+st.hlen)
	st.offset += l
	return kernel.Ret(k, fnIPFragNext, f, s, f)
}

// ipFragIpcb is ip_frag_ipcb(): the fragment gets the original's IPCB
// flags, and after the first fragment ip_options_fragment trims the
// original's options to those copied into every fragment (the copied
// bit), so later fragments inherit only those.
func (n *Net) ipFragIpcb(k *kernel.Kernel, from, to *skb.SKB, first bool) {
	k.Call(fnIPFragIpcb, to)
	to.InetSkbParm().SetFlags(from.InetSkbParm().Flags())
	if first {
		e := k.Call(fnIPOptionsFragment, from)
		e.Note = "no IP options: nothing to trim"
		if iph := header.IPv4(from.At(from.NetworkHeader, header.IPv4MinLen)); iph.IHL() > header.IPv4MinLen {
			e.Note = fmt.Sprintf("%d option bytes not marked copied became NOOPs", ipOptionsFragment(from.At(from.NetworkHeader+header.IPv4MinLen, iph.IHL()-header.IPv4MinLen)))
		}
		k.RetVoid(fnIPOptionsFragment, from)
	}
	k.RetVoid(fnIPFragIpcb, to)
}

// ipOptionsFragment is the work of ip_options_fragment() on the option
// bytes: every option whose type lacks the copied bit (0x80) is
// overwritten with IPOPT_NOOP; it returns how many bytes were. A
// malformed length ends the walk, as the kernel's does.
func ipOptionsFragment(opt []byte) int {
	const ipoptEnd, ipoptNoop, ipoptCopy = 0, 1, 0x80
	n := 0
	for i := 0; i < len(opt); {
		switch opt[i] {
		case ipoptEnd:
			return n
		case ipoptNoop:
			i++
			continue
		}
		if i+1 >= len(opt) {
			return n
		}
		l := int(opt[i+1])
		if l < 2 || i+l > len(opt) {
			return n
		}
		if opt[i]&ipoptCopy == 0 {
			for j := i; j < i+l; j++ {
				opt[j] = ipoptNoop
			}
			n += l
		}
		i += l
	}
	return n
}

// ipFraglistInit is ip_fraglist_init(): take the frag_list off the head,
// which keeps only its own bytes and becomes the first fragment: offset 0,
// MF, tot_len its length, a new header checksum.
func (n *Net) ipFraglistInit(k *kernel.Kernel, s *skb.SKB, hlen int) []*skb.SKB {
	e := k.Call(fnIPFraglistInit, s)
	frags := s.DetachFragList()
	iph := header.IPv4(s.At(s.NetworkHeader, hlen))
	iph.SetTotalLen(s.Len())
	iph.SetFragOff(header.IPv4MF)
	iph.SetChecksum()
	e.Note = fmt.Sprintf("fragment 1: id %d, offset 0, MF, tot_len %d", iph.ID(), s.Len())
	kernel.Ret(k, fnIPFraglistInit, kernel.Err(0), s)
	return frags
}

// ipFraglistPrepare is ip_fraglist_prepare(): give the next fragment to
// its header: push the room __ip_make_skb pulled off, copy the previous
// fragment's header, and set tot_len, the offset (after the previous
// fragment's data), MF unless it is the last, and the checksum. It also
// copies the metadata (ip_copy_metadata). It returns the new offset.
func (n *Net) ipFraglistPrepare(k *kernel.Kernel, prev, to *skb.SKB, offset, hlen int, more bool) int {
	e := k.Call(fnIPFraglistPrepare, to)
	hdr, _ := to.Push(hlen) // ip_do_fragment checked the headroom
	to.ResetNetworkHeader()
	copy(hdr, prev.At(prev.NetworkHeader, hlen))
	iph := header.IPv4(hdr)
	iph.SetTotalLen(to.Len())
	offset += prev.Len() - hlen
	f := uint16(offset >> 3)
	if more {
		f |= header.IPv4MF
	}
	iph.SetFragOff(f)
	iph.SetChecksum()
	to.Priority, to.Protocol, to.Dev, to.Dst = prev.Priority, prev.Protocol, prev.Dev, prev.Dst
	mf := ""
	if more {
		mf = ", MF"
	}
	e.Note = fmt.Sprintf("id %d, offset %d (frag_off %d × 8)%s, tot_len %d", iph.ID(), offset, offset>>3, mf, to.Len())
	k.RetVoid(fnIPFraglistPrepare, to)
	return offset
}

var fnIPFinishOutputGSO = kernel.NewFn("ip_finish_output_gso", ipOutputC, "ip")

// ipFinishOutputGSO is ip_finish_output_gso(): a GSO skb is longer than
// the MTU, but each of its segments fits (skb_gso_validate_network_len),
// so it goes on whole; segmentation waits for validate_xmit_skb or the
// NIC.
func (n *Net) ipFinishOutputGSO(k *kernel.Kernel, s *skb.SKB, mtu int) int {
	e := k.Call(fnIPFinishOutputGSO, s)
	seg := s.TransportHeader - s.NetworkHeader + header.TCP(s.At(s.TransportHeader, header.TCPMinLen)).DataOff() + s.GSOSize
	e.Note = fmt.Sprintf("GSO skb of %d bytes: each segment's network length %d ≤ mtu %d", s.Len(), seg, mtu)
	return int(kernel.Ret(k, fnIPFinishOutputGSO, core.NetXmit(n.ipFinishOutput2(k, s))))
}
