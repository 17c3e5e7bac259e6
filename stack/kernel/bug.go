package kernel

import (
	"strconv"
	"strings"

	"skbscope/stack/skb"
	"skbscope/stack/trace"
)

// BugOn is a fault injected into a host: entering the function Fn
// executes BUG(), as a vendor patch's assertion did in seed 000. Linux
// 6.12 has no such BUG(); the lesson says it is injected.
type BugOn struct {
	Fn      string
	Note    string   // why, in the lesson's words
	Modules []string // the host's loaded modules, for "Modules linked in:"
}

// BugSites are the functions a BUG() may be injected into, with where
// each begins in the 6.12 tree: the oops names that line.
var BugSites = map[string]struct {
	File string
	Line int
}{
	"__dev_queue_xmit":    {"net/core/dev.c", 4494},
	"dev_hard_start_xmit": {"net/core/dev.c", 3715},
	"ip_finish_output2":   {"net/ipv4/ip_output.c", 199},
	"ip_output":           {"net/ipv4/ip_output.c", 427},
	"ip_send_skb":         {"net/ipv4/ip_output.c", 1509},
	"udp_send_skb":        {"net/ipv4/udp.c", 971},
	"udp_sendmsg":         {"net/ipv4/udp.c", 1124},
}

// oopsUnwind is the panic value that carries a BUG() out of the model's
// Go call chain to the CPU loop, which stops the host. Nothing else
// panics with it, and the CPU loop re-panics anything else.
type oopsUnwind struct{ k *Kernel }

// Dead reports whether this host has oopsed and panicked: it runs
// nothing more.
func (k *Kernel) Dead() bool { return k.dead }

// bug is BUG() in f: die() prints the oops, and with the panic that
// follows (the lesson's kernel.panic_on_oops=1, or any oops in an
// interrupt) the whole host stops. The open calls stay open in the trace.
func (k *Kernel) bug(f *Fn, skbs []*skb.SKB) {
	site := BugSites[f.Name]
	e := k.Event(trace.Oops, f, skbs...)
	e.File = site.File
	e.Vals = []trace.Field{
		{Name: "bug_file", Value: site.File},
		{Name: "bug_line", Value: strconv.Itoa(site.Line)},
		{Name: "modules", Value: strings.Join(k.Bug.Modules, " ")},
	}
	msg := "Fatal exception"
	if k.CPU().ctx.Kind != CtxTask {
		msg = "Fatal exception in interrupt"
	}
	e.Note = "kernel BUG at " + site.File + ":" + strconv.Itoa(site.Line) + "! " + k.Bug.Note + " Kernel panic - not syncing: " + msg
	var b strings.Builder
	t := k.Sim.Trace()
	t.WriteOops(&b, e.Seq)
	e.Vals = append(e.Vals, trace.Field{Name: "console", Value: b.String()})
	k.dead = true
	panic(oopsUnwind{k})
}
