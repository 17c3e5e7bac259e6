package scenario

import (
	"strings"
	"testing"

	"skbscope/stack/trace"
)

func hasFn(tr *trace.Trace, host, fn string) bool {
	for _, e := range tr.Events {
		if e.Host == host && e.Kind == trace.Call && e.Fn == fn {
			return true
		}
	}
	return false
}

// TestStateKnobs: the offload, netfilter and link knobs change what the
// lesson does as ethtool, nft and ip would.
func TestStateKnobs(t *testing.T) {
	// A DROP rule at LOCAL_OUT: sendto() returns -EPERM.
	drop := HostRule{Host: "A", NFRule: NFRule{Chain: "output", Proto: "udp", Verdict: "drop"}}
	tr, err := RunWith("udp-sendto", Knobs{NFAdd: []HostRule{drop}})
	if err != nil {
		t.Fatal(err)
	}
	if got := sendtoRets(tr, "A"); len(got) != 1 || got[0] != "-EPERM" {
		t.Errorf("udp-sendto with %s: sendto returned %v", drop, got)
	}
	// Deleting the lesson's own rule lets the first datagram out.
	base := sendtoRets(runLesson(t, "netfilter-drop"), "A")
	lessonRule := HostRule{Host: "A", NFRule: NFRule{Chain: "output", Proto: "udp", Dport: 9000, Verdict: "drop"}}
	tr, err = RunWith("netfilter-drop", Knobs{NFDel: []HostRule{lessonRule}})
	if err != nil {
		t.Fatal(err)
	}
	if got := sendtoRets(tr, "A"); len(base) == 0 || base[0] != "-EPERM" || len(got) == 0 || got[0] != "3" {
		t.Errorf("netfilter-drop: sendto returned %v, and %v without %s", base, got, lessonRule)
	}
	// TSO off on A: validate_xmit_skb segments in software.
	if hasFn(runLesson(t, "offloads"), "A", "__skb_gso_segment") {
		t.Fatal("offloads: A segments in software with TSO on")
	}
	tr, err = RunWith("offloads", Knobs{Offloads: []NICOffloads{{NIC: "A.eth0", Offloads: Offloads{TSO: off()}}}})
	if err != nil {
		t.Fatal(err)
	}
	if !hasFn(tr, "A", "__skb_gso_segment") {
		t.Error("offloads with tso off on A.eth0: no __skb_gso_segment on A")
	}
	// TX checksum off: TCP's CHECKSUM_PARTIAL skbs are finished by
	// skb_checksum_help (UDP computes its own checksum without offload).
	tr, err = RunWith("offloads", Knobs{Offloads: []NICOffloads{{NIC: "A.eth0", Offloads: Offloads{TxCsum: off()}}}})
	if err != nil {
		t.Fatal(err)
	}
	if !hasFn(tr, "A", "skb_checksum_help") || hasFn(runLesson(t, "offloads"), "A", "skb_checksum_help") {
		t.Error("tx checksum off on A.eth0 does not bring in skb_checksum_help")
	}
	// The device goes down before sendto: noop_qdisc drops the datagram.
	tr, err = RunWith("udp-sendto", Knobs{Links: []LinkAt{{NIC: "A.eth0", State: "down", AtNs: 0}}})
	if err != nil {
		t.Fatal(err)
	}
	if !hasFn(tr, "A", "dev_change_flags") || !hasFn(tr, "A", "noop_enqueue") {
		t.Error("eth0 down at 0 ns: no dev_change_flags, or no noop_enqueue")
	}
	for _, bad := range []Knobs{
		{Offloads: []NICOffloads{{NIC: "A.eth9", Offloads: Offloads{TSO: off()}}}},
		{NFAdd: []HostRule{{Host: "Z", NFRule: NFRule{Chain: "output", Verdict: "drop"}}}},
		{NFAdd: []HostRule{{Host: "A", NFRule: NFRule{Chain: "sideways", Verdict: "drop"}}}},
		{NFDel: []HostRule{drop}},
		{Links: []LinkAt{{NIC: "A.eth0", State: "sideways"}}},
		{Links: []LinkAt{{NIC: "A.eth0", State: "up", AtNs: -1}}},
		{Links: []LinkAt{{NIC: "Q.eth0", State: "up"}}},
	} {
		if _, err := RunWith("udp-sendto", bad); err == nil {
			t.Errorf("%+v accepted", bad)
		} else if strings.Contains(err.Error(), "line 1") {
			t.Errorf("%+v: error %q names a line of a file the learner never saw", bad, err)
		}
	}
	on := true
	if _, err := RunWith("udp-sendto", Knobs{Model: "cs89x0", Offloads: []NICOffloads{{NIC: "A.eth0", Offloads: Offloads{TSO: &on}}}}); err == nil {
		t.Error("tso turned on on a cs89x0")
	}
	if f, _ := Load("netfilter-drop"); len(f.Hosts[0].Netfilter) != 1 {
		t.Fatal("knobs changed the embedded lesson")
	}
}
