package trace

import (
	"slices"
	"strings"
	"testing"
)

// softirqOops is a hand-made trace: an oops in NET_TX, below an inline
// function, on an idle CPU.
func softirqOops() *Trace {
	t := &Trace{}
	add := func(kind Kind, fn, file string) {
		n := len(t.Events)
		up, depth := -1, 0
		for i := n - 1; i >= 0; i-- {
			if t.Events[i].Kind == Call {
				up, depth = i, t.Events[i].Depth+1
				break
			}
		}
		t.Events = append(t.Events, Event{Seq: n, Host: "A", CPU: 1, Ctx: "softirq:NET_TX", Kind: kind, Fn: fn, File: file, Up: up, Depth: depth})
	}
	add(Call, "net_tx_action", "net/core/dev.c")
	add(Call, "qdisc_run", "include/net/pkt_sched.h")
	add(Call, "dev_hard_start_xmit", "net/core/dev.c")
	add(Oops, "dev_hard_start_xmit", "net/core/dev.c")
	t.Events[3].Vals = []Field{{Name: "bug_file", Value: "net/core/dev.c"}, {Name: "bug_line", Value: "3715"}}
	return t
}

// TestOopsInInterrupt: an oops outside a task runs on the idle task,
// shows an <IRQ> stack without the system-call entry frames, leaves out
// inline functions, and panics "in interrupt".
func TestOopsInInterrupt(t *testing.T) {
	tr := softirqOops()
	rip, frames := tr.OopsStack(3)
	var fns []string
	for _, f := range frames {
		fns = append(fns, f.Fn)
	}
	if rip.Fn != "dev_hard_start_xmit" || !slices.Equal(fns, []string{"net_tx_action"}) {
		t.Errorf("rip %s, frames %v", rip.Fn, fns)
	}
	var b strings.Builder
	tr.WriteOops(&b, 3)
	out := b.String()
	for _, want := range []string{
		"kernel BUG at net/core/dev.c:3715!\n",
		"CPU: 1 UID: 0 PID: 0 Comm: swapper/1 ",
		"\n <IRQ>\n", "\n </IRQ>\n",
		"\nKernel panic - not syncing: Fatal exception in interrupt\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	if strings.Contains(out, "<TASK>") || strings.Contains(out, "do_syscall_64") || strings.Contains(out, "qdisc_run") {
		t.Errorf("task frames or an inline function in\n%s", out)
	}
	// Stable: the same numbers every time.
	var again strings.Builder
	tr.WriteOops(&again, 3)
	if again.String() != out {
		t.Error("two renderings differ")
	}
}
