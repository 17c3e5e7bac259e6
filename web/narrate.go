package web

import (
	"fmt"
	"strconv"
	"strings"

	"skbscope/stack/trace"
)

// describeIn says what event e does, in language l, from its kind and
// fields: the sentence of the narration, the "now" line and the call
// stack's return. Kernel names (functions, queues, return values, drop
// reasons) stay as the kernel spells them.
func describeIn(l lang, e *trace.Event) string {
	ids := skbList(e.Skb)
	switch e.Kind {
	case trace.Call:
		return fmt.Sprintf(l.t("calls %s()"), e.Fn)
	case trace.Ret:
		if e.Ret == "" {
			return fmt.Sprintf(l.t("%s() returns"), e.Fn)
		}
		return fmt.Sprintf(l.t("%s() returns %s"), e.Fn, e.Ret)
	case trace.Enqueue:
		return fmt.Sprintf(l.t("%s joins %s (qlen %d)"), ids, e.Queue, e.QLen)
	case trace.Dequeue:
		return fmt.Sprintf(l.t("%s leaves %s (qlen %d)"), ids, e.Queue, e.QLen)
	case trace.Drop:
		return strings.TrimSpace(fmt.Sprintf(l.t("%s dropped %s"), ids, e.Reason))
	case trace.Free:
		return fmt.Sprintf(l.t("%s freed"), ids)
	case trace.Alloc:
		return fmt.Sprintf(l.t("%s allocated"), ids)
	case trace.Clone:
		return fmt.Sprintf(l.t("%s cloned"), ids)
	case trace.Wire:
		w := e.Wire
		if w == "" {
			w = l.t("the wire")
		}
		return fmt.Sprintf(l.t("%d-byte frame on %s"), len(e.Frame), w)
	case trace.Oops:
		return l.t("BUG(): the kernel oopses, then panics; this host runs nothing more")
	case trace.State, trace.Timer, trace.IRQ:
		return l.t(kindWords[e.Kind])
	}
	return string(e.Kind)
}

// kindWords name the events that have no sentence of their own.
var kindWords = map[trace.Kind]string{trace.State: "state change", trace.Timer: "timer fires", trace.IRQ: "interrupt raised"}

// title is the skb panel's heading: the frame on the wire, or the skb
// and whether the snapshot is older than the cursor or the skb is gone.
func (v skbView) title(l lang) string {
	if v.Wire != nil {
		return describeIn(l, v.Wire)
	}
	t := "skb " + strconv.Itoa(v.ID)
	switch {
	case v.Gone:
		t += " " + l.t("(gone)")
	case v.AsOf >= 0:
		t += " " + fmt.Sprintf(l.t("(as of event %d)"), v.AsOf)
	}
	return t
}
