package web

import (
	"reflect"
	"strings"
	"testing"

	"skbscope/scenario"
	"skbscope/stack/trace"
)

// TestTCPStates: the handshake lesson's sockets go through the states
// Linux gives them, each transition at an event that says so.
func TestTCPStates(t *testing.T) {
	tr, err := scenario.Run("tcp-handshake")
	if err != nil {
		t.Fatal(err)
	}
	m := NewModel(tr)
	got := map[string][]string{}
	for _, s := range m.tcpStates() {
		for _, mv := range s.moves {
			got[s.key()] = append(got[s.key()], mv.from+">"+mv.to)
			e := &tr.Events[mv.seq]
			if e.Host != s.host {
				t.Errorf("%s: move at event %d of host %s", s.key(), mv.seq, e.Host)
			}
			for _, v := range e.Vals {
				if v.Name == "state" && v.Value != "TCP_"+mv.to {
					t.Errorf("%s: move to %s at event %d whose state is %s", s.key(), mv.to, mv.seq, v.Value)
				}
			}
		}
	}
	want := map[string][]string{
		"A sk1":              {"CLOSE>SYN_SENT", "SYN_SENT>ESTABLISHED", "ESTABLISHED>CLOSE_WAIT", "CLOSE_WAIT>LAST_ACK", "LAST_ACK>CLOSE"},
		"B sk1":              {"CLOSE>LISTEN"},
		"B sk1 request sock": {"LISTEN>NEW_SYN_RECV", "NEW_SYN_RECV>SYN_RECV"},
		"B sk1.child1":       {"NEW_SYN_RECV>SYN_RECV", "SYN_RECV>ESTABLISHED", "ESTABLISHED>FIN_WAIT1", "FIN_WAIT1>FIN_WAIT2", "FIN_WAIT2>TIME_WAIT"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("transitions\n got %v\nwant %v", got, want)
	}
	// The diagram at A's SYN_SENT → ESTABLISHED: that state lit, that
	// edge drawn as taken now; one event later, taken but not now.
	for _, s := range m.tcpStates() {
		if s.key() != "A sk1" {
			continue
		}
		mv := s.moves[1]
		svg := tcpStateSVG(&s, mv.seq)
		if !strings.Contains(svg, `class="ts-node seen lit" data-state="ESTABLISHED"`) ||
			!strings.Contains(svg, `class="ts-edge taken now" data-from="SYN_SENT" data-to="ESTABLISHED"`) {
			t.Errorf("diagram at event %d: %s", mv.seq, svg)
		}
		if svg := tcpStateSVG(&s, mv.seq+1); !strings.Contains(svg, `class="ts-edge taken" data-from="SYN_SENT"`) || strings.Count(svg, " lit") != 1 {
			t.Errorf("diagram at event %d: %s", mv.seq+1, svg)
		}
		if svg := tcpStateSVG(&s, 0); strings.Contains(svg, " lit") || strings.Contains(svg, "taken") {
			t.Errorf("diagram before the socket exists: %s", svg)
		}
		// Following the cursor, the state event picks its own socket.
		if i := m.autoTCPSock(mv.seq); i < 0 || m.tcpStates()[i].key() != "A sk1" {
			t.Errorf("at event %d the diagram follows socket %d", mv.seq, i)
		}
	}
	if s := tcpStatesOf(mustRun(t, "udp-sendto")); len(s) != 0 {
		t.Errorf("udp-sendto has TCP sockets %v", s)
	}
}

func mustRun(t *testing.T, name string) *trace.Trace {
	t.Helper()
	tr, err := scenario.Run(name)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}
