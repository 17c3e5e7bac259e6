package scenario

import (
	"bytes"
	"regexp"
	"slices"
	"strings"
	"testing"

	"skbscope/stack/trace"
)

// oopsLesson runs the oops lesson and returns its trace and the oops.
func oopsLesson(t *testing.T) (*trace.Trace, int) {
	t.Helper()
	tr := runLesson(t, "oops")
	i := oopsOf(tr, "A")
	if i < 0 {
		t.Fatal("no oops on A")
	}
	return tr, i
}

// TestOopsText checks the console text line by line: the header lines in
// the kernel's order, and a Call Trace whose reliable frames are the
// simulated stack, innermost first, without the inline frames, the
// faulting function (it is the RIP line) and with x86-64's entry frames
// below the system call.
func TestOopsText(t *testing.T) {
	tr, i := oopsLesson(t)
	text := tr.Events[i].OopsText()
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	at := 0
	for _, re := range []string{
		`^------------\[ cut here \]------------$`,
		`^kernel BUG at net/core/dev\.c:4494!$`,
		`^Oops: invalid opcode: 0000 \[#1\] PREEMPT SMP NOPTI$`,
		`^CPU: 0 UID: 0 PID: 101 Comm: sender Not tainted 6\.12\.\S+ #1$`,
		`^Hardware name: `,
		`^RIP: 0010:__dev_queue_xmit\+0x[0-9a-f]+/0x[0-9a-f]+$`,
		`^Code: ([0-9a-f]{2} ){42}<0f> 0b( [0-9a-f]{2}){21}$`,
		`^RSP: 0018:[0-9a-f]{16} EFLAGS: 00010246$`,
		`^RDX: 0{16} RSI: 0{16} RDI: ffff888000000100$`, // skb 1, the first argument
		`^R13: `,
		`^Call Trace:$`,
		`^ <TASK>$`,
		`^ \? asm_exc_invalid_op\+`,
		`^RSP: 002b:[0-9a-f]{16} EFLAGS: 00000246 ORIG_RAX: 000000000000002c$`, // sendto is 44
		`^ </TASK>$`,
		`^Modules linked in: e1000e$`,
		`^---\[ end trace 0000000000000000 \]---$`,
		`^RIP: 0010:__dev_queue_xmit\+`,
		`^Kernel panic - not syncing: Fatal exception$`,
		`^---\[ end Kernel panic - not syncing: Fatal exception \]---$`,
	} {
		r := regexp.MustCompile(re)
		for at < len(lines) && !r.MatchString(lines[at]) {
			at++
		}
		if at == len(lines) {
			t.Fatalf("no line %s (in order) in:\n%s", re, text)
		}
		at++
	}

	// The reliable frames, between <TASK> and the user-space registers.
	var got []string
	frame := regexp.MustCompile(`^ ([a-zA-Z0-9_.]+)\+0x([0-9a-f]+)/0x([0-9a-f]+)$`)
	for _, l := range lines {
		if m := frame.FindStringSubmatch(l); m != nil {
			if len(m[2]) > len(m[3]) || len(m[2]) == len(m[3]) && m[2] >= m[3] {
				t.Errorf("offset beyond the function's size: %q", l)
			}
			got = append(got, m[1])
		}
	}
	var want []string
	for _, s := range tr.Stack(i) {
		if e := &tr.Events[s]; !strings.HasPrefix(e.File, "include/") && e.Fn != "__dev_queue_xmit" {
			want = append(want, e.Fn)
		}
	}
	want = append(want, "__x64_sys_sendto", "do_syscall_64", "entry_SYSCALL_64_after_hwframe")
	if !slices.Equal(got, want) {
		t.Errorf("Call Trace %v,\nthe simulated stack says %v", got, want)
	}
	literal := []string{"ip_finish_output2", "__ip_finish_output", "ip_finish_output", "ip_output", "ip_local_out",
		"ip_send_skb", "udp_send_skb", "udp_sendmsg", "inet_sendmsg", "__sock_sendmsg", "__sys_sendto",
		"__x64_sys_sendto", "do_syscall_64", "entry_SYSCALL_64_after_hwframe"}
	if !slices.Equal(got, literal) {
		t.Errorf("Call Trace %v, want %v", got, literal)
	}
}

// TestOopsARM checks seed 000's format: each line's "from" is the next
// line's function, from __dev_queue_xmit out to the system call, which
// returns to ret_fast_syscall; the BUG instruction is in parentheses.
func TestOopsARM(t *testing.T) {
	tr, i := oopsLesson(t)
	var b strings.Builder
	tr.WriteOopsARM(&b, i)
	re := regexp.MustCompile(`(?m)^\[<([0-9a-f]{8})>\] \(([a-z0-9_]+)\+0x0/0x[0-9a-f]+\) from \[<[0-9a-f]{8}>\] \(([a-z0-9_]+)\+0x[0-9a-f]+/0x[0-9a-f]+\)$`)
	ms := re.FindAllStringSubmatch(b.String(), -1)
	if len(ms) != 12 || ms[0][2] != "__dev_queue_xmit" || ms[len(ms)-1][3] != "ret_fast_syscall" {
		t.Fatalf("backtrace:\n%s", b.String())
	}
	for k := 0; k+1 < len(ms); k++ {
		if ms[k][3] != ms[k+1][2] {
			t.Errorf("line %d comes from %s, the next line is %s", k, ms[k][3], ms[k+1][2])
		}
	}
	if !strings.Contains(b.String(), "(e7f001f2)\n") || !strings.Contains(b.String(), "Kernel panic - not syncing: Fatal exception\n") {
		t.Errorf("no BUG instruction or panic:\n%s", b.String())
	}
}

// TestOopsStopsHost: after the oops, A records nothing more, the skb
// never reaches the driver or the wire, and B runs on: its receiver still
// sleeps in recvfrom when until_ns ends the run.
func TestOopsStopsHost(t *testing.T) {
	tr, i := oopsLesson(t)
	for _, e := range tr.Events[i+1:] {
		if e.Host == "A" {
			t.Fatalf("A runs after its oops: %+v", e)
		}
	}
	for _, e := range tr.Events {
		if e.Kind == trace.Wire || e.Fn == "e1000_xmit_frame" {
			t.Fatalf("the skb got past the BUG(): %+v", e)
		}
	}
	var lastB *trace.Event
	for k := range tr.Events {
		if e := &tr.Events[k]; e.Host == "B" {
			lastB = e
			if e.Kind == trace.Ret && e.Fn == "schedule" {
				t.Errorf("B's receiver woke up: %+v", e)
			}
		}
	}
	if lastB == nil || !strings.Contains(lastB.Note, "receiver is TASK_INTERRUPTIBLE") {
		t.Errorf("B's receiver is not left asleep in recvfrom: %+v", lastB)
	}
	if n := strings.Count(tr.Events[i].Note, "Kernel panic"); n != 1 {
		t.Errorf("oops note %q", tr.Events[i].Note)
	}
}

// TestOopsDeterministic: the same oops, byte for byte, twice.
func TestOopsDeterministic(t *testing.T) {
	a, b := jsonOf(t, runLesson(t, "oops")), jsonOf(t, runLesson(t, "oops"))
	if !bytes.Equal(a, b) {
		t.Fatal("two runs of the oops lesson differ")
	}
}

// TestBugOnErrors: bug_on names a function BUG() can be injected into.
func TestBugOnErrors(t *testing.T) {
	in := `{
  "version": 1,
  "hosts": [
    {"name": "A",
     "bug_on": {"fn": "dev_queue_xmitt"}}
  ]
}`
	_, err := Parse([]byte(in))
	if err == nil || !strings.Contains(err.Error(), `line 5, column 23: hosts[0].bug_on.fn: "dev_queue_xmitt": BUG() can be injected into __dev_queue_xmit,`) {
		t.Fatalf("error: %v", err)
	}
	if _, err := Parse([]byte(strings.Replace(in, `"fn"`, `"function"`, 1))); err == nil {
		t.Fatal("an unknown field in bug_on passed")
	}
}
