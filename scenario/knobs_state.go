package scenario

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// NICOffloads is `ethtool -K DEV …` on one NIC, named "HOST.NIC": the
// features it sets win over the lesson's.
type NICOffloads struct {
	NIC string `json:"nic"`
	Offloads
}

// HostRule is a netfilter rule on a host, as a what-if knob adds or
// removes it.
type HostRule struct {
	Host string `json:"host"`
	NFRule
}

// LinkAt is `ip link set DEV up|down` run by a task of its own at AtNs.
type LinkAt struct {
	NIC   string `json:"nic"`   // "HOST.NIC"
	State string `json:"state"` // "up" or "down"
	AtNs  int64  `json:"at_ns"`
}

// maxLinkAt is how late a link knob may act: the simulation stops
// earlier anyway for most lessons.
const maxLinkAt = 10_000_000_000

// checkState checks the offload, netfilter and link knobs that need no
// lesson; applyState checks what does (which hosts and NICs exist).
func (k Knobs) checkState() []error {
	var errs []error
	for _, l := range k.Links {
		if l.State != "up" && l.State != "down" {
			errs = append(errs, fmt.Errorf("link %s: state %q: up or down", l.NIC, l.State))
		}
		if l.AtNs < 0 || l.AtNs > maxLinkAt {
			errs = append(errs, fmt.Errorf("link %s: at %d ns outside 0..10 s", l.NIC, l.AtNs))
		}
	}
	return errs
}

// applyState sets the offloads, removes and adds the netfilter rules and
// schedules the link changes in g, then checks g as a scenario file: a
// knob that names no NIC, or turns on what a chip lacks, is an error.
func (k Knobs) applyState(g *File) error {
	var errs []error
	findHost := func(name string) *Host {
		for i := range g.Hosts {
			if g.Hosts[i].Name == name {
				return &g.Hosts[i]
			}
		}
		return nil
	}
	findNIC := func(name string) (*Host, *NIC) {
		host, dev, _ := strings.Cut(name, ".")
		h := findHost(host)
		if h == nil {
			return nil, nil
		}
		for i := range h.NICs {
			if h.NICs[i].Name == dev {
				return h, &h.NICs[i]
			}
		}
		return h, nil
	}
	for _, o := range k.Offloads {
		_, n := findNIC(o.NIC)
		if n == nil {
			errs = append(errs, fmt.Errorf("offloads: no NIC %q", o.NIC))
			continue
		}
		var cur Offloads
		if n.Offloads != nil {
			cur = *n.Offloads
		}
		for _, f := range []struct{ to, from **bool }{
			{&cur.SG, &o.SG}, {&cur.TSO, &o.TSO}, {&cur.GSO, &o.GSO}, {&cur.TxCsum, &o.TxCsum}, {&cur.RxCsum, &o.RxCsum},
		} {
			if *f.from != nil {
				v := **f.from
				*f.to = &v
			}
		}
		n.Offloads = &cur
	}
	for _, r := range k.NFDel {
		h := findHost(r.Host)
		if h == nil {
			errs = append(errs, fmt.Errorf("netfilter: no host %q", r.Host))
			continue
		}
		i := -1
		for j := range h.Netfilter {
			if reflect.DeepEqual(h.Netfilter[j], r.NFRule) {
				i = j
				break
			}
		}
		if i < 0 {
			errs = append(errs, fmt.Errorf("netfilter: host %s has no rule \"%s\" to delete", r.Host, r))
			continue
		}
		h.Netfilter = append(h.Netfilter[:i], h.Netfilter[i+1:]...)
	}
	for _, r := range k.NFAdd {
		h := findHost(r.Host)
		if h == nil {
			errs = append(errs, fmt.Errorf("netfilter: no host %q", r.Host))
			continue
		}
		h.Netfilter = append(h.Netfilter, r.NFRule)
	}
	for _, l := range k.Links {
		h, n := findNIC(l.NIC)
		if n == nil {
			errs = append(errs, fmt.Errorf("link: no NIC %q", l.NIC))
			continue
		}
		h.Programs = append(h.Programs, Program{Name: "ip", AtNs: l.AtNs,
			Steps: []Step{{Op: "link", Dev: n.Name, State: l.State}}})
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	// The file has no text, so every error is at line 1, column 1: say
	// what the knobs did wrong without it.
	if err := g.check(positions{}); err != nil {
		msg := strings.ReplaceAll(err.Error(), where(nil, 0)+": ", "")
		return fmt.Errorf("what-if knobs: %s", msg)
	}
	return nil
}

// String is the rule as nft would print it in its chain, with the host's
// name in front: "A output udp dport 9000 drop".
func (r HostRule) String() string { return r.Host + " " + r.Chain + " " + r.NFRule.String() }

// String is the rule's matches and verdict, as nft lists them.
func (r NFRule) String() string {
	var parts []string
	if r.Proto != "" {
		parts = append(parts, r.Proto)
	}
	if r.Saddr != "" {
		parts = append(parts, "saddr", r.Saddr)
	}
	if r.Daddr != "" {
		parts = append(parts, "daddr", r.Daddr)
	}
	if r.Sport != 0 {
		parts = append(parts, "sport", fmt.Sprint(r.Sport))
	}
	if r.Dport != 0 {
		parts = append(parts, "dport", fmt.Sprint(r.Dport))
	}
	return strings.Join(append(parts, r.Verdict), " ")
}
