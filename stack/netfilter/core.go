// Package netfilter models the netfilter hooks (net/netfilter/core.c)
// and an nftables filter chain per hook (nf_tables_core.c): rules that
// match an IPv4 packet by protocol, addresses and ports, and accept or
// drop it.
package netfilter

import (
	"fmt"
	"net/netip"

	"skbscope/stack/header"
	"skbscope/stack/kernel"
	"skbscope/stack/skb"
)

// Hook is an IPv4 netfilter hook (enum nf_inet_hooks).
type Hook int

// The hooks.
const (
	PreRouting Hook = iota
	LocalIn
	Forward
	LocalOut
	PostRouting
)

var hookNames = [...]string{"NF_INET_PRE_ROUTING", "NF_INET_LOCAL_IN", "NF_INET_FORWARD", "NF_INET_LOCAL_OUT", "NF_INET_POST_ROUTING"}

func (h Hook) String() string { return hookNames[h] }

// Chain names as nft lists them (type filter hook …).
var chainNames = [...]string{"prerouting", "input", "forward", "output", "postrouting"}

// HookByChain finds a hook by its nft chain name.
func HookByChain(name string) (Hook, bool) {
	for i, n := range chainNames {
		if n == name {
			return Hook(i), true
		}
	}
	return 0, false
}

// Rule is one nft rule: every set field must match; Drop is the verdict
// (else accept).
type Rule struct {
	Proto        uint8        // 0: any
	Saddr, Daddr netip.Prefix // invalid: any
	Sport, Dport uint16       // 0: any
	Drop         bool
	Packets      int // the rule's counter
}

func (r *Rule) String() string {
	s := ""
	if r.Proto != 0 {
		s += map[uint8]string{header.ProtoTCP: "tcp", header.ProtoUDP: "udp", header.ProtoICMP: "icmp"}[r.Proto] + " "
	}
	if r.Saddr.IsValid() {
		s += "ip saddr " + r.Saddr.String() + " "
	}
	if r.Daddr.IsValid() {
		s += "ip daddr " + r.Daddr.String() + " "
	}
	if r.Sport != 0 {
		s += fmt.Sprintf("sport %d ", r.Sport)
	}
	if r.Dport != 0 {
		s += fmt.Sprintf("dport %d ", r.Dport)
	}
	if r.Drop {
		return s + "drop"
	}
	return s + "accept"
}

// Table is one host's filter table: a chain per hook.
type Table struct {
	Chains [5][]*Rule
}

var (
	fnNfHook       = kernel.NewFn("nf_hook", "include/linux/netfilter.h", "netfilter")
	fnNfHookSlow   = kernel.NewFn("nf_hook_slow", "net/netfilter/core.c", "netfilter")
	fnNftDoChainV4 = kernel.NewFn("nft_do_chain_ipv4", "net/netfilter/nft_chain_filter.c", "netfilter")
	fnNftDoChain   = kernel.NewFn("nft_do_chain", "net/netfilter/nf_tables_core.c", "netfilter")
)

// DropReason is the reason nf_hook_slow frees a dropped packet with.
const DropReason skb.Reason = "SKB_DROP_REASON_NETFILTER_DROP"

// Hook is nf_hook(): with no rules on the hook it returns 1 (go on) at
// once; else nf_hook_slow runs the chain. An NF_DROP frees the skb
// (NETFILTER_DROP) and returns -EPERM, which a local sender sees.
func (t *Table) Hook(k *kernel.Kernel, h Hook, s *skb.SKB, free func(reason skb.Reason)) int {
	e := k.Call(fnNfHook, s)
	chain := t.chain(h)
	if len(chain) == 0 {
		e.Note = h.String() + ": no rules registered, accept"
		return int(kernel.Ret(k, fnNfHook, kernel.Err(1)))
	}
	k.Call(fnNfHookSlow, s)
	k.Call(fnNftDoChainV4, s)
	c := k.Call(fnNftDoChain, s)
	r := match(chain, s)
	verdict := "NF_ACCEPT"
	switch {
	case r == nil:
		c.Note = fmt.Sprintf("%s: no rule matches; chain policy accept", h)
	case r.Drop:
		verdict = "NF_DROP"
		c.Note = fmt.Sprintf("%s: rule \"%s\" matches", h, r)
	default:
		c.Note = fmt.Sprintf("%s: rule \"%s\" matches", h, r)
	}
	k.RetS(fnNftDoChain, verdict)
	k.RetS(fnNftDoChainV4, verdict)
	if r != nil && r.Drop {
		free(DropReason)
		kernel.Ret(k, fnNfHookSlow, kernel.Err(-kernel.EPERM))
		return int(kernel.Ret(k, fnNfHook, kernel.Err(-kernel.EPERM)))
	}
	kernel.Ret(k, fnNfHookSlow, kernel.Err(1))
	return int(kernel.Ret(k, fnNfHook, kernel.Err(1)))
}

func (t *Table) chain(h Hook) []*Rule {
	if t == nil {
		return nil
	}
	return t.Chains[h]
}

// match returns the first rule that matches the packet, counting it.
func match(chain []*Rule, s *skb.SKB) *Rule {
	ip := header.IPv4(s.At(s.NetworkHeader, header.IPv4MinLen))
	if ip == nil {
		return nil
	}
	var sport, dport uint16
	if l4 := s.At(s.NetworkHeader+ip.IHL(), 4); l4 != nil && (ip.Protocol() == header.ProtoTCP || ip.Protocol() == header.ProtoUDP) {
		sport, dport = header.UDP(l4).SrcPort(), uint16(l4[2])<<8|uint16(l4[3])
	}
	for _, r := range chain {
		if r.Proto != 0 && r.Proto != ip.Protocol() ||
			r.Saddr.IsValid() && !r.Saddr.Contains(ip.Src()) ||
			r.Daddr.IsValid() && !r.Daddr.Contains(ip.Dst()) ||
			r.Sport != 0 && r.Sport != sport || r.Dport != 0 && r.Dport != dport {
			continue
		}
		r.Packets++
		return r
	}
	return nil
}
