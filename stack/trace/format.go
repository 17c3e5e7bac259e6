package trace

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"skbscope/stack/header"
)

// WriteJSON writes one event per line, as JSON.
func (t *Trace) WriteJSON(w io.Writer) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	for i := range t.Events {
		if err := enc.Encode(&t.Events[i]); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// WriteFtrace writes the trace as the kernel's function_graph tracer
// prints it: "CPU) DURATION | fn() {", leaf calls on one line, a banner
// when the task or context on a CPU changes, and the other events as
// comments. Hosts are told apart by the CPU column ("A:0").
func (t *Trace) WriteFtrace(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "# tracer: function_graph")
	fmt.Fprintln(bw, "#")
	fmt.Fprintln(bw, "#   CPU  DURATION                  FUNCTION CALLS")
	fmt.Fprintln(bw, "#   |     |   |                     |   |   |   |")
	last := map[string]string{}
	ev := t.Events
	for i := 0; i < len(ev); i++ {
		e := &ev[i]
		cpu := fmt.Sprintf("%s:%d", e.Host, e.CPU)
		if e.CPU < 0 {
			cpu = e.Host + ":hw"
		}
		if prev, ok := last[cpu]; ok && prev != e.Ctx || !ok && e.Ctx != "hw" {
			from := prev
			if from == "" {
				from = "<idle>-0"
			}
			fmt.Fprintf(bw, " ------------------------------------------\n %s)  %s  =>  %s\n ------------------------------------------\n\n", cpu, from, e.Ctx)
		}
		last[cpu] = e.Ctx
		indent := strings.Repeat("  ", e.Depth)
		switch e.Kind {
		case Call:
			// A call whose return is the next event is a leaf.
			if i+1 < len(ev) && ev[i+1].Kind == Ret && ev[i+1].Up == e.Seq {
				fmt.Fprintf(bw, " %s) %s |  %s%s();\n", cpu, duration(ev[i+1].T-e.T), indent, e.Fn)
				i++
				continue
			}
			fmt.Fprintf(bw, " %s) %s |  %s%s() {\n", cpu, duration(-1), indent, e.Fn)
		case Ret:
			d := int64(-1)
			if e.Up >= 0 {
				d = e.T - ev[e.Up].T
			}
			ret := ""
			if e.Ret != "" {
				ret = " = " + e.Ret
			}
			fmt.Fprintf(bw, " %s) %s |  %s} /* %s%s */\n", cpu, duration(d), strings.Repeat("  ", max(e.Depth-1, 0)), e.Fn, ret)
		default:
			fmt.Fprintf(bw, " %s) %s |  %s/* %s */\n", cpu, duration(-1), indent, summary(e))
		}
	}
	return bw.Flush()
}

// duration formats a time like function_graph, with its overhead marks:
// '+' over 10 us, '!' over 100 us, '#' over 1 ms, '*' over 10 ms,
// '@' over 100 ms, '$' over 1 s. Negative means "no duration here".
func duration(ns int64) string {
	if ns < 0 {
		return "             "
	}
	mark := " "
	switch {
	case ns > 1_000_000_000:
		mark = "$"
	case ns > 100_000_000:
		mark = "@"
	case ns > 10_000_000:
		mark = "*"
	case ns > 1_000_000:
		mark = "#"
	case ns > 100_000:
		mark = "!"
	case ns > 10_000:
		mark = "+"
	}
	return fmt.Sprintf("%s %8.3f us", mark, float64(ns)/1000)
}

// summary is a one-line description of a non-call event.
func summary(e *Event) string {
	var b strings.Builder
	b.WriteString(string(e.Kind))
	if e.Queue != "" {
		fmt.Fprintf(&b, " %s (len %d)", e.Queue, e.QLen)
	}
	for _, id := range e.Skb {
		fmt.Fprintf(&b, " skb=%d", id)
	}
	if e.Reason != "" {
		b.WriteString(" reason=" + e.Reason)
	}
	if e.Wire != "" {
		fmt.Fprintf(&b, " %s %d bytes", e.Wire, len(e.Frame))
	}
	if e.Note != "" {
		b.WriteString(": " + e.Note)
	}
	return b.String()
}

// WritePwru writes one line per skb per function entered, like
// cilium/pwru: a kernel-looking skb address, CPU, process, interface,
// protocol, length, the flow tuple and the function.
func (t *Trace) WritePwru(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "%-18s %-6s %-20s %-6s %-6s %-5s %-5s %-40s %s\n", "SKB", "CPU", "PROCESS", "IFACE", "PROTO", "MTU", "LEN", "TUPLE", "FUNC")
	for i := range t.Events {
		e := &t.Events[i]
		if e.Kind != Call || len(e.Skb) == 0 {
			continue
		}
		for k, id := range e.Skb {
			s := &t.Snaps[e.Snap[k]]
			fmt.Fprintf(bw, "0x%016x %-6s %-20s %-6s %#04x %-5d %-5d %-40s %s\n",
				SkbAddr(id), fmt.Sprintf("%s:%d", e.Host, e.CPU), pwruProc(e.Ctx), dash(s.Dev),
				s.Protocol, t.mtu(e.Host, s.Dev), s.Len, Tuple(s), e.Fn)
		}
	}
	return bw.Flush()
}

// SkbAddr is a stable, kernel-looking address for skb id, so that the
// formats can be read like real pwru or crash output.
func SkbAddr(id int) uint64 { return 0xffff888000000000 + uint64(id)*0x100 }

func (t *Trace) mtu(host, dev string) int {
	for _, h := range t.Hosts {
		if h.Name == host {
			for _, d := range h.Devices {
				if d.Name == dev {
					return d.MTU
				}
			}
		}
	}
	return 0
}

func pwruProc(ctx string) string {
	if rest, ok := strings.CutPrefix(ctx, "task:"); ok {
		name, pid, _ := strings.Cut(strings.TrimSuffix(rest, "]"), "[")
		return "[" + name + ":" + pid + "]"
	}
	return "[<" + ctx + ">]"
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// Tuple is "saddr:sport->daddr:dport(proto)" from the skb's headers, or
// what can be said without them.
func Tuple(s *SkbSnap) string {
	var ip, l4 *Region
	for i := range s.Hdrs {
		switch s.Hdrs[i].Layer {
		case "ip":
			ip = &s.Hdrs[i]
		case "udp":
			l4 = &s.Hdrs[i]
		}
	}
	if ip == nil {
		return "-"
	}
	h := header.IPv4(s.Buf[ip.Off:])
	if l4 == nil || s.Transport < 0 {
		return fmt.Sprintf("%s->%s(%d)", h.Src(), h.Dst(), h.Protocol())
	}
	u := header.UDP(s.Buf[l4.Off:])
	return fmt.Sprintf("%s:%d->%s:%d(udp)", h.Src(), u.SrcPort(), h.Dst(), u.DstPort())
}
