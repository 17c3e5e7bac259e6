package scenario

import (
	"slices"
	"strings"
	"testing"

	"skbscope/stack/trace"
)

// sendtoRets lists what each __sys_sendto on host returned.
func sendtoRets(tr *trace.Trace, host string) []string {
	var out []string
	for _, e := range tr.Events {
		if e.Host == host && e.Kind == trace.Ret && e.Fn == "__sys_sendto" {
			out = append(out, e.Ret)
		}
	}
	return out
}

// TestQdiscBands: the band 0 and band 1 datagrams, sent after 300 bulk
// ones, leave pfifo_fast before the bulk backlog in band 2.
func TestQdiscBands(t *testing.T) {
	tr := runLesson(t, "qdisc-bands")
	// BQL stops the queue while the bulk datagrams are still being
	// sent, so some band 2 ones leave first; from the moment the band 0
	// datagram is queued, band 0 and then band 1 go before the rest.
	urgentAt := firstEvent(tr, 0, func(e *trace.Event) bool {
		return e.Host == "A" && e.Kind == trace.Enqueue && e.Queue == "pfifo_fast band 0"
	})
	var deq []string
	for _, e := range tr.Events[max(urgentAt, 0):] {
		if e.Host == "A" && e.Kind == trace.Dequeue && strings.HasPrefix(e.Queue, "pfifo_fast band") {
			deq = append(deq, e.Queue)
		}
	}
	if urgentAt < 0 || len(deq) < 3 || deq[0] != "pfifo_fast band 0" || deq[1] != "pfifo_fast band 1" || deq[2] != "pfifo_fast band 2" {
		t.Fatalf("band dequeue order after the band 0 enqueue starts %v", deq[:min(len(deq), 3)])
	}
	// Every band 2 datagram went in before the band 0 one.
	enq0 := firstEvent(tr, 0, func(e *trace.Event) bool { return e.Kind == trace.Enqueue && e.Queue == "pfifo_fast band 0" })
	if later := firstEvent(tr, enq0, func(e *trace.Event) bool { return e.Kind == trace.Enqueue && e.Queue == "pfifo_fast band 2" }); enq0 < 0 || later >= 0 {
		t.Errorf("band 0 enqueued at %d, a band 2 enqueue after it at %d", enq0, later)
	}
	rets := sendtoRets(tr, "A")
	if len(rets) != 302 || slices.ContainsFunc(rets, func(r string) bool { return strings.HasPrefix(r, "-") }) {
		t.Errorf("%d sendto calls, returns %v…", len(rets), rets[:min(len(rets), 5)])
	}
}

// TestTbfLesson: two datagrams leave on the burst, eight wait for tokens
// (overlimits, the watchdog hrtimer, NET_TX), ten are dropped past the
// limit, and every sendto still returns 1000.
func TestTbfLesson(t *testing.T) {
	tr := runLesson(t, "tbf")
	var out []int64
	drops, watchdogs := 0, 0
	var last *trace.Event
	enqAt := map[int]int64{}
	var delays []int64
	for i := range tr.Events {
		e := &tr.Events[i]
		if e.Host != "A" {
			continue
		}
		switch {
		case e.Kind == trace.Enqueue && e.Queue == "tbf (inner bfifo)":
			enqAt[e.Skb[0]] = e.T
		case e.Kind == trace.Ret && e.Fn == "tbf_dequeue":
			last = e
			if e.Ret == "skb" {
				out = append(out, e.T)
				delays = append(delays, e.T-enqAt[e.Skb[0]])
			}
		case e.Kind == trace.Drop:
			if e.Reason != "SKB_DROP_REASON_QDISC_DROP" || !slices.Contains(stackFns(tr, i), "bfifo_enqueue") {
				t.Fatalf("drop %s in %v", e.Reason, stackFns(tr, i))
			}
			drops++
		case e.Kind == trace.Call && e.Fn == "qdisc_watchdog":
			watchdogs++
			if !strings.HasPrefix(e.Ctx, "hardirq") {
				t.Errorf("qdisc_watchdog in %s", e.Ctx)
			}
		}
	}
	// BQL stops the queue after the first datagram until its completion,
	// so eight wait in the bfifo and eleven are dropped; the second leaves
	// on the wake-up, the rest one per watchdog.
	if len(out) != 9 || drops != 11 || watchdogs != 7 {
		t.Fatalf("%d sent, %d dropped, %d watchdog wake-ups; want 9, 11, 7", len(out), drops, watchdogs)
	}
	for i := 3; i < len(out); i++ {
		if gap := out[i] - out[i-1]; gap < 8_300_000 || gap > 8_400_000 {
			t.Errorf("datagram %d left %d ns after the previous, want ~8.336 ms", i, gap)
		}
	}
	if delays[len(delays)-1] < 50_000_000 {
		t.Errorf("the last datagram waited %d ns in tbf, want over 50 ms", delays[len(delays)-1])
	}
	if v := val(last, "overlimits"); v == "" || v == "0" {
		t.Errorf("overlimits %q in the last stats", v)
	}
	if val(last, "dropped") != "11" || val(last, "backlog_pkts") != "0" {
		t.Errorf("last stats %v", last.Vals)
	}
	for _, r := range sendtoRets(tr, "A") {
		if r != "1000" {
			t.Fatalf("sendto returned %s", r)
		}
	}
}

// TestFqCodelLesson: the sparse flow's datagrams wait in the qdisc only
// until the driver's queue next wakes (a few ms) while the bulk flow's wait long; CoDel starts dropping the
// bulk flow after 100 ms above target, with 6.12's reason, in drop_func;
// sendto returns 1000 for every bulk datagram.
func TestFqCodelLesson(t *testing.T) {
	tr := runLesson(t, "fq-codel")
	enqAt := map[int]int64{}
	flowOf := map[int]string{}
	wait := map[string]int64{} // the longest qdisc wait per flow
	var codel []int64
	for i := range tr.Events {
		e := &tr.Events[i]
		if e.Host != "A" {
			continue
		}
		switch {
		case e.Kind == trace.Enqueue && strings.HasPrefix(e.Queue, "fq_codel flow"):
			enqAt[e.Skb[0]], flowOf[e.Skb[0]] = e.T, e.Queue
		case e.Kind == trace.Dequeue && strings.HasPrefix(e.Queue, "fq_codel flow"):
			wait[e.Queue] = max(wait[e.Queue], e.T-enqAt[e.Skb[0]])
		case e.Kind == trace.Drop:
			if e.Reason != "SKB_DROP_REASON_NOT_SPECIFIED" || !slices.Contains(stackFns(tr, i), "drop_func") {
				t.Fatalf("drop %s in %v", e.Reason, stackFns(tr, i))
			}
			codel = append(codel, e.T)
		}
	}
	if len(wait) != 2 {
		t.Fatalf("flows %v", wait)
	}
	var bulk, sparse int64
	for _, w := range wait {
		if w > bulk {
			bulk, sparse = w, bulk
		} else {
			sparse = max(sparse, w)
		}
	}
	if sparse > 10_000_000 || bulk < 100_000_000 {
		t.Errorf("longest wait: sparse flow %d ns, bulk flow %d ns", sparse, bulk)
	}
	if len(codel) < 3 || codel[0] < 100_000_000 {
		t.Errorf("CoDel drops at %v", codel)
	}
	rets := sendtoRets(tr, "A")
	if len(rets) != 708 {
		t.Fatalf("%d sendto calls", len(rets))
	}
	for _, r := range rets[:700] {
		if r != "1000" {
			t.Fatalf("bulk sendto returned %s", r)
		}
	}
}

func val(e *trace.Event, name string) string {
	for _, f := range e.Vals {
		if f.Name == name {
			return f.Value
		}
	}
	return ""
}

// TestQdiscFormat: a qdisc is a kind or an object; bad values are
// reported at their line and column, and a kind-only qdisc round-trips
// as a string.
func TestQdiscFormat(t *testing.T) {
	doc := func(q string) string {
		return `{"version": 1, "hosts": [{"name": "A", "nics": [{"name": "eth0", "driver": "e1000e",
  "mac": "02:00:00:00:00:01", "addr": "192.0.2.1/24",
  "qdisc": ` + q + `}]}]}`
	}
	for _, good := range []string{`"pfifo_fast"`, `"fq_codel"`, `{"kind": "pfifo", "limit": 10}`,
		`{"kind": "bfifo"}`, `{"kind": "tbf", "rate": "1mbit", "burst": 1600, "latency_ms": 50}`,
		`{"kind": "tbf", "rate": "125kbps", "burst": 1600, "limit": 5000}`, `null`,
		`{"kind": "tbf", "rate": "1mbit", "burst": 3000, "latency_ms": 50, "peakrate": "10mbit", "mtu": 1514}`} {
		if _, err := Parse([]byte(doc(good))); err != nil {
			t.Errorf("%s: %v", good, err)
		}
	}
	for q, want := range map[string]string{
		`"sfq"`: `line 3, column 12: hosts[0].nics[0].qdisc: qdisc "sfq" is not modelled`,
		`{"kind": "tbf", "rate": "fast", "burst": 1600, "latency_ms": 5}`: `hosts[0].nics[0].qdisc.rate: rate "fast"`,
		`{"kind": "tbf", "rate": "1mbit", "burst": 1600}`:                 `tbf needs exactly one of limit (bytes) and latency_ms`,
		`{"kind": "tbf", "rate": "1mbit", "latency_ms": 5}`:               `qdisc.burst: tbf needs a burst`,
		`{"kind": "pfifo", "rate": "1mbit"}`:                              `qdisc.rate: rate applies to tbf only, not pfifo`,
		`{"kind": "pfifo", "limit": -1}`:                                  `qdisc.limit: -1 packets outside`,
		`{"kind": "pfifo", "colour": 1}`:                                  `line 3, column 12: hosts[0].nics[0].qdisc: unknown field "colour"`,
		`{"kind": "tbf", "rate": "1mbit", "burst": "big"}`:                `line 3, column 12: hosts[0].nics[0].qdisc:`,
		`7`: `line 3, column 12: hosts[0].nics[0].qdisc:`,
		`{"kind": "tbf", "rate": "1mbit", "burst": 3000, "latency_ms": 5, "peakrate": "10mbit"}`:             `qdisc.mtu: when peakrate is given, mtu must be too`,
		`{"kind": "tbf", "rate": "1mbit", "burst": 3000, "latency_ms": 5, "peakrate": "1mbit", "mtu": 1514}`: `qdisc.peakrate: peakrate 1mbit is not above rate 1mbit (EINVAL)`,
		`{"kind": "tbf", "rate": "1mbit", "burst": 3000, "latency_ms": 5, "mtu": 1514}`:                      `qdisc.mtu: mtu sizes the peakrate bucket`,
		`{"kind": "pfifo", "peakrate": "1mbit"}`:                                                             `qdisc.peakrate: peakrate applies to tbf only`,
	} {
		_, err := Parse([]byte(doc(q)))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want %q", q, err, want)
		}
	}
	f, err := Parse([]byte(doc(`{"kind": "fq_codel"}`)))
	if err != nil {
		t.Fatal(err)
	}
	if g := f.clone(); g.Hosts[0].NICs[0].Qdisc.Kind != "fq_codel" {
		t.Errorf("clone lost the qdisc: %+v", g.Hosts[0].NICs[0].Qdisc)
	}
}

// TestQdiscKnob: the knob replaces every Ethernet NIC's qdisc, which the
// trace's device list and functions show; tbf and unknown kinds are
// refused.
func TestQdiscKnob(t *testing.T) {
	tr, err := RunWith("udp-sendto", Knobs{Qdisc: "fq_codel"})
	if err != nil {
		t.Fatal(err)
	}
	if firstEvent(tr, 0, func(e *trace.Event) bool { return e.Kind == trace.Call && e.Fn == "fq_codel_enqueue" }) < 0 {
		t.Error("no fq_codel_enqueue with the fq_codel knob")
	}
	for _, bad := range []string{"tbf", "sfq"} {
		if _, err := RunWith("udp-sendto", Knobs{Qdisc: bad}); err == nil {
			t.Errorf("qdisc knob %q accepted", bad)
		}
	}
}
