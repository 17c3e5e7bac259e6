package web

import (
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"skbscope/scenario"
)

func TestStateKnobsQuery(t *testing.T) {
	off, on := false, true
	v := view{Lesson: "netfilter-drop", C: 3, Lang: langEN, Knobs: scenario.Knobs{MTU: 1400,
		Offloads: []scenario.NICOffloads{{NIC: "A.eth0", Offloads: scenario.Offloads{TSO: &off, TxCsum: &on}}},
		NFDel:    []scenario.HostRule{{Host: "B", NFRule: scenario.NFRule{Chain: "input", Proto: "udp", Dport: 9001, Verdict: "drop"}}},
		NFAdd: []scenario.HostRule{
			{Host: "A", NFRule: scenario.NFRule{Chain: "output", Verdict: "drop"}},
			{Host: "B", NFRule: scenario.NFRule{Chain: "prerouting", Proto: "tcp", Saddr: "192.0.2.0/24", Daddr: "192.0.2.2/32", Sport: 1, Dport: 80, Verdict: "accept"}},
		},
		Links: []scenario.LinkAt{{NIC: "A.eth0", State: "down", AtNs: 500000}, {NIC: "A.eth0", State: "up", AtNs: 0}},
	}}
	q := v.query()
	for _, want := range []string{"ethtool=A.eth0+tso+off+tx+on", "nf=A+output+drop", "nfdel=B+input+udp+dport+9001+drop", "link=A.eth0+down+500000"} {
		if !strings.Contains(q, want) {
			t.Errorf("query %s lacks %s", q, want)
		}
	}
	back, err := url.ParseQuery(q)
	if err != nil {
		t.Fatal(err)
	}
	if got := parseView(back); !reflect.DeepEqual(got, v) {
		t.Errorf("%s reads back as %+v, want %+v", q, got.Knobs, v.Knobs)
	}
	if !(runKey{v.Lesson, v.Knobs}).same(runKey{v.Lesson, parseView(back).Knobs}) {
		t.Error("the same knobs are not the same run")
	}
	// What does not parse is left out, never a panic.
	junk := url.Values{qEthtool: {"", "A.eth0", "A.eth0 tso", "A.eth0 tso maybe", "A.eth0 mtu off"},
		qNFAdd: {"", "A", "A output", "A output udp dport x drop", "A output udp dport"},
		qLink:  {"", "A.eth0 down", "A.eth0 down soon"}}
	if k := parseView(junk).Knobs; len(k.Offloads)+len(k.NFAdd)+len(k.Links) != 0 {
		t.Errorf("junk read as %+v", k)
	}
}

// TestStateKnobsForm: the form offers offloads only for NICs that have
// them, lists the lesson's rules ticked unless deleted, and the knobs
// added.
func TestStateKnobsForm(t *testing.T) {
	off := false
	html := app.HTMLString(stateKnobs(langEN, "netfilter-drop", scenario.Knobs{
		NFDel: []scenario.HostRule{{Host: "B", NFRule: scenario.NFRule{Chain: "input", Proto: "udp", Dport: 9001, Verdict: "drop"}}},
		Links: []scenario.LinkAt{{NIC: "A.eth0", State: "down", AtNs: 1000}},
	}))
	for _, want := range []string{`data-rule="A output udp dport 9000 drop"`, `data-rule="B input udp dport 9001 drop"`,
		`data-nic="A.eth0"`, `data-link="A.eth0 down 1000"`, "ip link set eth0 down"} {
		if !strings.Contains(html, want) {
			t.Errorf("form lacks %s", want)
		}
	}
	if n := strings.Count(html, "checked") - strings.Count(html, `checked="false"`); n != 2 { // A's rule and the link
		t.Errorf("%d ticked boxes, want 2:\n%s", n, html)
	}
	if html := app.HTMLString(stateKnobs(langEN, "udp-sendto", scenario.Knobs{Model: "cs89x0",
		Offloads: []scenario.NICOffloads{{NIC: "A.eth0", Offloads: scenario.Offloads{GSO: &off}}}})); strings.Contains(html, "knob-offloads") {
		t.Error("offloads offered on a cs89x0")
	}
	if html := app.HTMLString(stateKnobs(langHans, "udp-sendto", scenario.Knobs{})); !strings.Contains(html, "设备状态") {
		t.Error("the form is not in simplified Chinese")
	}
	for k, v := range featureCatalogue {
		if catalogue[k] != v {
			t.Errorf("catalogue has %q twice", k)
		}
	}
}
