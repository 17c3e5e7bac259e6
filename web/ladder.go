package web

import (
	"bytes"
	"fmt"
	"strings"

	"skbscope/stack/header"
	"skbscope/stack/trace"
)

// rung is one frame on a wire as the ladder (sequence) diagram draws it:
// an arrow from the sending host's column to the receiving host's.
type rung struct {
	seq      int // the wire event; selecting the arrow moves the cursor there
	t        int64
	from, to int // host columns; equal on a host's own loopback
	proto    string
	label    string // what tcpdump would print for it
	lost     bool   // the link lost it
}

// flowKey names one direction of a TCP connection.
type flowKey struct {
	src, dst string // "ADDR:PORT"
}

// ladderOf lists every frame that crossed a wire, labelled the way
// tcpdump prints it (TCP sequence numbers relative to each direction's
// first one, as tcpdump and Wireshark show them).
func ladderOf(t *trace.Trace) []rung {
	hostOf := map[string]int{} // MAC → host column
	hostIdx := map[string]int{}
	for i, h := range t.Hosts {
		hostIdx[h.Name] = i
		for _, d := range h.Devices {
			hostOf[strings.ToLower(d.MAC)] = i
		}
	}
	isn := map[flowKey]uint32{}
	var rungs []rung
	for i := range t.Events {
		e := &t.Events[i]
		switch {
		case e.Kind == trace.Wire:
			from := hostIdx[e.Host]
			to := from
			if len(e.Frame) >= header.EthernetLen && !strings.HasSuffix(e.Wire, ".lo") {
				if h, ok := hostOf[header.Ethernet(e.Frame).Dst().String()]; ok {
					to = h
				} else if len(t.Hosts) == 2 {
					to = 1 - from // broadcast on a two-host cable
				}
			}
			proto, label := frameSummary(e.Frame, isn)
			rungs = append(rungs, rung{seq: e.Seq, t: e.T, from: from, to: to, proto: proto, label: label})
		case e.Kind == trace.Drop && e.Wire != "" && len(e.Frame) > 0:
			for j := len(rungs) - 1; j >= 0; j-- {
				if !rungs[j].lost && bytes.Equal(t.Events[rungs[j].seq].Frame, e.Frame) {
					rungs[j].lost = true
					break
				}
			}
		}
	}
	return rungs
}

// frameSummary decodes a frame far enough for a one-line summary.
func frameSummary(f []byte, isn map[flowKey]uint32) (proto, label string) {
	if len(f) < header.EthernetLen {
		return "other", fmt.Sprintf("%d bytes", len(f))
	}
	eth := header.Ethernet(f)
	body := f[header.EthernetLen:]
	switch eth.Type() {
	case header.EtherTypeARP:
		if len(body) < header.ARPLen {
			return "arp", "ARP, truncated"
		}
		a := header.ARP(body)
		if a.Op() == 2 {
			return "arp", fmt.Sprintf("ARP, Reply %s is-at %s", a.SIP(), a.SHA())
		}
		return "arp", fmt.Sprintf("ARP, Request who-has %s tell %s", a.TIP(), a.SIP())
	case header.EtherTypeIPv4:
	default:
		return "other", fmt.Sprintf("ethertype 0x%04x, %d bytes", eth.Type(), len(f))
	}
	if len(body) < header.IPv4MinLen {
		return "other", "IP, truncated"
	}
	ip := header.IPv4(body)
	ihl, tot := ip.IHL(), ip.TotalLen()
	if ihl < header.IPv4MinLen || tot < ihl || tot > len(body) {
		return "other", "IP, bad length"
	}
	l4 := body[ihl:tot]
	if ip.FragOff()&0x1fff != 0 {
		return "ip", fmt.Sprintf("IP %s > %s: fragment at %d, length %d", ip.Src(), ip.Dst(), int(ip.FragOff()&0x1fff)*8, len(l4))
	}
	switch ip.Protocol() {
	case header.ProtoTCP:
		if len(l4) < header.TCPMinLen || header.TCP(l4).DataOff() < header.TCPMinLen || header.TCP(l4).DataOff() > len(l4) {
			return "tcp", "TCP, truncated"
		}
		return "tcp", tcpLabel(ip, header.TCP(l4), isn)
	case header.ProtoUDP:
		if len(l4) < header.UDPLen {
			return "udp", "UDP, truncated"
		}
		u := header.UDP(l4)
		return "udp", fmt.Sprintf("UDP %d > %d, length %d", u.SrcPort(), u.DstPort(), len(l4)-header.UDPLen)
	case header.ProtoICMP:
		if len(l4) < header.ICMPLen {
			return "icmp", "ICMP, truncated"
		}
		c := header.ICMP(l4)
		switch c.Type() {
		case 8:
			return "icmp", fmt.Sprintf("ICMP echo request, id %d, seq %d", c.ID(), c.Seq())
		case 0:
			return "icmp", fmt.Sprintf("ICMP echo reply, id %d, seq %d", c.ID(), c.Seq())
		}
		return "icmp", fmt.Sprintf("ICMP type %d code %d", c.Type(), c.Code())
	}
	return "ip", fmt.Sprintf("IP proto %d, length %d", ip.Protocol(), len(l4))
}

// tcpLabel is tcpdump's line for a segment: flags (S, F, R, P, . for
// ACK), relative seq and ack, window, options on SYNs, length.
func tcpLabel(ip header.IPv4, t header.TCP, isn map[flowKey]uint32) string {
	k := flowKey{fmt.Sprintf("%s:%d", ip.Src(), t.SrcPort()), fmt.Sprintf("%s:%d", ip.Dst(), t.DstPort())}
	rev := flowKey{k.dst, k.src}
	fl := t.Flags()
	if _, ok := isn[k]; !ok || fl&header.TCPSyn != 0 {
		isn[k] = t.Seq()
	}
	var fs string
	for _, f := range []struct {
		bit  uint8
		name string
	}{{header.TCPSyn, "S"}, {header.TCPFin, "F"}, {header.TCPRst, "R"}, {header.TCPPsh, "P"}, {header.TCPAck, "."}} {
		if fl&f.bit != 0 {
			fs += f.name
		}
	}
	n := len(t) - t.DataOff()
	s := fmt.Sprintf("%d > %d: Flags [%s], seq %d", t.SrcPort(), t.DstPort(), fs, t.Seq()-isn[k])
	if n > 0 {
		s += fmt.Sprintf(":%d", t.Seq()-isn[k]+uint32(n))
	}
	if fl&header.TCPAck != 0 {
		ack := t.Ack()
		if base, ok := isn[rev]; ok {
			ack -= base
		}
		s += fmt.Sprintf(", ack %d", ack)
	}
	s += fmt.Sprintf(", win %d", t.Window())
	if o := t.Options(); fl&header.TCPSyn != 0 {
		var opts []string
		if o.MSS != 0 {
			opts = append(opts, fmt.Sprintf("mss %d", o.MSS))
		}
		if o.SACKPerm {
			opts = append(opts, "sackOK")
		}
		if o.TS {
			opts = append(opts, "TS")
		}
		if o.WScale >= 0 {
			opts = append(opts, fmt.Sprintf("wscale %d", o.WScale))
		}
		s += ", options [" + strings.Join(opts, ",") + "]"
	} else if len(o.SACK) > 0 {
		var blocks []string
		for _, b := range o.SACK {
			blocks = append(blocks, fmt.Sprintf("{%d:%d}", b[0]-isn[rev], b[1]-isn[rev]))
		}
		s += ", options [sack " + strings.Join(blocks, "") + "]"
	}
	return s + fmt.Sprintf(", length %d", n)
}
