package web

import (
	"net/url"
	"strconv"
	"strings"

	"skbscope/scenario"
)

// The state knobs in the URL, one parameter per setting, each written as
// the command a learner would type (less the command's own name):
//
//	ethtool=A.eth0 tso off tx off   ethtool -K eth0 tso off tx off, on host A
//	nf=A output udp dport 9000 drop  nft add rule … output udp dport 9000 drop, on A
//	nfdel=B input udp dport 9001 drop  nft delete rule … (one of the lesson's)
//	link=A.eth0 down 500000         ip link set eth0 down, on A, at 500 µs
const (
	qEthtool = "ethtool"
	qNFAdd   = "nf"
	qNFDel   = "nfdel"
	qLink    = "link"
)

// unset is the value of a menu's "keep as is" option: go-app leaves an
// empty value attribute out, and an option without one has its text, in
// the page's language, as its value.
const unset = "-"

// formValue reads a form control's value, unset as "".
func formValue(v string) string {
	if v == unset {
		return ""
	}
	return v
}

// ethtoolFeatures are the offloads the knobs switch, by ethtool's names.
var ethtoolFeatures = []string{"tso", "gso", "tx"}

// feature is the field of o that ethtool's name f sets.
func feature(o *scenario.Offloads, f string) **bool {
	switch f {
	case "tso":
		return &o.TSO
	case "gso":
		return &o.GSO
	case "tx":
		return &o.TxCsum
	}
	return nil
}

// ethtoolText writes o as "HOST.NIC tso off tx on".
func ethtoolText(o scenario.NICOffloads) string {
	parts := []string{o.NIC}
	for _, f := range ethtoolFeatures {
		if p := *feature(&o.Offloads, f); p != nil {
			parts = append(parts, f, onOff(*p))
		}
	}
	return strings.Join(parts, " ")
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// parseEthtool reads ethtoolText's form; ok is false for anything else.
func parseEthtool(s string) (o scenario.NICOffloads, ok bool) {
	w := strings.Fields(s)
	if len(w) < 3 || len(w)%2 != 1 {
		return o, false
	}
	o.NIC = w[0]
	for i := 1; i+1 < len(w); i += 2 {
		p := feature(&o.Offloads, w[i])
		if p == nil || w[i+1] != "on" && w[i+1] != "off" {
			return o, false
		}
		v := w[i+1] == "on"
		*p = &v
	}
	return o, true
}

// parseRule reads scenario.HostRule's String form: "HOST CHAIN [PROTO]
// [saddr P] [daddr P] [sport N] [dport N] VERDICT", VERDICT accept or
// drop. The other values are checked when the lesson runs.
func parseRule(s string) (r scenario.HostRule, ok bool) {
	w := strings.Fields(s)
	if len(w) < 3 {
		return r, false
	}
	r.Host, r.Chain, r.Verdict = w[0], w[1], w[len(w)-1]
	if r.Verdict != "accept" && r.Verdict != "drop" {
		return r, false
	}
	w = w[2 : len(w)-1]
	if len(w) > 0 {
		if _, known := map[string]bool{"tcp": true, "udp": true, "icmp": true}[w[0]]; known {
			r.Proto, w = w[0], w[1:]
		}
	}
	if len(w)%2 != 0 {
		return r, false
	}
	for i := 0; i < len(w); i += 2 {
		k, v := w[i], w[i+1]
		n, err := strconv.Atoi(v)
		switch {
		case k == "saddr":
			r.Saddr = v
		case k == "daddr":
			r.Daddr = v
		case k == "sport" && err == nil:
			r.Sport = n
		case k == "dport" && err == nil:
			r.Dport = n
		default:
			return r, false
		}
	}
	return r, true
}

// linkText writes l as "HOST.NIC down 500000" (the time in ns).
func linkText(l scenario.LinkAt) string {
	return l.NIC + " " + l.State + " " + strconv.FormatInt(l.AtNs, 10)
}

func parseLink(s string) (l scenario.LinkAt, ok bool) {
	w := strings.Fields(s)
	if len(w) != 3 {
		return l, false
	}
	at, err := strconv.ParseInt(w[2], 10, 64)
	if err != nil {
		return l, false
	}
	return scenario.LinkAt{NIC: w[0], State: w[1], AtNs: at}, true
}

// parseStateKnobs reads the state knobs of a query into k. A value that
// does not parse is left out, as an unparsable number counts as zero.
func parseStateKnobs(q url.Values, k *scenario.Knobs) {
	for _, s := range q[qEthtool] {
		if o, ok := parseEthtool(s); ok {
			k.Offloads = append(k.Offloads, o)
		}
	}
	for _, p := range []struct {
		key string
		to  *[]scenario.HostRule
	}{{qNFDel, &k.NFDel}, {qNFAdd, &k.NFAdd}} {
		for _, s := range q[p.key] {
			if r, ok := parseRule(s); ok {
				*p.to = append(*p.to, r)
			}
		}
	}
	for _, s := range q[qLink] {
		if l, ok := parseLink(s); ok {
			k.Links = append(k.Links, l)
		}
	}
}

// writeStateKnobs puts k's state knobs into a query.
func writeStateKnobs(q url.Values, k scenario.Knobs) {
	for _, o := range k.Offloads {
		q.Add(qEthtool, ethtoolText(o))
	}
	for _, r := range k.NFDel {
		q.Add(qNFDel, r.String())
	}
	for _, r := range k.NFAdd {
		q.Add(qNFAdd, r.String())
	}
	for _, l := range k.Links {
		q.Add(qLink, linkText(l))
	}
}
