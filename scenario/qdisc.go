package scenario

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"skbscope/stack/core"
	"skbscope/stack/kernel"
	"skbscope/stack/sched"
)

// Qdisc is a NIC's root qdisc, what `tc qdisc replace dev DEV root KIND
// …` sets. In a file it is either the kind alone ("pfifo_fast") or an
// object with the kind and its parameters:
//
//	{"kind": "tbf", "rate": "1mbit", "burst": 1600, "latency_ms": 50}
type Qdisc struct {
	// Kind is pfifo_fast (the default), pfifo, bfifo, tbf or fq_codel.
	Kind string `json:"kind"`
	// Limit is pfifo's and fq_codel's limit in packets, bfifo's and tbf's
	// in bytes; 0 takes the kernel's default (tbf has none).
	Limit int `json:"limit,omitempty"`
	// Rate is tbf's rate in tc's syntax: 800kbit, 1mbit, 1gbit, 125kbps.
	Rate string `json:"rate,omitempty"`
	// Burst is tbf's bucket in bytes.
	Burst int `json:"burst,omitempty"`
	// LatencyMs is tbf's latency: tc turns it into the limit.
	LatencyMs int `json:"latency_ms,omitempty"`
	// Peakrate is tbf's peakrate, in the syntax of Rate: a second bucket
	// that spaces packets out at this rate even when the first is full.
	Peakrate string `json:"peakrate,omitempty"`
	// Mtu is tbf's mtu (tc also calls it minburst): the peak bucket's
	// size in bytes, required with a peakrate.
	Mtu int `json:"mtu,omitempty"`

	err string // why the value did not decode; check reports it in place
}

// qdiscFields is Qdisc without its methods, for the JSON codec.
type qdiscFields Qdisc

// UnmarshalJSON reads a kind string or an object. A malformed object is
// kept as an error for check, which knows the line and column.
func (q *Qdisc) UnmarshalJSON(b []byte) error {
	*q = Qdisc{}
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		return nil
	case len(b) > 0 && b[0] == '"':
		return json.Unmarshal(b, &q.Kind)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var f qdiscFields
	if err := dec.Decode(&f); err != nil {
		q.err = strings.TrimPrefix(err.Error(), "json: ")
		return nil
	}
	*q = Qdisc(f)
	return nil
}

// MarshalJSON writes the kind alone when there are no parameters.
func (q Qdisc) MarshalJSON() ([]byte, error) {
	if q.Limit == 0 && q.Rate == "" && q.Burst == 0 && q.LatencyMs == 0 && q.Peakrate == "" && q.Mtu == 0 {
		return json.Marshal(q.Kind)
	}
	return json.Marshal(qdiscFields(q))
}

// qdiscKinds are the disciplines a NIC may have.
var qdiscKinds = []string{"pfifo_fast", "pfifo", "bfifo", "tbf", "fq_codel"}

// ParseRate reads a rate as tc writes it: a number and a unit, bit, kbit,
// mbit, gbit (powers of 1000, bits) or bps, kbps, mbps, gbps (bytes).
// The result is in bit/s.
func ParseRate(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   float64
	}{
		{"kbit", 1e3}, {"mbit", 1e6}, {"gbit", 1e9}, {"bit", 1},
		{"kbps", 8e3}, {"mbps", 8e6}, {"gbps", 8e9}, {"bps", 8},
	}
	l := strings.ToLower(strings.TrimSpace(s))
	for _, u := range units {
		if num, ok := strings.CutSuffix(l, u.suffix); ok {
			v, err := strconv.ParseFloat(num, 64)
			if err != nil || !(v > 0) {
				break
			}
			bps := v * u.mult
			if bps < 1000 || bps > 100e9 {
				return 0, fmt.Errorf("rate %q outside 1kbit..100gbit", s)
			}
			return int64(bps), nil
		}
	}
	return 0, fmt.Errorf("rate %q: a number and a unit, e.g. 1mbit, 800kbit, 125kbps", s)
}

// checkQdisc validates one NIC's qdisc at path p.
func checkQdisc(ps *problems, p string, q Qdisc) {
	if q.err != "" {
		ps.add(p, "%s", q.err)
		return
	}
	known := q.Kind == ""
	for _, k := range qdiscKinds {
		known = known || q.Kind == k
	}
	if !known {
		ps.add(p, "qdisc %q is not modelled (%s are)", q.Kind, strings.Join(qdiscKinds, ", "))
		return
	}
	only := func(field string, set bool, kinds ...string) {
		if !set {
			return
		}
		for _, k := range kinds {
			if q.Kind == k {
				return
			}
		}
		ps.add(p+"."+field, "%s applies to %s only, not %s", field, strings.Join(kinds, " and "), kindOr(q.Kind))
	}
	only("limit", q.Limit != 0, "pfifo", "bfifo", "tbf", "fq_codel")
	only("rate", q.Rate != "", "tbf")
	only("burst", q.Burst != 0, "tbf")
	only("latency_ms", q.LatencyMs != 0, "tbf")
	only("peakrate", q.Peakrate != "", "tbf")
	only("mtu", q.Mtu != 0, "tbf")
	switch q.Kind {
	case "pfifo", "fq_codel":
		if q.Limit < 0 || q.Limit > 100000 {
			ps.add(p+".limit", "%d packets outside 1..100000 (0: the default)", q.Limit)
		}
	case "bfifo":
		if q.Limit < 0 || q.Limit > 1<<30 {
			ps.add(p+".limit", "%d bytes outside 1..1073741824 (0: the default)", q.Limit)
		}
	case "tbf":
		rate, err := ParseRate(q.Rate)
		if q.Rate == "" {
			ps.add(p+".rate", "tbf needs a rate, e.g. \"1mbit\"")
		} else if err != nil {
			ps.add(p+".rate", "%v", err)
		}
		if q.Burst < 1 || q.Burst > 1<<30 {
			ps.add(p+".burst", "tbf needs a burst in bytes, 1..1073741824")
		} else if rate > 0 && sched.PschedL2tNs(rate, q.Burst) == 0 {
			ps.add(p+".burst", "%d bytes take no time at %s: the bucket would hold nothing (EINVAL)", q.Burst, q.Rate)
		}
		if q.Peakrate != "" {
			peak, err := ParseRate(q.Peakrate)
			switch {
			case err != nil:
				ps.add(p+".peakrate", "%v", err)
			case rate > 0 && peak <= rate:
				ps.add(p+".peakrate", "peakrate %s is not above rate %s (EINVAL)", q.Peakrate, q.Rate)
			}
			if q.Mtu == 0 {
				ps.add(p+".mtu", "when peakrate is given, mtu must be too (as tc says)")
			}
		}
		if q.Mtu < 0 || q.Mtu > 1<<20 {
			ps.add(p+".mtu", "%d bytes outside 1..1048576", q.Mtu)
		} else if q.Mtu > 0 && q.Peakrate == "" {
			ps.add(p+".mtu", "mtu sizes the peakrate bucket: give a peakrate too")
		}
		switch {
		case (q.Limit == 0) == (q.LatencyMs == 0):
			ps.add(p, "tbf needs exactly one of limit (bytes) and latency_ms")
		case q.Limit < 0 || q.Limit > 1<<30:
			ps.add(p+".limit", "%d bytes outside 1..1073741824", q.Limit)
		case q.LatencyMs < 0 || q.LatencyMs > 10000:
			ps.add(p+".latency_ms", "%d ms outside 1..10000", q.LatencyMs)
		}
	}
}

func kindOr(k string) string {
	if k == "" {
		return "pfifo_fast"
	}
	return k
}

// newQdisc attaches the NIC's qdisc to dev, as `tc qdisc replace` would.
func newQdisc(k *kernel.Kernel, dev *core.Device, q Qdisc) (core.Qdisc, error) {
	switch q.Kind {
	case "", "pfifo_fast":
		return sched.NewPfifoFast(dev), nil
	case "pfifo":
		return sched.NewPfifo(dev, q.Limit), nil
	case "bfifo":
		return sched.NewBfifo(dev, q.Limit), nil
	case "fq_codel":
		fq := sched.NewFqCodel(dev)
		if q.Limit > 0 {
			fq.Limit = q.Limit
		}
		return fq, nil
	case "tbf":
		rate, err := ParseRate(q.Rate)
		if err != nil {
			return nil, err
		}
		p := sched.TbfParams{RateBps: rate, Burst: q.Burst, Limit: q.Limit}
		if q.Peakrate != "" {
			if p.PeakBps, err = ParseRate(q.Peakrate); err != nil {
				return nil, err
			}
			p.Mtu = q.Mtu
		}
		if q.LatencyMs > 0 {
			p.Limit = sched.TbfLimit(p, int64(q.LatencyMs)*1_000_000)
		}
		return sched.NewTbf(k, dev, p)
	}
	return nil, fmt.Errorf("qdisc %q is not modelled", q.Kind)
}
