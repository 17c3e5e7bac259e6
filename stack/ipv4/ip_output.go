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
	corkQueue           = "ip_make_skb queue (on stack)"
	maxNonFragSize      = 0xffff
	ipPmtudiscWantNotes = "DF: IP_PMTUDISC_WANT and the datagram fits the route's MTU"
)

// ipMakeSkb is ip_make_skb(): build one datagram on a private queue
// (__ip_append_data) and turn it into a single skb with its IP header
// (__ip_make_skb). skip bytes are left for the transport header, which
// the caller writes. It may sleep for send buffer space.
func (n *Net) ipMakeSkb(k *kernel.Kernel, t *kernel.Task, sk *socket.Sock, fl *Flowi4, rt *Rtable, data []byte, skip int, noblock bool, done func(*skb.SKB, int)) {
	k.Call(fnIPMakeSkb)
	n.ipAppendData(k, t, sk, rt, fnIPGenericGetfrag, data, skip, noblock, func(s *skb.SKB, err int) {
		if err < 0 {
			k.RetS(fnIPMakeSkb, kernel.Err(err).String())
			done(nil, err)
			return
		}
		k.Enqueue(corkQueue, 1, s)
		s = n.ipMakeSkbInner(k, sk, fl, rt, s, corkQueue)
		k.RetS(fnIPMakeSkb, "skb", s)
		done(s, 0)
	})
}

// ipAppendDataQueued is ip_append_data(): the corked path, which builds
// the datagram on sk_write_queue until ip_push_pending_frames sends it.
func (n *Net) ipAppendDataQueued(k *kernel.Kernel, t *kernel.Task, sk *socket.Sock, rt *Rtable, getfrag *kernel.Fn, data []byte, noblock bool, done func(int)) {
	k.Call(fnIPAppendDataQ)
	n.ipAppendData(k, t, sk, rt, getfrag, data, 0, noblock, func(s *skb.SKB, err int) {
		if err < 0 {
			done(int(kernel.Ret(k, fnIPAppendDataQ, kernel.Err(err))))
			return
		}
		sk.WriteQueue = append(sk.WriteQueue, s)
		k.Enqueue(sk.QueueName(writeQueue), len(sk.WriteQueue), s)
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
	s := sk.WriteQueue[0]
	sk.WriteQueue = sk.WriteQueue[1:]
	s = n.ipMakeSkbInner(k, sk, fl, rt, s, sk.QueueName(writeQueue))
	err := n.ipSendSkb(k, s)
	return int(kernel.Ret(k, fnIPPushPending, kernel.Err(err)))
}

// ipAppendData is __ip_append_data() for a datagram that fits the MTU:
// allocate the skb with room for the link-layer header (hh_len), reserve
// that room, put the IP header's space, leave skip bytes, and let getfrag
// copy data after them. The allocation may sleep for send buffer space.
func (n *Net) ipAppendData(k *kernel.Kernel, t *kernel.Task, sk *socket.Sock, rt *Rtable, getfrag *kernel.Fn, data []byte, skip int, noblock bool, done func(*skb.SKB, int)) {
	e := k.Call(fnIPAppendData)
	fail := func(err int) { done(nil, int(kernel.Ret(k, fnIPAppendData, kernel.Err(err)))) }
	const fragheaderlen = header.IPv4MinLen
	length := len(data) + skip
	if length > maxNonFragSize-fragheaderlen {
		e.Note = fmt.Sprintf("%d bytes do not fit in one IP datagram (64 KiB)", length)
		fail(-kernel.EMSGSIZE)
		return
	}
	hhLen := rt.Dev.LLReservedSpace()
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
		done(s, 0)
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

// ipMakeSkbInner is __ip_make_skb(): take the skb off the queue and write
// its IP header, leaving tot_len and the checksum to __ip_local_out.
func (n *Net) ipMakeSkbInner(k *kernel.Kernel, sk *socket.Sock, fl *Flowi4, rt *Rtable, s *skb.SKB, queue string) *skb.SKB {
	e := k.Call(fnIPMakeSkbInner, s)
	k.Dequeue(queue, 0, s)
	var frag uint16
	if s.Len() <= rt.MTU {
		frag = header.IPv4DF
	}
	ttl := sk.TTL
	if ttl < 0 {
		ttl = n.DefaultTTL
	}
	// An unconnected socket, whose DF is ignorable (ip_sk_ignore_df),
	// takes its IP ID from __ip_select_ident's hashed counters.
	id := uint16(n.K.Sim.Rand().Uint32())
	header.IPv4(s.At(s.NetworkHeader, header.IPv4MinLen)).Encode(sk.TOS, id, frag, uint8(ttl), uint8(sk.Protocol), fl.Saddr, fl.Daddr)
	s.Priority = sk.Priority
	s.Protocol = header.EtherTypeIPv4
	s.Dst = rt
	e.Note = fmt.Sprintf("IPv4 %s → %s, ttl %d, id %d; %s", fl.Saddr, fl.Daddr, ttl, id, ipPmtudiscWantNotes)
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
// plain path; the datagram fits the MTU here.
func (n *Net) ipFinishOutputInner(k *kernel.Kernel, s *skb.SKB) int {
	e := k.Call(fnIPFinishOutputIn, s)
	rt := s.Dst.(*Rtable)
	if s.Len() > rt.MTU {
		// ip_fragment's place; fragmentation is not modelled yet, so the
		// datagram is refused rather than sent larger than the MTU.
		e.Note = fmt.Sprintf("len %d > mtu %d: ip_fragment would split it; this model does not fragment yet", s.Len(), rt.MTU)
		core.KfreeSkbReason(k, s, skb.NotSpecified)
		return int(kernel.Ret(k, fnIPFinishOutputIn, kernel.Err(-kernel.EMSGSIZE)))
	}
	e.Note = fmt.Sprintf("len %d ≤ mtu %d, not GSO: no fragmentation", s.Len(), rt.MTU)
	return int(kernel.Ret(k, fnIPFinishOutputIn, core.NetXmit(n.ipFinishOutput2(k, s))))
}

// ipFinishOutput2 is ip_finish_output2(): find the neighbour for the next
// hop and hand the skb to it.
func (n *Net) ipFinishOutput2(k *kernel.Kernel, s *skb.SKB) int {
	k.Call(fnIPFinishOutput2, s)
	rt := s.Dst.(*Rtable)
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
