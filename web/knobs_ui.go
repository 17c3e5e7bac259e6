package web

import (
	"slices"
	"strconv"
	"strings"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"skbscope/scenario"
)

// lessonBase is the lesson as written, before any knob: the what-if form
// lists its NICs and rules. The last one is kept, since the form renders
// on every step.
var lessonBase struct {
	name string
	f    *scenario.File
}

func baseFile(name string) *scenario.File {
	if lessonBase.name != name || lessonBase.f == nil {
		f, err := scenario.Load(name)
		if err != nil {
			return nil
		}
		lessonBase.name, lessonBase.f = name, f
	}
	return lessonBase.f
}

// nicNames lists f's NICs as "HOST.NIC"; offloadable keeps only those
// whose features ethtool can switch (the e1000e's, unless the NIC knob
// puts another chip in).
func nicNames(f *scenario.File, k scenario.Knobs, offloadable bool) []string {
	var out []string
	for _, h := range f.Hosts {
		for _, n := range h.NICs {
			model := n.Model
			if k.Model != "" && model != "ppp" {
				model = k.Model
			}
			if offloadable && model != "" && model != "e1000e" {
				continue
			}
			out = append(out, h.Name+"."+n.Name)
		}
	}
	return out
}

// nfChains are the nft base chains, by the hook each stands for.
var nfChains = []string{"output", "postrouting", "prerouting", "input", "forward"}

// stateKnobsBox is the what-if form's part for device state: offloads
// per NIC, netfilter rules, and links going down or up. Its fields are
// read by readStateKnobs when the learner re-runs. A component, so that
// stepping through the trace does not render the form again.
type stateKnobsBox struct {
	app.Compo
	L      lang
	Lesson string
	K      scenario.Knobs
}

// Render implements app.Composer.
func (b *stateKnobsBox) Render() app.UI { return stateKnobs(b.L, b.Lesson, b.K) }

func stateKnobs(l lang, lesson string, k scenario.Knobs) app.UI {
	f := baseFile(lesson)
	if f == nil {
		return app.Elem("div")
	}
	sel := func(id, cls, cur string, opts ...[2]string) app.HTMLElem {
		return app.Elem("select").ID(id).Class(cls).Body(app.Range(opts).Slice(func(i int) app.UI {
			return option(opts[i][0], opts[i][0] == cur, opts[i][1])
		}))
	}
	// Offloads: one row per NIC that has them.
	var offRows []app.UI
	for _, nic := range nicNames(f, k, true) {
		var cur scenario.Offloads
		for _, o := range k.Offloads {
			if o.NIC == nic {
				cur = o.Offloads
			}
		}
		cells := []app.UI{el("td", "", "mono", nic)}
		for _, ft := range ethtoolFeatures {
			v := unset
			if p := *feature(&cur, ft); p != nil {
				v = onOff(*p)
			}
			cells = append(cells, box("td", "", "",
				sel("", "knob-eth", v, [2]string{unset, l.t("lesson's")}, [2]string{"on", "on"}, [2]string{"off", "off"}).
					Attr("data-nic", nic).Attr("data-feat", ft).Aria("label", nic+" "+ft),
			))
		}
		offRows = append(offRows, box("tr", "", "", cells...))
	}
	// Netfilter: the lesson's rules (unticked: deleted), the added ones,
	// and a row to add one more.
	var nfRows []app.UI
	rule := func(r scenario.HostRule, keep bool, cls, origin string) {
		id := "knob-nf-" + strconv.Itoa(len(nfRows))
		nfRows = append(nfRows, box("li", "", "",
			app.ElemSelfClosing("input").ID(id).Attr("type", "checkbox").Class(cls).Attr("checked", keep).Attr("data-rule", r.String()),
			app.Elem("label").Attr("for", id).Body(el("code", "", "", r.String()), el("span", "", "muted", " "+origin)),
		))
	}
	for _, h := range f.Hosts {
		for _, r := range h.Netfilter {
			hr := scenario.HostRule{Host: h.Name, NFRule: r}
			rule(hr, !slices.ContainsFunc(k.NFDel, func(d scenario.HostRule) bool { return d == hr }), "knob-nf-lesson", l.t("the lesson's rule"))
		}
	}
	for _, r := range k.NFAdd {
		rule(r, true, "knob-nf-added", l.t("added"))
	}
	var hosts [][2]string
	for _, h := range f.Hosts {
		hosts = append(hosts, [2]string{h.Name, h.Name})
	}
	chains := make([][2]string, len(nfChains))
	for i, c := range nfChains {
		chains[i] = [2]string{c, c}
	}
	text := func(id, ph string, size int) app.UI {
		return app.ElemSelfClosing("input").ID(id).Attr("type", "text").Attr("size", size).Attr("placeholder", ph).Aria("label", ph)
	}
	addRule := box("div", "", "knob-row",
		el("span", "", "", l.t("add a rule")+": "),
		sel("knob-nf-host", "", "", hosts...).Aria("label", l.t("host")),
		sel("knob-nf-chain", "", "output", chains...).Aria("label", l.t("chain")),
		sel("knob-nf-proto", "", unset, [2]string{unset, l.t("any protocol")}, [2]string{"udp", "udp"}, [2]string{"tcp", "tcp"}, [2]string{"icmp", "icmp"}).
			Aria("label", l.t("protocol")),
		text("knob-nf-saddr", "saddr", 12), text("knob-nf-daddr", "daddr", 12),
		text("knob-nf-sport", "sport", 5), text("knob-nf-dport", "dport", 5),
		sel("knob-nf-verdict", "", unset, [2]string{unset, l.t("no new rule")}, [2]string{"drop", "drop"}, [2]string{"accept", "accept"}).
			Aria("label", l.t("verdict")),
	)
	// Links: the changes asked for, and a row to ask for one more.
	var linkRows []app.UI
	for i, x := range k.Links {
		id := "knob-link-" + strconv.Itoa(i)
		linkRows = append(linkRows, box("li", "", "",
			app.ElemSelfClosing("input").ID(id).Attr("type", "checkbox").Class("knob-link-keep").Attr("checked", true).Attr("data-link", linkText(x)),
			app.Elem("label").Attr("for", id).Body(el("code", "", "", linkSentence(x))),
		))
	}
	var nics [][2]string
	for _, n := range nicNames(f, k, false) {
		nics = append(nics, [2]string{n, n})
	}
	addLink := box("div", "", "knob-row",
		el("span", "", "", "ip link set "),
		sel("knob-link-nic", "", "", nics...).Aria("label", l.t("NIC")),
		sel("knob-link-state", "", unset, [2]string{unset, l.t("no change")}, [2]string{"down", "down"}, [2]string{"up", "up"}).
			Aria("label", l.t("state")),
		box("label", "", "", el("span", "", "", l.t("at")+" "), app.ElemSelfClosing("input").ID("knob-link-at").Attr("type", "number").Attr("min", 0).Attr("value", "0"),
			el("span", "", "muted", " ns")),
	)
	return box("div", "state-knobs", "state-knobs",
		app.If(len(offRows) > 0, func() app.UI {
			head := []app.UI{el("th", "", "", l.t("NIC"))}
			for _, ft := range ethtoolFeatures {
				head = append(head, el("th", "", "mono", ft))
			}
			return box("fieldset", "knob-offloads", "",
				el("legend", "", "", l.t("Offloads")+" (ethtool -K)"),
				box("table", "", "", box("thead", "", "", box("tr", "", "", head...)), box("tbody", "", "", offRows...)),
				el("p", "", "muted", l.t("tso: TCP segmentation offload; gso: generic segmentation offload; tx: transmit checksum offload.")),
			)
		}),
		box("fieldset", "knob-netfilter", "",
			el("legend", "", "", l.t("Netfilter rules")+" (nft)"),
			box("ul", "", "knob-list", nfRows...),
			addRule,
		),
		box("fieldset", "knob-links", "",
			el("legend", "", "", l.t("Device state")+" (ip link set)"),
			box("ul", "", "knob-list", linkRows...),
			addLink,
		),
	)
}

// linkSentence is a link knob as the command it stands for.
func linkSentence(x scenario.LinkAt) string {
	host, dev, _ := strings.Cut(x.NIC, ".")
	return host + ": ip link set " + dev + " " + x.State + " @ " + micros(x.AtNs) + " µs"
}

// readStateKnobs reads stateKnobs' fields into k. Like the number
// fields, what does not parse is left out, and the ranges are checked
// when the lesson runs.
func readStateKnobs(k *scenario.Knobs) {
	doc := app.Window().Get("document")
	all := func(sel string, each func(el app.Value)) {
		els := doc.Call("querySelectorAll", sel)
		for i := range els.Length() {
			each(els.Index(i))
		}
	}
	val := func(id string) string {
		el := doc.Call("getElementById", id)
		if !el.Truthy() {
			return ""
		}
		return formValue(strings.TrimSpace(el.Get("value").String()))
	}
	byNIC := map[string]int{}
	all("select.knob-eth", func(el app.Value) {
		v := formValue(el.Get("value").String())
		if v == "" {
			return
		}
		nic := el.Get("dataset").Get("nic").String()
		i, ok := byNIC[nic]
		if !ok {
			i = len(k.Offloads)
			byNIC[nic] = i
			k.Offloads = append(k.Offloads, scenario.NICOffloads{NIC: nic})
		}
		if p := feature(&k.Offloads[i].Offloads, el.Get("dataset").Get("feat").String()); p != nil {
			b := v == "on"
			*p = &b
		}
	})
	all("input.knob-nf-lesson", func(el app.Value) {
		if r, ok := parseRule(el.Get("dataset").Get("rule").String()); ok && !el.Get("checked").Bool() {
			k.NFDel = append(k.NFDel, r)
		}
	})
	all("input.knob-nf-added", func(el app.Value) {
		if r, ok := parseRule(el.Get("dataset").Get("rule").String()); ok && el.Get("checked").Bool() {
			k.NFAdd = append(k.NFAdd, r)
		}
	})
	if v := val("knob-nf-verdict"); v != "" {
		r := scenario.HostRule{Host: val("knob-nf-host"), NFRule: scenario.NFRule{Chain: val("knob-nf-chain"),
			Proto: val("knob-nf-proto"), Saddr: val("knob-nf-saddr"), Daddr: val("knob-nf-daddr"), Verdict: v}}
		r.Sport, _ = strconv.Atoi(val("knob-nf-sport"))
		r.Dport, _ = strconv.Atoi(val("knob-nf-dport"))
		k.NFAdd = append(k.NFAdd, r)
	}
	all("input.knob-link-keep", func(el app.Value) {
		if x, ok := parseLink(el.Get("dataset").Get("link").String()); ok && el.Get("checked").Bool() {
			k.Links = append(k.Links, x)
		}
	})
	if st := val("knob-link-state"); st != "" {
		at, _ := strconv.ParseInt(val("knob-link-at"), 10, 64)
		k.Links = append(k.Links, scenario.LinkAt{NIC: val("knob-link-nic"), State: st, AtNs: at})
	}
}
