package web

import (
	"strings"
	"testing"

	"skbscope/scenario"
	"skbscope/stack/trace"
)

// TestNarrationLanguages: every event's sentence exists in the three
// languages, keeps the kernel's names, and the Chinese ones are not the
// English one.
func TestNarrationLanguages(t *testing.T) {
	tr, err := scenario.Run("netfilter-drop")
	if err != nil {
		t.Fatal(err)
	}
	m := NewModel(tr)
	kinds := map[trace.Kind]bool{}
	for i := range tr.Events {
		e := &tr.Events[i]
		en, hans, hant := describeIn(langEN, e), describeIn(langHans, e), describeIn(langHant, e)
		for _, name := range []string{e.Fn, e.Queue, e.Ret, e.Reason} {
			if strings.Contains(en, name) && (!strings.Contains(hans, name) || !strings.Contains(hant, name)) {
				t.Fatalf("event %d: %q / %q lose the kernel's %q", i, hans, hant, name)
			}
		}
		if en == hans || en == hant || hans == hant && strings.ContainsAny(hans, "线离释") {
			t.Errorf("event %d (%s): not translated: %q %q %q", i, e.Kind, en, hans, hant)
		}
		if n := narrate(langHant, m, i); !strings.Contains(n, hant) || !strings.HasPrefix(n, "事件") {
			t.Errorf("event %d narrated %q", i, n)
		}
		kinds[e.Kind] = true
	}
	for _, k := range []trace.Kind{trace.Call, trace.Ret, trace.Enqueue, trace.Dequeue, trace.Drop, trace.Free, trace.Wire, trace.State} {
		if !kinds[k] {
			t.Errorf("the lesson has no %s event to try", k)
		}
	}
	if got := describeIn(langEN, &trace.Event{Kind: trace.Ret, Fn: "__sys_sendto", Ret: "-EPERM"}); got != "__sys_sendto() returns -EPERM" {
		t.Errorf("English: %q", got)
	}
}

// TestSkbTitleLanguages: the skb panel's heading follows the language.
func TestSkbTitleLanguages(t *testing.T) {
	for _, c := range []struct {
		v        skbView
		en, hans string
	}{
		{skbView{ID: 3, AsOf: -1}, "skb 3", "skb 3"},
		{skbView{ID: 3, AsOf: 7}, "skb 3 (as of event 7)", "skb 3 （事件 7 时的样子）"},
		{skbView{ID: 3, AsOf: -1, Gone: true}, "skb 3 (gone)", "skb 3 （已不存在）"},
		{skbView{Frame: true, Wire: &trace.Event{Kind: trace.Wire, Wire: "lan0", Frame: make([]byte, 60)}}, "60-byte frame on lan0", "60 字节的帧经过 lan0"},
	} {
		if en, hans := c.v.title(langEN), c.v.title(langHans); en != c.en || hans != c.hans {
			t.Errorf("%+v: %q, %q; want %q, %q", c.v, en, hans, c.en, c.hans)
		}
	}
}
