package trace

import (
	"fmt"
	"hash/fnv"
	"io"
	"strings"
)

// The oops is printed from the trace alone: the call stack at the oops
// event, its context and the BUG site recorded in its Vals. The model has
// no machine code, so every number that a real oops reads from the CPU
// (offsets, sizes, addresses, registers, code bytes) is invented here,
// derived from function names by a hash so that it is the same in every
// run. The names and their order are the simulation's; the numbers are
// not real and the lesson says so.

// Release is the kernel version string an oops prints.
const Release = "6.12.0-skbscope"

// OopsInfo is what an oops header needs besides the stack.
type OopsInfo struct {
	File    string   // BUG site: source file
	Line    int      // and line
	Modules []string // "Modules linked in:"
}

// oopsInfo reads the BUG site and modules that the kernel stored in an
// oops event's Vals.
func oopsInfo(e *Event) OopsInfo {
	var in OopsInfo
	for _, v := range e.Vals {
		switch v.Name {
		case "bug_file":
			in.File = v.Value
		case "bug_line":
			fmt.Sscan(v.Value, &in.Line)
		case "modules":
			in.Modules = strings.Fields(v.Value)
		}
	}
	return in
}

// syscallEntry maps the model's outermost system-call function to what
// x86-64 shows beneath it: the __x64_sys_ wrapper and the call number.
var syscallEntry = map[string]struct {
	wrapper string
	nr      int
}{
	"__sys_sendto":   {"__x64_sys_sendto", 44},
	"__sys_recvfrom": {"__x64_sys_recvfrom", 45},
	"__sys_socket":   {"__x64_sys_socket", 41},
	"__sys_bind":     {"__x64_sys_bind", 49},
	"__sys_connect":  {"__x64_sys_connect", 42},
	"__sys_sendmsg":  {"__x64_sys_sendmsg", 46},
	"__sys_accept4":  {"__x64_sys_accept4", 288},
	"__sys_listen":   {"__x64_sys_listen", 50},
}

// OopsFrame is one line of a Call Trace.
type OopsFrame struct {
	Fn       string
	Off      uint64
	Size     uint64
	Reliable bool // false: printed with '?'
	Model    bool // a frame of the simulated stack (not added for the architecture)
}

// inline reports whether the model's function is a static inline in a
// header: it has no frame of its own, so no backtrace shows it.
func inline(e *Event) bool { return strings.HasPrefix(e.File, "include/") }

func hash(parts ...string) uint64 {
	h := fnv.New64a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return h.Sum64()
}

// FnSize is an invented, stable size for a function's machine code.
func FnSize(fn string) uint64 { return 0x60 + hash(fn)%0x7a0&^0xf }

// callOff is an invented, stable offset inside caller of its call to
// callee (the return address), always inside the function.
func callOff(caller, callee string) uint64 {
	return 0x10 + hash(caller, callee)%(FnSize(caller)-0x18)
}

// OopsStack is the Call Trace of the oops at event i, innermost first:
// the model's open frames except the faulting one (it is the RIP line)
// and the inline ones, then, below a system call, the entry frames
// x86-64 adds. The exception path's own frames (die, do_trap, ...) are
// not included: see WriteOops.
func (t *Trace) OopsStack(i int) (rip OopsFrame, frames []OopsFrame) {
	st := t.Stack(i)
	if len(st) == 0 {
		return OopsFrame{Fn: "(unknown)"}, nil
	}
	// Real frames only: inline functions are folded into their callers.
	var fns []string
	for _, s := range st {
		if e := &t.Events[s]; !inline(e) {
			fns = append(fns, e.Fn)
		}
	}
	if len(fns) == 0 {
		return OopsFrame{Fn: "(unknown)"}, nil
	}
	rip = OopsFrame{Fn: fns[0], Off: callOff(fns[0], "BUG"), Size: FnSize(fns[0]), Reliable: true, Model: true}
	for k := 1; k < len(fns); k++ {
		frames = append(frames, OopsFrame{Fn: fns[k], Off: callOff(fns[k], fns[k-1]), Size: FnSize(fns[k]), Reliable: true, Model: true})
	}
	if se, ok := syscallEntry[fns[len(fns)-1]]; ok && strings.HasPrefix(t.Events[i].Ctx, "task:") {
		inner := fns[len(fns)-1]
		for _, f := range []string{se.wrapper, "do_syscall_64", "entry_SYSCALL_64_after_hwframe"} {
			frames = append(frames, OopsFrame{Fn: f, Off: callOff(f, inner), Size: FnSize(f), Reliable: true})
			inner = f
		}
	}
	return rip, frames
}

// taskOf splits a "task:NAME[PID]" context; other contexts ran on the
// idle task of the CPU (softirq or interrupt on an idle CPU).
func taskOf(ctx string, cpu int) (string, string) {
	if rest, ok := strings.CutPrefix(ctx, "task:"); ok {
		name, pid, _ := strings.Cut(strings.TrimSuffix(rest, "]"), "[")
		return name, pid
	}
	return fmt.Sprintf("swapper/%d", cpu), "0"
}

// bytesOf is n invented code bytes around a site.
func bytesOf(seed string, n int) []string {
	out := make([]string, n)
	h := hash(seed)
	for k := range out {
		h = h*6364136223846793005 + 1442695040888963407
		out[k] = fmt.Sprintf("%02x", byte(h>>56))
	}
	return out
}

func x86Regs(b *strings.Builder, t *Trace, e *Event, rip OopsFrame) {
	skbAddr := uint64(0)
	if len(e.Skb) > 0 {
		skbAddr = SkbAddr(e.Skb[0])
	}
	h := hash(e.Host, rip.Fn)
	sp := 0xffffc90000000000 + (h%0x100000)&^0xf
	fmt.Fprintf(b, "RIP: 0010:%s+%#x/%#x\n", rip.Fn, rip.Off, rip.Size)
	code := bytesOf(rip.Fn, 63)
	fmt.Fprintf(b, "Code: %s <0f> 0b %s\n", strings.Join(code[:42], " "), strings.Join(code[42:63], " "))
	fmt.Fprintf(b, "RSP: 0018:%016x EFLAGS: 00010246\n", sp)
	fmt.Fprintf(b, "RAX: %016x RBX: %016x RCX: %016x\n", 0, skbAddr, 0)
	fmt.Fprintf(b, "RDX: %016x RSI: %016x RDI: %016x\n", 0, 0, skbAddr)
	fmt.Fprintf(b, "RBP: %016x R08: %016x R09: %016x\n", sp+0x80, 0, 0)
	fmt.Fprintf(b, "R10: %016x R11: %016x R12: %016x\n", 0, 0, skbAddr)
	fmt.Fprintf(b, "R13: %016x R14: %016x R15: %016x\n", 0, 0x0e, 0xffff888004000000+(h>>20)%0x100000&^0xfff)
	fmt.Fprintf(b, "FS:  00007f%010x(0000) GS:ffff88803ec%02d000(0000) knlGS:0000000000000000\n", (h>>8)&0xffffff000, e.CPU)
	b.WriteString("CS:  0010 DS: 0000 ES: 0000 CR0: 0000000080050033\n")
	fmt.Fprintf(b, "CR2: 00007f%010x CR3: %016x CR4: 0000000000770ef0\n", (h>>4)&0xffffff000, 0x4000000+(h%0x1000)<<12)
	b.WriteString("PKRU: 55555554\n")
}

// WriteOops writes the oops at event i as Linux 6.12 on x86-64 prints
// it to the console, up to the panic. Frames come from the trace; every
// number is invented (see the top of this file).
func (t *Trace) WriteOops(b *strings.Builder, i int) {
	e := &t.Events[i]
	in := oopsInfo(e)
	rip, frames := t.OopsStack(i)
	comm, pid := taskOf(e.Ctx, e.CPU)
	irq := !strings.HasPrefix(e.Ctx, "task:")
	b.WriteString("------------[ cut here ]------------\n")
	fmt.Fprintf(b, "kernel BUG at %s:%d!\n", in.File, in.Line)
	b.WriteString("Oops: invalid opcode: 0000 [#1] PREEMPT SMP NOPTI\n")
	fmt.Fprintf(b, "CPU: %d UID: 0 PID: %s Comm: %s Not tainted %s #1\n", e.CPU, pid, comm, Release)
	b.WriteString("Hardware name: QEMU Standard PC (Q35 + ICH9, 2009), BIOS 1.16.3-debian-1.16.3-2 04/01/2014\n")
	x86Regs(b, t, e, rip)
	b.WriteString("Call Trace:\n")
	open := " <TASK>\n"
	if irq {
		open = " <IRQ>\n"
	}
	b.WriteString(open)
	// The exception path: do_error_trap and friends ran on this stack
	// after the ud2; the unwinder finds their return addresses but cannot
	// prove them part of the chain, hence '?'. The faulting function
	// itself appears only as stale '?' copies: the RIP line has it.
	for _, f := range []string{"__die_body", "die", "do_trap", "do_error_trap", rip.Fn, "exc_invalid_op", rip.Fn, "asm_exc_invalid_op", rip.Fn} {
		off := callOff(f, "trap")
		if f == rip.Fn {
			off = rip.Off
		}
		fmt.Fprintf(b, " ? %s+%#x/%#x\n", f, off, FnSize(f))
	}
	for _, f := range frames {
		fmt.Fprintf(b, " %s+%#x/%#x\n", f.Fn, f.Off, f.Size)
	}
	if irq {
		b.WriteString(" </IRQ>\n")
	} else {
		if st := t.Stack(i); len(st) > 0 {
			if se, ok := syscallEntry[t.Events[st[len(st)-1]].Fn]; ok {
				h := hash(e.Host, comm)
				fmt.Fprintf(b, "RIP: 0033:0x7f%010x\n", (h>>12)&0xfffffff0)
				fmt.Fprintf(b, "Code: %s\n", strings.Join(bytesOf(comm, 64), " "))
				fmt.Fprintf(b, "RSP: 002b:00007ffd%08x EFLAGS: 00000246 ORIG_RAX: %016x\n", uint32(h)&^0xf, se.nr)
				b.WriteString("RAX: ffffffffffffffda RBX: 0000000000000000 RCX: 00007f0c2a11e7c7\n")
				b.WriteString("RDX: 0000000000000005 RSI: 00005603d1a2b004 RDI: 0000000000000003\n")
				b.WriteString("RBP: 00007ffd5ad0b4f0 R08: 00007ffd5ad0b4e0 R09: 0000000000000010\n")
				b.WriteString("R10: 0000000000000000 R11: 0000000000000246 R12: 00007ffd5ad0b608\n")
				b.WriteString("R13: 00005603d1a2a139 R14: 0000000000000000 R15: 00007f0c2a2d4000\n")
			}
		}
		b.WriteString(" </TASK>\n")
	}
	mods := "Modules linked in:"
	for _, m := range in.Modules {
		mods += " " + m
	}
	b.WriteString(mods + "\n")
	b.WriteString("---[ end trace 0000000000000000 ]---\n")
	// The executive summary, in case the oops scrolled away.
	x86Regs(b, t, e, rip)
	msg := "Fatal exception"
	if irq {
		msg = "Fatal exception in interrupt"
	}
	fmt.Fprintf(b, "Kernel panic - not syncing: %s\n", msg)
	b.WriteString("Kernel Offset: disabled\n")
	fmt.Fprintf(b, "---[ end Kernel panic - not syncing: %s ]---\n", msg)
}

// armAddr is an invented, stable kernel address for fn on 32-bit ARM.
func armAddr(fn string) uint64 { return 0xc0100000 + hash("arm", fn)%0x400000&^3 }

// WriteOopsARM writes the same oops's backtrace the way seed 000's
// 32-bit ARM kernel printed it: each line names a function's start and
// size, "from" the return address in its caller. ARM's BUG() is the
// undefined instruction e7f001f2, shown in parentheses after Code:.
func (t *Trace) WriteOopsARM(b *strings.Builder, i int) {
	e := &t.Events[i]
	in := oopsInfo(e)
	rip, frames := t.OopsStack(i)
	comm, pid := taskOf(e.Ctx, e.CPU)
	var all []OopsFrame
	all = append(all, rip)
	for _, f := range frames {
		if f.Model { // no x86 entry code on ARM: the chain ends at the syscall
			all = append(all, f)
		}
	}
	fmt.Fprintf(b, "kernel BUG at %s:%d!\n", in.File, in.Line)
	b.WriteString("Internal error: Oops - BUG: 0 [#1] PREEMPT SMP ARM\n")
	mods := "Modules linked in:"
	for _, m := range in.Modules {
		mods += " " + m
	}
	b.WriteString(mods + "\n")
	fmt.Fprintf(b, "CPU: %d PID: %s Comm: %s Not tainted %s #1\n", e.CPU, pid, comm, Release)
	pc := armAddr(rip.Fn) + rip.Off&^3
	lr := pc
	if len(all) > 1 {
		lr = armAddr(all[1].Fn) + all[1].Off&^3
	}
	fmt.Fprintf(b, "PC is at %s+%#x/%#x\n", rip.Fn, rip.Off&^3, rip.Size)
	if len(all) > 1 {
		fmt.Fprintf(b, "LR is at %s+%#x/%#x\n", all[1].Fn, all[1].Off&^3, all[1].Size)
	}
	fmt.Fprintf(b, "pc : [<%08x>]    lr : [<%08x>]    psr: 60000013\n", pc, lr)
	b.WriteString("Backtrace:\n")
	for k, f := range all {
		start := armAddr(f.Fn)
		if k+1 < len(all) {
			c := all[k+1]
			fmt.Fprintf(b, "[<%08x>] (%s+0x0/%#x) from [<%08x>] (%s+%#x/%#x)\n", start, f.Fn, f.Size, armAddr(c.Fn)+c.Off&^3, c.Fn, c.Off&^3, c.Size)
			continue
		}
		// The outermost: the system call returns to the entry code.
		fmt.Fprintf(b, "[<%08x>] (%s+0x0/%#x) from [<c0100040>] (ret_fast_syscall+0x0/0x30)\n", start, f.Fn, f.Size)
	}
	var words []string
	for k := range 4 {
		words = append(words, strings.Join(bytesOf(rip.Fn+"arm"+fmt.Sprint(k), 4), ""))
	}
	fmt.Fprintf(b, "Code: %s (e7f001f2)\n", strings.Join(words, " "))
	b.WriteString("---[ end trace 0000000000000000 ]---\n")
	b.WriteString("Kernel panic - not syncing: Fatal exception\n")
}

// WriteOopses writes the console text of every oops in the trace, in
// the x86-64 format or, with arm, seed 000's ARM backtrace format. A
// trace without an oops is an error: the lesson asked for has none.
func (t *Trace) WriteOopses(w io.Writer, arm bool) error {
	n := 0
	for i := range t.Events {
		if t.Events[i].Kind != Oops {
			continue
		}
		n++
		var b strings.Builder
		if arm {
			t.WriteOopsARM(&b, i)
		} else {
			b.WriteString(t.Events[i].OopsText())
		}
		if _, err := fmt.Fprintf(w, "[host %s]\n%s", t.Events[i].Host, b.String()); err != nil {
			return err
		}
	}
	if n == 0 {
		return fmt.Errorf("no oops in this trace (a scenario oopses with bug_on)")
	}
	return nil
}
