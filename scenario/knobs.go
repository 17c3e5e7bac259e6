package scenario

import (
	"encoding/json"
	"errors"
	"fmt"

	"skbscope/stack/trace"
)

// Knobs are the what-if settings a learner may change on any lesson.
// A zero field keeps what the lesson says.
type Knobs struct {
	MTU        int     `json:"mtu"`        // every Ethernet NIC, 576..9000
	RateBps    int64   `json:"rate_bps"`   // every link, 1 kbit/s..100 Gbit/s
	DelayNs    int64   `json:"delay_ns"`   // every link, 1 ns..10 s
	LossPct    float64 `json:"loss_pct"`   // every link, 0..100
	TxQueueLen int     `json:"txqueuelen"` // every Ethernet NIC, 1..100000
	SndBuf     int     `json:"sndbuf"`     // net.core.wmem_default and wmem_max, 4608..64 MiB
	RcvBuf     int     `json:"rcvbuf"`     // net.core.rmem_default and rmem_max, 2304..64 MiB
	// Model puts every Ethernet NIC on another chip: e1000e, cs89x0 or
	// dm9000. The two 10 Mbit/s chips also slow every link to their
	// speed, unless RateBps says otherwise.
	Model string `json:"model"`
	// Qdisc replaces every Ethernet NIC's root qdisc with a kind that
	// needs no parameters (`tc qdisc replace dev DEV root KIND`):
	// pfifo_fast, pfifo, bfifo or fq_codel.
	Qdisc string `json:"qdisc"`
	// Offloads are `ethtool -K HOST.NIC …` over the lesson's features.
	Offloads []NICOffloads `json:"offloads,omitempty"`
	// NFDel removes rules of the lesson (`nft delete rule`), NFAdd adds
	// rules at the end of a chain (`nft add rule`), deletions first.
	NFDel []HostRule `json:"nf_del,omitempty"`
	NFAdd []HostRule `json:"nf_add,omitempty"`
	// Links take NICs down or up at a moment (`ip link set DEV down|up`).
	Links []LinkAt `json:"links,omitempty"`
}

// Check reports a knob outside its range.
func (k Knobs) Check() error {
	var errs []error
	bad := func(ok bool, format string, a ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, a...))
		}
	}
	bad(k.MTU == 0 || k.MTU >= 576 && k.MTU <= 9000, "mtu %d outside 576..9000", k.MTU)
	bad(k.RateBps == 0 || k.RateBps >= 1000 && k.RateBps <= 100_000_000_000, "rate %d bit/s outside 1 kbit/s..100 Gbit/s", k.RateBps)
	bad(k.DelayNs >= 0 && k.DelayNs <= 10_000_000_000, "delay %d ns outside 0..10 s", k.DelayNs)
	bad(k.LossPct >= 0 && k.LossPct <= 100, "loss %g%% outside 0..100", k.LossPct)
	bad(k.TxQueueLen >= 0 && k.TxQueueLen <= 100000, "txqueuelen %d outside 1..100000", k.TxQueueLen)
	bad(k.SndBuf == 0 || k.SndBuf >= 4608 && k.SndBuf <= 64<<20, "sndbuf %d outside 4608..67108864", k.SndBuf)
	bad(k.RcvBuf == 0 || k.RcvBuf >= 2304 && k.RcvBuf <= 64<<20, "rcvbuf %d outside 2304..67108864", k.RcvBuf)
	bad(k.Model == "" || k.Model != "ppp" && knownModel(k.Model), "NIC model %q: e1000e, cs89x0 or dm9000", k.Model)
	switch k.Qdisc {
	case "", "pfifo_fast", "pfifo", "bfifo", "fq_codel":
	case "tbf":
		errs = append(errs, errors.New("qdisc tbf needs a rate and a burst: set it in the scenario"))
	default:
		errs = append(errs, fmt.Errorf("qdisc %q: pfifo_fast, pfifo, bfifo or fq_codel", k.Qdisc))
	}
	errs = append(errs, k.checkState()...)
	return errors.Join(errs...)
}

// Apply returns a copy of f with the knobs set.
func (k Knobs) Apply(f *File) (*File, error) {
	if err := k.Check(); err != nil {
		return nil, err
	}
	g := f.clone()
	for hi := range g.Hosts {
		h := &g.Hosts[hi]
		for ni := range h.NICs {
			if k.MTU != 0 {
				h.NICs[ni].MTU = k.MTU
			}
			if k.TxQueueLen != 0 {
				h.NICs[ni].TxQueueLen = k.TxQueueLen
			}
			if k.Model != "" && h.NICs[ni].Model != "ppp" { // a serial line stays one
				h.NICs[ni].Model, h.NICs[ni].Driver = k.Model, ""
			}
			if k.Qdisc != "" {
				h.NICs[ni].Qdisc = Qdisc{Kind: k.Qdisc}
			}
		}
		set := func(key string, v int) {
			if v == 0 {
				return
			}
			if h.Sysctls == nil {
				h.Sysctls = map[string]int{}
			}
			h.Sysctls[key] = v
		}
		set("net.core.wmem_default", k.SndBuf)
		set("net.core.wmem_max", k.SndBuf)
		set("net.core.rmem_default", k.RcvBuf)
		set("net.core.rmem_max", k.RcvBuf)
	}
	for li := range g.Links {
		l := &g.Links[li]
		switch {
		case k.RateBps != 0:
			l.RateBps = k.RateBps
		case (k.Model == "cs89x0" || k.Model == "dm9000") && !g.serialLink(*l):
			l.RateBps = 10_000_000 // what both chips run at here
		}
		if k.DelayNs != 0 {
			l.DelayNs = k.DelayNs
		}
		if k.LossPct != 0 {
			l.LossPct = k.LossPct
		}
	}
	if err := k.applyState(g); err != nil {
		return nil, err
	}
	return g, nil
}

// clone deep-copies a scenario through its own JSON form.
func (f *File) clone() *File {
	b, err := json.Marshal(f)
	if err != nil {
		panic(err) // a File always marshals
	}
	var g File
	if err := json.Unmarshal(b, &g); err != nil {
		panic(err)
	}
	return &g
}

// RunWith simulates the named lesson with knobs applied.
func RunWith(name string, k Knobs) (*trace.Trace, error) {
	f, err := Load(name)
	if err != nil {
		return nil, err
	}
	if f, err = k.Apply(f); err != nil {
		return nil, err
	}
	return Simulate(f)
}

// serialLink reports whether l joins ppp NICs (a serial line, which no
// Ethernet chip knob changes).
func (f *File) serialLink(l Link) bool {
	for _, h := range f.Hosts {
		for _, n := range h.NICs {
			if n.Model == "ppp" && (l.A == h.Name+"."+n.Name || l.B == h.Name+"."+n.Name) {
				return true
			}
		}
	}
	return false
}
