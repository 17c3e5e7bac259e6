package ipv4

import (
	"fmt"

	"skbscope/stack/core"
	"skbscope/stack/header"
	"skbscope/stack/kernel"
	"skbscope/stack/skb"
)

const ipFragmentC = "net/ipv4/ip_fragment.c"

var (
	fnIPDefrag    = kernel.NewFn("ip_defrag", ipFragmentC, "ip")
	fnIPFind      = kernel.NewFn("ip_find", ipFragmentC, "ip")
	fnIPFragQueue = kernel.NewFn("ip_frag_queue", ipFragmentC, "ip")
	fnIPFragReasm = kernel.NewFn("ip_frag_reasm", ipFragmentC, "ip")
	fnIPExpire    = kernel.NewFn("ip_expire", ipFragmentC, "ip")
)

// Drop reasons of reassembly (include/net/dropreason-core.h).
const (
	dropDupFrag          skb.Reason = "SKB_DROP_REASON_DUP_FRAG"
	dropFragReasmTimeout skb.Reason = "SKB_DROP_REASON_FRAG_REASM_TIMEOUT"
)

// icmpExcFragtime is ICMP_EXC_FRAGTIME: "fragment reassembly time
// exceeded", code 1 of ICMP_TIME_EXCEEDED.
const icmpExcFragtime = 1

// ipIsFragment is ip_is_fragment(): MF set or a non-zero offset.
func ipIsFragment(iph header.IPv4) bool {
	return iph.FragOff()&(header.IPv4MF|header.IPv4Offset) != 0
}

// ipDefrag is ip_defrag() for IP_DEFRAG_LOCAL_DELIVER: find the
// datagram's queue and add the fragment. It returns the whole datagram
// when this fragment completed it, else nil: the fragment is held (or
// was dropped) and ip_local_deliver stops here.
func (n *Net) ipDefrag(k *kernel.Kernel, s *skb.SKB) *skb.SKB {
	e := k.Call(fnIPDefrag, s)
	iph := header.IPv4(s.At(s.NetworkHeader, header.IPv4MinLen))
	q := n.ipFind(k, iph)
	if q == nil {
		e.Note = "IPSTATS_MIB_REASMFAILS: no queue for it"
		core.KfreeSkbReason(k, s, skb.NotSpecified)
		k.RetS(fnIPDefrag, kernel.Err(-kernel.ENOMEM).String())
		return nil
	}
	head, err := n.ipFragQueue(k, q, s)
	if q.complete {
		// inet_frag_putn: the last reference to a killed queue.
		n.inetFragDestroy(k, q)
	}
	k.RetS(fnIPDefrag, kernel.Err(err).String())
	return head
}

// ipFind is ip_find(): the key is source, destination, IP ID and
// protocol (and the defrag user); inet_frag_find does the rest.
func (n *Net) ipFind(k *kernel.Kernel, iph header.IPv4) *ipq {
	e := k.Call(fnIPFind)
	e.Note = fmt.Sprintf("key: %s → %s, id %d, protocol %d, IP_DEFRAG_LOCAL_DELIVER", iph.Src(), iph.Dst(), iph.ID(), iph.Protocol())
	q := n.inetFragFind(k, iph.Src(), iph.Dst(), iph.ID(), iph.Protocol())
	if q == nil {
		k.RetS(fnIPFind, "NULL")
	} else {
		k.RetS(fnIPFind, "qp")
	}
	return q
}

// ipFragQueue is ip_frag_queue(): work out where the fragment's data
// goes ([offset, end) of the datagram), check it against what the queue
// knows (a last fragment fixes the length; data past it, a second
// different end, or an empty fragment discard the whole queue), strip the
// IP header and insert it. When the first and the last fragment are in
// and no byte is missing, ip_frag_reasm builds the datagram.
func (n *Net) ipFragQueue(k *kernel.Kernel, q *ipq, s *skb.SKB) (*skb.SKB, int) {
	e := k.Call(fnIPFragQueue, s)
	fail := func(r skb.Reason, discard bool, err int, why string) (*skb.SKB, int) {
		e.Note = why
		if discard {
			// discard_qp: the whole datagram is given up.
			n.inetFragKill(k, q)
			e.Note += "; IPSTATS_MIB_REASMFAILS, the queue is killed"
		}
		core.KfreeSkbReason(k, s, r)
		k.RetS(fnIPFragQueue, kernel.Err(err).String())
		return nil, err
	}
	iph := header.IPv4(s.At(s.NetworkHeader, header.IPv4MinLen))
	fo := iph.FragOff()
	offset := int(fo&header.IPv4Offset) << 3
	ihl := iph.IHL()
	end := offset + s.Len() - (s.NetworkHeader - s.DataOff()) - ihl
	if fo&header.IPv4MF == 0 {
		if end < q.length || q.lastIn && end != q.length {
			return fail(skb.NotSpecified, true, -kernel.EINVAL, fmt.Sprintf("a last fragment ending at %d, but the datagram ends at %d", end, q.length))
		}
		q.lastIn = true
		q.length = end
	} else {
		if end&7 != 0 {
			end &^= 7
			if s.IPSummed != skb.ChecksumUnnecessary {
				s.IPSummed = skb.ChecksumNone
			}
		}
		if end > q.length {
			if q.lastIn {
				return fail(skb.NotSpecified, true, -kernel.EINVAL, fmt.Sprintf("data up to %d, past the last fragment's end %d", end, q.length))
			}
			q.length = end
		}
	}
	if end == offset {
		return fail(skb.NotSpecified, true, -kernel.EINVAL, "a fragment with no data")
	}
	if s.Pull(s.NetworkHeader-s.DataOff()+ihl) != nil {
		return fail(skb.NotSpecified, true, -kernel.ENOMEM, "pskb_pull failed")
	}
	s.Trim(end - offset)
	switch n.inetFragQueueInsert(k, q, s, offset, end) {
	case ipfragDup:
		return fail(dropDupFrag, false, -kernel.EINVAL, "a duplicate of bytes already queued")
	case ipfragOverlap:
		return fail(skb.NotSpecified, true, -kernel.EINVAL, "IPSTATS_MIB_REASM_OVERLAPS: overlapping fragments")
	}
	if d := n.Core.Device(s.Dev); d != nil {
		q.iif = d.Ifindex
	}
	q.meat += s.Len()
	q.mem += s.Truesize
	n.fragMem += s.Truesize
	q.held++
	k.Enqueue(q.name, q.held, s)
	if offset == 0 {
		q.firstIn = true
	}
	fragsize := s.Len() + ihl
	q.maxSize = max(q.maxSize, fragsize)
	if fo&header.IPv4DF != 0 {
		q.maxDFSize = max(q.maxDFSize, fragsize)
	}
	if q.firstIn && q.lastIn && q.meat == q.length {
		e.Note = fmt.Sprintf("bytes %d-%d: all %d bytes are here, reassemble", offset, end, q.length)
		head, err := n.ipFragReasm(k, q, s)
		if err != 0 {
			n.inetFragKill(k, q)
		}
		k.RetS(fnIPFragQueue, kernel.Err(err).String())
		return head, err
	}
	// skb_dst_drop, skb_orphan; skb->dev shares its place with the
	// tree node.
	s.Dst, s.Dev = nil, ""
	have := "the length is not known yet (no last fragment)"
	if q.lastIn {
		have = fmt.Sprintf("%d of %d bytes here", q.meat, q.length)
	}
	e.Note = fmt.Sprintf("bytes %d-%d queued; %s", offset, end, have)
	k.RetS(fnIPFragQueue, kernel.Err(-kernel.EINPROGRESS).String())
	return nil, -kernel.EINPROGRESS
}

// ipFragReasm is ip_frag_reasm(): kill the queue, then make one skb of
// the fragments: the first one (its IP header pushed back) is the head
// and the others, in order, its frag_list; tot_len becomes the whole
// datagram's, frag_off 0 (or DF if every fragment had DF), and the header
// gets a new checksum. Linux 6.12 makes the skb that just arrived the
// head (inet_frag_reasm_prepare morphs the first fragment into it) and
// often merges the fragments' pages into the head (skb_try_coalesce);
// here the first fragment stays the head and the rest are chained.
func (n *Net) ipFragReasm(k *kernel.Kernel, q *ipq, s *skb.SKB) (*skb.SKB, int) {
	e := k.Call(fnIPFragReasm, s)
	n.inetFragKill(k, q)
	head := q.runs[0].skbs[0]
	ihl := header.IPv4(head.At(head.NetworkHeader, header.IPv4MinLen)).IHL()
	length := ihl + q.length
	if length > 0xffff {
		e.Note = fmt.Sprintf("Oversized IP packet from %s: %d bytes; IPSTATS_MIB_REASMFAILS", q.saddr, length)
		k.RetS(fnIPFragReasm, kernel.Err(-kernel.E2BIG).String())
		return nil, -kernel.E2BIG
	}
	var all []*skb.SKB
	for _, r := range q.runs {
		all = append(all, r.skbs...)
	}
	q.runs = nil
	for _, f := range all {
		q.held--
		k.Dequeue(q.name, q.held, f)
	}
	_, _ = head.Push(head.DataOff() - head.NetworkHeader)
	for _, f := range all[1:] {
		if f.IPSummed != head.IPSummed {
			head.IPSummed = skb.ChecksumNone
		}
		f.Dev, f.Dst = "", nil
		head.AddFrag(f)
	}
	head.Dst, head.Dev = s.Dst, s.Dev
	n.fragMem -= q.mem
	q.mem = 0
	iph := header.IPv4(head.At(head.NetworkHeader, ihl))
	iph.SetTotalLen(length)
	if q.maxDFSize == q.maxSize {
		iph.SetFragOff(header.IPv4DF)
	} else {
		iph.SetFragOff(0)
	}
	iph.SetChecksum()
	e.Note = fmt.Sprintf("IPSTATS_MIB_REASMOKS: %d fragments → skb %d, tot_len %d, %d skbs on its frag_list", len(all), head.ID, length, len(head.FragList))
	k.RetS(fnIPFragReasm, "0", head)
	return head, 0
}

// ipExpire is ip_expire(), the queue's timer: ipfrag_time passed and the
// datagram is still incomplete. The queue is killed and marked dropped;
// if its first fragment arrived, that fragment gets a route again and is
// quoted in an ICMP "time exceeded, fragment reassembly time exceeded"
// to the sender (RFC 792: only a destination host sends it). Everything
// is freed with SKB_DROP_REASON_FRAG_REASM_TIMEOUT.
func (n *Net) ipExpire(k *kernel.Kernel, q *ipq) {
	e := k.Call(fnIPExpire)
	if q.complete {
		e.Note = "already reassembled or killed"
		k.RetVoid(fnIPExpire)
		return
	}
	q.drop = true
	n.inetFragKill(k, q)
	e.Note = fmt.Sprintf("%s: %d of %d bytes after %d s; IPSTATS_MIB_REASMFAILS, REASMTIMEOUT", q.name, q.meat, q.length, ipfragTimeNs/1_000_000_000)
	var head *skb.SKB
	if !q.firstIn {
		e.Note += "; the first fragment never came: no ICMP"
	} else {
		// inet_frag_pull_head
		r := q.runs[0]
		head, r.skbs = r.skbs[0], r.skbs[1:]
		if len(r.skbs) == 0 {
			q.runs = q.runs[1:]
		}
		q.held--
		k.Dequeue(q.name, q.held, head)
		var dev *core.Device
		for _, d := range n.Core.Devices {
			if d.Ifindex == q.iif {
				dev = d
			}
		}
		if dev != nil {
			head.Dev = dev.Name
			iph := header.IPv4(head.At(head.NetworkHeader, header.IPv4MinLen))
			k.Call(fnIPRouteInputNoref, head).Note = "the held fragment has no dst: route it again to " + iph.Dst().String()
			head.Dst = &Rtable{Dev: dev, Src: iph.Dst(), MTU: dev.MTU, Local: true}
			k.RetS(fnIPRouteInputNoref, "0")
			n.icmpSend(k, head, header.ICMPTimeExceeded, icmpExcFragtime)
		}
		core.KfreeSkbReason(k, head, dropFragReasmTimeout)
	}
	n.inetFragDestroy(k, q)
	k.RetVoid(fnIPExpire)
}
