package kernel

import (
	"testing"

	"skbscope/stack/trace"
)

// Events run in time order, ties in the order they were scheduled, and a
// busy CPU delays work queued for it until its clock is free.
func TestOrderAndBusyCPU(t *testing.T) {
	s := NewSim(1)
	k := s.NewKernel("A", 1)
	f := NewFn("work", "x.c", "test")
	task := Context{Kind: CtxTask, Name: "t", PID: 1}
	var order []string
	var starts []int64
	k.RunOn(100, 0, task, func() {
		order = append(order, "first")
		starts = append(starts, k.Now())
		k.Call(f)
		k.Spend(1000)
		k.RetVoid(f)
	})
	k.RunOn(100, 0, Context{Kind: CtxHardirq, Name: "eth0"}, func() {
		order = append(order, "second")
		starts = append(starts, k.Now())
	})
	s.At(50, func() { order = append(order, "hw") })
	if !s.Run(1 << 40) {
		t.Fatal("queue did not drain")
	}
	if len(order) != 3 || order[0] != "hw" || order[1] != "first" || order[2] != "second" {
		t.Fatalf("order %v", order)
	}
	if starts[0] != 100 || starts[1] != 100+DefaultCost+1000 {
		t.Errorf("second event started at %d, want when the CPU was free (%d)", starts[1], 100+DefaultCost+1000)
	}
	ev := s.Trace().Events
	if ev[0].Ctx != "task:t[1]" || ev[0].Kind != trace.Call || ev[1].Up != 0 || ev[1].Depth != 1 {
		t.Errorf("events %+v", ev)
	}
}

func TestRunLimitAndUntil(t *testing.T) {
	s := NewSim(1)
	var tick func()
	n := 0
	tick = func() { n++; s.At(s.Now()+10, tick) }
	s.At(0, tick)
	if s.Run(95) {
		t.Fatal("an endless clock drained")
	}
	if n != 10 {
		t.Errorf("%d ticks by t=95, want 10", n)
	}
	s.Limit = 5
	if s.Run(1<<40) || n != 15 {
		t.Errorf("Limit: %d ticks", n)
	}
}

func TestSeededRand(t *testing.T) {
	a, b := NewSim(7), NewSim(7)
	for range 10 {
		if a.Rand().Uint64() != b.Rand().Uint64() {
			t.Fatal("same seed, different numbers")
		}
	}
}

func TestErrString(t *testing.T) {
	for v, want := range map[Err]string{-EBADF: "-EBADF", -ENOTSOCK: "-ENOTSOCK", 5: "5", 0: "0", -4095: "-4095"} {
		if v.String() != want {
			t.Errorf("Err(%d) = %s, want %s", int(v), v, want)
		}
	}
}

// TestKsoftirqd: a softirq that keeps raising itself is run at most
// MAX_SOFTIRQ_RESTART passes from interrupt exit; the rest is left to
// ksoftirqd, in its own task context.
func TestKsoftirqd(t *testing.T) {
	s := NewSim(1)
	k := s.NewKernel("A", 1)
	runs := 0
	k.OpenSoftirq(NetRxSoftirq, func() {
		runs++
		if runs < 15 {
			k.RaiseSoftirqIrqoff(NetRxSoftirq)
		}
	})
	k.RunOn(0, 0, Context{Kind: CtxHardirq, Name: "eth0"}, func() {
		k.HardIRQ("eth0", func() { k.RaiseSoftirqIrqoff(NetRxSoftirq) })
	})
	s.Run(1 << 40)
	if runs != 15 {
		t.Fatalf("%d runs, want 15", runs)
	}
	woke := false
	for _, e := range s.Trace().Events {
		if e.Kind == trace.Call && e.Fn == "run_ksoftirqd" {
			woke = true
			if e.Ctx != "task:ksoftirqd/0[15]" {
				t.Errorf("run_ksoftirqd in %s", e.Ctx)
			}
		}
	}
	if !woke {
		t.Fatal("ksoftirqd never ran")
	}
}
