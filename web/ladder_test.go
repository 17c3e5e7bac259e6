package web

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/maxence-charriere/go-app/v10/pkg/app"

	"skbscope/scenario"
)

func TestLadderHandshake(t *testing.T) {
	tr, err := scenario.Run("tcp-handshake")
	if err != nil {
		t.Fatal(err)
	}
	var tcp []rung
	for _, r := range ladderOf(tr) {
		if r.proto == "tcp" {
			tcp = append(tcp, r)
		}
	}
	if len(tcp) < 3 {
		t.Fatalf("%d TCP rungs", len(tcp))
	}
	want := []struct {
		from, to int
		prefix   string
	}{
		{0, 1, "Flags [S], seq 0, win 64240, options [mss 1460,sackOK,TS,wscale 7]"},
		{1, 0, "Flags [S.], seq 0, ack 1, win 65160, options [mss 1460,sackOK,TS,wscale 7]"},
		{0, 1, "Flags [.], seq 1, ack 1, win "},
	}
	for i, w := range want {
		r := tcp[i]
		if r.from != w.from || r.to != w.to || !strings.Contains(r.label, w.prefix) {
			t.Errorf("rung %d: %d→%d %q, want %d→%d containing %q", i, r.from, r.to, r.label, w.from, w.to, w.prefix)
		}
		if tr.Events[r.seq].Kind != "wire" {
			t.Errorf("rung %d selects event %d, a %s", i, r.seq, tr.Events[r.seq].Kind)
		}
	}
}

func TestLadderARPAndLoss(t *testing.T) {
	tr, err := scenario.Run("arp")
	if err != nil {
		t.Fatal(err)
	}
	rs := ladderOf(tr)
	if len(rs) < 2 || !strings.HasPrefix(rs[0].label, "ARP, Request who-has 192.0.2.2 tell 192.0.2.1") ||
		!strings.HasPrefix(rs[1].label, "ARP, Reply 192.0.2.2 is-at 02:00:00:00:00:0b") || rs[1].from != 1 || rs[1].to != 0 {
		t.Errorf("arp ladder starts %+v", rs[:min(2, len(rs))])
	}
	tr, err = scenario.Run("tcp-loss")
	if err != nil {
		t.Fatal(err)
	}
	lost := 0
	for _, r := range ladderOf(tr) {
		if r.lost {
			lost++
		}
	}
	if lost == 0 {
		t.Error("tcp-loss: no rung marked lost")
	}
}

// TestWirePanels: the ladder highlights the frame at the cursor and links
// each row to its wire event; the TCP panel plots cwnd; the pcap link
// holds a pcap file.
func TestWirePanels(t *testing.T) {
	tr, err := scenario.Run("tcp-handshake")
	if err != nil {
		t.Fatal(err)
	}
	m := NewModel(tr)
	rs := m.wireView().rungs
	c := rs[1].seq
	html := app.HTMLString(ladderPanel(langEN, m, c))
	if !strings.Contains(html, fmt.Sprintf(`data-seq="%d"`, rs[0].seq)) || !strings.Contains(html, "Flags [S.]") ||
		strings.Count(html, "ladder-row proto-arp cur")+strings.Count(html, "ladder-row proto-tcp cur") != 1 {
		t.Errorf("ladder at %d: %.600s", c, html)
	}
	if html := app.HTMLString(tcpPanel(langHans, m, m.Len()-1)); !strings.Contains(html, "cwnd") || !strings.Contains(html, "<svg") {
		t.Errorf("tcp panel: %.400s", html)
	}
	href := pcapHref(m)
	b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(href, "data:application/vnd.tcpdump.pcap;base64,"))
	if err != nil || len(b) < 24 || b[0] != 0x4d && b[0] != 0xd4 && b[0] != 0xa1 {
		t.Errorf("pcap link: %.80s", href)
	}
	if pcapName(m) != "tcp-handshake.pcap" {
		t.Errorf("pcap name %q", pcapName(m))
	}
}
