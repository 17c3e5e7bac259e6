package main

import (
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"skbscope/scenario"
	"skbscope/stack/trace"
	"skbscope/web"
)

// layerNames are the layers-only map's layers (web's layerOrder).
var layerNames = []string{"socket", "tcp/udp", "ip", "netfilter", "neigh", "dev/qdisc", "driver", "nic"}

// TestBrowserFeatures drives, in headless Chromium, the what-if knobs for
// device state, the TCP state diagram, the map's zoom and the language of
// the event sentences, each checked against the trace.
func TestBrowserFeatures(t *testing.T) {
	ctx, problems, _, _, open := sitePage(t)
	// rerun sets the knob form's fields (JavaScript statements), presses
	// Re-run, and waits for the trace the knobs k give, checking that the
	// URL holds them; it returns that trace and the URL.
	rerun := func(t *testing.T, lesson, set string, k scenario.Knobs, inURL string) (*trace.Trace, string) {
		t.Helper()
		want, err := scenario.RunWith(lesson, k)
		if err != nil {
			t.Fatal(err)
		}
		eval(t, ctx, `(() => { const $ = s => document.querySelector(s); `+set+`; document.getElementById("knobs-run").click(); return true })()`, new(bool))
		if e := text(t, ctx, "#knob-err"); e != "" {
			t.Fatalf("the knobs were refused: %s", e)
		}
		waitFor(t, ctx, "the re-run lesson", `location.search.includes(`+strconv.Quote(inURL)+`) && !!document.getElementById("cursor") && +document.getElementById("cursor").dataset.last === `+strconv.Itoa(len(want.Events)-1))
		var u string
		if err := chromedp.Run(ctx, chromedp.Location(&u)); err != nil {
			t.Fatal(err)
		}
		return want, u
	}
	// at reopens URL u at event c: the knobs round-trip through the URL.
	at := func(t *testing.T, u string, c int) view {
		t.Helper()
		u = strings.Replace(u, "c=0", "c="+strconv.Itoa(c), 1)
		if err := load(ctx, u); err != nil {
			t.Fatal(err)
		}
		v, err := readNow(ctx)
		if err != nil || v.Cursor != c {
			t.Fatalf("%s shows %+v, %v", u, v, err)
		}
		return v
	}

	t.Run("netfilter knobs", func(t *testing.T) {
		open(t, "lesson=udp-sendto")
		drop := scenario.HostRule{Host: "A", NFRule: scenario.NFRule{Chain: "output", Proto: "udp", Verdict: "drop"}}
		tr, u := rerun(t, "udp-sendto", `$("#knob-nf-host").value = "A"; $("#knob-nf-chain").value = "output"; $("#knob-nf-proto").value = "udp"; $("#knob-nf-verdict").value = "drop"`,
			scenario.Knobs{NFAdd: []scenario.HostRule{drop}}, "nf=A+output+udp+drop")
		ret := firstEvent(tr, func(e *trace.Event) bool { return e.Kind == trace.Ret && e.Fn == "__sys_sendto" })
		if ret < 0 || tr.Events[ret].Ret != "-EPERM" {
			t.Fatalf("the knob's trace: sendto at %d", ret)
		}
		if v := at(t, u, ret); v.Fn != "__sys_sendto" || !strings.Contains(v.What, "-EPERM") {
			t.Errorf("sendto's return with a DROP rule at LOCAL_OUT shows %+v", v)
		}
		var ticked bool
		eval(t, ctx, `!!document.querySelector('input.knob-nf-added[data-rule="A output udp drop"]').checked`, &ticked)
		if !ticked {
			t.Error("the added rule is not listed, ticked, after the re-run")
		}
		shoot(t, ctx, "knob-netfilter")
		// Unticking the lesson's own rule deletes it: "one" is sent.
		open(t, "lesson=netfilter-drop")
		own := scenario.HostRule{Host: "A", NFRule: scenario.NFRule{Chain: "output", Proto: "udp", Dport: 9000, Verdict: "drop"}}
		tr, u = rerun(t, "netfilter-drop", `$('input.knob-nf-lesson[data-rule="A output udp dport 9000 drop"]').checked = false`,
			scenario.Knobs{NFDel: []scenario.HostRule{own}}, "nfdel=A+output+udp+dport+9000+drop")
		ret = firstEvent(tr, func(e *trace.Event) bool { return e.Kind == trace.Ret && e.Fn == "__sys_sendto" })
		if v := at(t, u, ret); !strings.HasSuffix(v.What, "returns 3") {
			t.Errorf("without the output rule, sendto's return shows %+v", v)
		}
	})

	t.Run("offload knobs", func(t *testing.T) {
		open(t, "lesson=offloads")
		off := false
		tr, u := rerun(t, "offloads", `$('select.knob-eth[data-nic="A.eth0"][data-feat="tso"]').value = "off"`,
			scenario.Knobs{Offloads: []scenario.NICOffloads{{NIC: "A.eth0", Offloads: scenario.Offloads{TSO: &off}}}}, "ethtool=A.eth0+tso+off")
		seg := firstEvent(tr, func(e *trace.Event) bool { return e.Host == "A" && e.Kind == trace.Call && e.Fn == "__skb_gso_segment" })
		if seg < 0 {
			t.Fatal("tso off on A.eth0: no software segmentation on A")
		}
		if v := at(t, u, seg); v.Fn != "__skb_gso_segment" {
			t.Errorf("A's first software GSO shows %+v", v)
		}
		var sel string
		eval(t, ctx, `document.querySelector('select.knob-eth[data-nic="A.eth0"][data-feat="tso"]').value`, &sel)
		if sel != "off" {
			t.Errorf("the tso knob reads %q after the reload", sel)
		}
	})

	t.Run("link knobs", func(t *testing.T) {
		open(t, "lesson=udp-sendto")
		tr, u := rerun(t, "udp-sendto", `$("#knob-link-nic").value = "A.eth0"; $("#knob-link-state").value = "down"; $("#knob-link-at").value = "0"`,
			scenario.Knobs{Links: []scenario.LinkAt{{NIC: "A.eth0", State: "down"}}}, "link=A.eth0+down+0")
		drop := firstEvent(tr, func(e *trace.Event) bool { return e.Kind == trace.Drop && e.Host == "A" })
		if drop < 0 {
			t.Fatal("eth0 down: nothing dropped on A")
		}
		at(t, u, drop)
		if got := text(t, ctx, "#cur-drop"); !strings.Contains(got, tr.Events[drop].Reason) {
			t.Errorf("the drop in noop_qdisc shows %q, want %q", got, tr.Events[drop].Reason)
		}
	})

	t.Run("TCP state diagram", func(t *testing.T) {
		hs, err := scenario.Run("tcp-handshake")
		if err != nil {
			t.Fatal(err)
		}
		// stateAt is the trace's word on a socket's state after event c.
		stateAt := func(host, sk string, c int) string {
			st := ""
			for _, e := range hs.Events[:c+1] {
				var s, v string
				for _, f := range e.Vals {
					if f.Name == "sk" {
						s = f.Value
					} else if f.Name == "state" {
						v = f.Value
					}
				}
				if e.Host == host && s == sk && v != "" {
					st = strings.TrimPrefix(v, "TCP_")
				}
			}
			return st
		}
		var changes []int // A's sk1 state events
		for _, e := range hs.Events {
			for _, f := range e.Vals {
				if e.Host == "A" && e.Kind == trace.State && f.Name == "sk" && f.Value == "sk1" {
					changes = append(changes, e.Seq)
				}
			}
		}
		if len(changes) < 3 {
			t.Fatalf("A's sk1 changes state %d times", len(changes))
		}
		lit := func() (state, from, to string) {
			var r struct{ State, From, To string }
			eval(t, ctx, `(() => { const n = document.querySelector("#tcp-state .ts-node.lit"), e = document.querySelector("#tcp-state .ts-edge.now");
				return {State: n ? n.dataset.state : "", From: e ? e.dataset.from : "", To: e ? e.dataset.to : ""} })()`, &r)
			return r.State, r.From, r.To
		}
		// Following the cursor: at each of A's changes, the diagram shows
		// that socket, lit in its new state, the transition drawn as now.
		for _, c := range changes {
			open(t, "lesson=tcp-handshake&c="+strconv.Itoa(c))
			waitFor(t, ctx, "the diagram", `!!document.querySelector("#tcp-state svg")`)
			st, from, to := lit()
			if want := stateAt("A", "sk1", c); st != want || to != want || from == "" || from == to {
				t.Errorf("at event %d: lit %q, edge %s → %s; the trace says %s", c, st, from, to, want)
			}
		}
		shoot(t, ctx, "tcp-state")
		// A socket picked in the menu stays picked while stepping.
		open(t, "lesson=tcp-handshake&c="+strconv.Itoa(changes[0]))
		eval(t, ctx, `(() => { const s = document.getElementById("tcp-sock"); s.value = "B sk1"; s.dispatchEvent(new Event("change", {bubbles: true})); return true })()`, new(bool))
		for _, k := range []string{kb.ArrowRight, kb.ArrowRight, kb.End} {
			v, err := press(ctx, k, -1)
			if err != nil {
				t.Fatal(err)
			}
			waitFor(t, ctx, "the picked socket", `document.getElementById("tcp-state-now").dataset.sock === "B sk1"`)
			if st, _, _ := lit(); st != stateAt("B", "sk1", v.Cursor) {
				t.Errorf("B sk1 at event %d: lit %q, the trace says %q", v.Cursor, st, stateAt("B", "sk1", v.Cursor))
			}
		}
	})

	t.Run("map zoom", func(t *testing.T) {
		tr, err := scenario.Run("udp-sendto")
		if err != nil {
			t.Fatal(err)
		}
		fnStations := len(web.NewModel(tr).Stations)
		open(t, "lesson=udp-sendto&c=40")
		stations := func(zoom string) (items []string, canvasH int) {
			waitFor(t, ctx, zoom+" map", `document.getElementById("map-stations").dataset.zoom === "`+zoom+`"`)
			eval(t, ctx, `[...document.querySelectorAll("#map-stations li")].map(li => li.textContent)`, &items)
			eval(t, ctx, `document.getElementById("map").height`, &canvasH)
			return items, canvasH
		}
		waitFor(t, ctx, "the map drawn", `document.getElementById("map").height > 150`) // 150: a canvas never drawn
		fns, fnH := stations("functions")
		if len(fns) != fnStations {
			t.Errorf("every function: %d stations listed, the model has %d", len(fns), fnStations)
		}
		if _, err := press(ctx, "z", -1); err != nil {
			t.Fatal(err)
		}
		layers, _ := stations("layers")
		want := map[string]bool{}
		for _, h := range []string{"A", "B"} {
			for _, l := range []string{"socket: syscall · socket", "tcp/udp: tcp · udp · icmp", "ip: ip · route", "dev/qdisc: dev · qdisc · napi", "driver: driver · irq", "nic: nic (hw)"} {
				want[h+" "+l] = true
			}
		}
		got := map[string]bool{}
		for _, s := range layers {
			got[s] = true
			if !strings.HasPrefix(s, "wire: ") && !strings.HasPrefix(s, "A ") && !strings.HasPrefix(s, "B ") {
				t.Errorf("layers only: station %q", s)
			}
		}
		for w := range want {
			if !got[w] {
				t.Errorf("layers only: no station %q in %v", w, layers)
			}
		}
		if len(layers) != len(got) || len(layers) > 2*len(layerNames)+2 {
			t.Errorf("layers only: %d stations %v", len(layers), layers)
		}
		// The canvas was drawn again, shorter: one row per layer.
		waitFor(t, ctx, "the redrawn map", `document.getElementById("map").height < `+strconv.Itoa(fnH))
		var u string
		if err := chromedp.Run(ctx, chromedp.Location(&u)); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(u, "zoom=layers") || !strings.Contains(u, "c=40") {
			t.Errorf("URL %s lacks the zoom or the cursor", u)
		}
		if err := load(ctx, u); err != nil {
			t.Fatal(err)
		}
		if again, _ := stations("layers"); len(again) != len(layers) {
			t.Errorf("reopened %s: %d stations, want %d", u, len(again), len(layers))
		}
		waitFor(t, ctx, "the layers map drawn", `(h => h > 150 && h < `+strconv.Itoa(fnH)+`)(document.getElementById("map").height)`)
		shoot(t, ctx, "zoom-layers")
		// The button (zh-Hans here, as the language menu would set it)
		// goes back to every function.
		if err := load(ctx, u+"&lang=zh-Hans"); err != nil {
			t.Fatal(err)
		}
		if b := text(t, ctx, "#zoom"); !strings.Contains(b, "每个函数") {
			t.Errorf("zoom button in simplified Chinese: %q", b)
		}
		eval(t, ctx, `(() => { document.getElementById("zoom").click(); return true })()`, new(bool))
		if back, _ := stations("functions"); len(back) != fnStations {
			t.Errorf("back to every function: %d stations, want %d", len(back), fnStations)
		}
	})

	t.Run("log filter back to all", func(t *testing.T) {
		open(t, "lesson=udp-sendto&c=40&lang=zh-Hans")
		eval(t, ctx, `(() => { const s = document.getElementById("filter-host"); s.value = "B"; s.dispatchEvent(new Event("change", {bubbles: true})); return true })()`, new(bool))
		waitFor(t, ctx, "the filtered log", `[...document.querySelectorAll("#log tbody tr td:nth-child(3)")].every(td => td.textContent === "B")`)
		// "全部" (all) lets every host through again, whatever the language.
		eval(t, ctx, `(() => { const s = document.getElementById("filter-host"); s.selectedIndex = 0; s.dispatchEvent(new Event("change", {bubbles: true})); return true })()`, new(bool))
		waitFor(t, ctx, "the whole log", `[...document.querySelectorAll("#log tbody tr td:nth-child(3)")].some(td => td.textContent === "A")`)
	})

	t.Run("narration in three languages", func(t *testing.T) {
		tr, err := scenario.Run("udp-sendto")
		if err != nil {
			t.Fatal(err)
		}
		call := firstEvent(tr, func(e *trace.Event) bool { return e.Kind == trace.Call && e.Fn == "ip_local_out" })
		open(t, "lesson=udp-sendto&c="+strconv.Itoa(call))
		en := text(t, ctx, "#narration")
		if !strings.Contains(en, "calls ip_local_out()") {
			t.Fatalf("English narration %q", en)
		}
		for _, l := range []struct{ lang, want string }{{"zh-Hans", "调用 ip_local_out()"}, {"zh-Hant", "呼叫 ip_local_out()"}, {"en", "calls ip_local_out()"}} {
			eval(t, ctx, `(() => { const s = document.getElementById("lang"); s.value = "`+l.lang+`"; s.dispatchEvent(new Event("change", {bubbles: true})); return true })()`, new(bool))
			waitFor(t, ctx, l.lang+" narration", `document.getElementById("narration").textContent.includes(`+strconv.Quote(l.want)+`) && document.getElementById("cur-what").textContent === `+strconv.Quote(l.want))
		}
		// The next event's sentence is in the chosen language too.
		eval(t, ctx, `(() => { const s = document.getElementById("lang"); s.value = "zh-Hant"; s.dispatchEvent(new Event("change", {bubbles: true})); return true })()`, new(bool))
		waitFor(t, ctx, "zh-Hant", `document.getElementById("narration").textContent.startsWith("事件")`)
		v, err := press(ctx, kb.ArrowRight, call+1)
		if err != nil {
			t.Fatal(err)
		}
		if n := text(t, ctx, "#narration"); !strings.HasPrefix(n, "事件 "+strconv.Itoa(v.Cursor)) || strings.Contains(n, "calls") || strings.Contains(n, "returns") {
			t.Errorf("zh-Hant narration of event %d: %q", v.Cursor, n)
		}
		// What the function decided, too.
		hook := firstEvent(tr, func(e *trace.Event) bool { return strings.HasPrefix(e.Note, "NF_INET_LOCAL_OUT: no rules") })
		// The translations come with the language's file, which the page
		// fetches after its first frame: until then the note is English.
		open(t, "lesson=udp-sendto&lang=zh-Hans&c="+strconv.Itoa(hook))
		waitFor(t, ctx, "the note in zh-Hans", `document.getElementById("fn-note-text").textContent === "NF_INET_LOCAL_OUT：没有注册规则，接受"`)
		// A note of the long tail, in zh-Hant, and not marked as English.
		csum := firstEvent(tr, func(e *trace.Event) bool { return strings.Contains(e.Note, "udp4_hwcsum: pseudo-header sum") })
		open(t, "lesson=udp-sendto&lang=zh-Hant&c="+strconv.Itoa(csum))
		waitFor(t, ctx, "the long-tail note in zh-Hant", `document.getElementById("fn-note-text").textContent.includes("udp4_hwcsum：偽標頭校驗和 0x")`)
		var lang string
		eval(t, ctx, `document.getElementById("fn-note-text").lang`, &lang)
		if lang != "" {
			t.Errorf("the zh-Hant note at event %d is marked lang=%q", csum, lang)
		}
	})

	for _, p := range problems() {
		t.Errorf("browser reported: %s", p)
	}
}
