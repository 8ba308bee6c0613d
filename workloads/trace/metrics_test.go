package trace

import (
	"math"
	"testing"
)

func rec(instance, id string, requested, response, actual int64) Record {
	return Record{Phase: 2, Instance: instance, InvocationID: id,
		RequestedDurationUs: requested, ResponseTimeUs: response, ActualDurationUs: actual}
}

func TestFunctionKey(t *testing.T) {
	for in, want := range map[string]string{
		"f12-00001-deployment-7d9c": "f12",
		"plain":                     "plain",
		"-x":                        "",
		"trace-func-0-123":          "trace",
	} {
		if got := FunctionKey(in); got != want {
			t.Errorf("FunctionKey(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSlowdown(t *testing.T) {
	timedOut := rec("a-3", "min12.inv9", 1000, 900000, 0)
	timedOut.FunctionTimeout = true
	records := []Record{
		// Function a: slowdowns 2 and 8 -> geometric mean 4; the warm-up
		// record (min9) and the sub-1 one are dropped, the timeout too.
		rec("a-1", "min10.inv0", 1000, 2000, 1000),
		rec("a-2", "min11.inv0", 1000, 8000, 1000),
		rec("a-1", "min9.inv0", 1000, 500000, 1000),
		rec("a-1", "min12.inv0", 1000, 999, 999),
		timedOut,
		// Function b has one invocation left after filtering.
		rec("b-1", "min10.inv0", 1000, 3000, 1000),
		rec("b-1", "min10.inv1", 1000, 10, 10),
		// Function c: 1 and 1 -> 1 (values equal to 1 stay).
		rec("c", "min20.inv0", 5000, 5000, 5000),
		rec("c", "min20.inv1", 5000, 5000, 5000),
		// IDs of another shape are not warm-up.
		rec("d-x", "sec1.inv0", 1000, 3000, 1000),
		rec("d-y", "sec2.inv0", 1000, 3000, 1000),
	}
	got := Slowdown(records, 10)
	want := []FunctionValue{{"a", 4, 2}, {"c", 1, 2}, {"d", 3, 2}}
	if len(got.Functions) != len(want) {
		t.Fatalf("got %+v, want %+v", got.Functions, want)
	}
	for i, w := range want {
		g := got.Functions[i]
		if g.Function != w.Function || g.Invocations != w.Invocations || math.Abs(g.Value-w.Value) > 1e-12 {
			t.Errorf("function %d: got %+v, want %+v", i, g, w)
		}
	}
	if got.Warmup != 1 || got.Failed != 1 || got.BelowOne != 2 || got.Singletons != 1 {
		t.Errorf("dropped warmup %d failed %d below-one %d singletons %d, want 1 1 2 1",
			got.Warmup, got.Failed, got.BelowOne, got.Singletons)
	}
	if v := got.Values(); len(v) != 3 || math.Abs(v[2]-3) > 1e-12 {
		t.Errorf("Values() = %v", v)
	}
	// With no warm-up the min9 record counts: a gets slowdowns 2, 8, 500.
	if a := Slowdown(records, 0).Functions[0]; a.Invocations != 3 || math.Abs(a.Value-math.Cbrt(2*8*500)) > 1e-9 {
		t.Errorf("no warm-up: %+v", a)
	}
}

func TestSchedulingLatency(t *testing.T) {
	timedOut := rec("a-9", "min12.inv1", 1000, 0, 0)
	timedOut.ConnectionTimeout = true
	records := []Record{
		// a: (3000-1000)/1000 = 2 ms and (11000-1000)/1000 = 10 ms -> 6 ms.
		rec("a-1", "min10.inv0", 1000, 3000, 1000),
		rec("a-2", "min12.inv0", 1000, 11000, 1000),
		rec("a-1", "min0.inv0", 1000, 999000, 1000),
		timedOut,
		// b: sub-millisecond and even negative latencies are kept as measured.
		rec("b", "min30.inv0", 1000, 1500, 1000),
		rec("b", "min30.inv1", 1000, 900, 1000),
		rec("single-1", "min30.inv0", 1000, 5000, 1000),
	}
	got := SchedulingLatency(records, 10)
	want := []FunctionValue{{"a", 6, 2}, {"b", 0.2, 2}}
	if len(got.Functions) != len(want) {
		t.Fatalf("got %+v", got.Functions)
	}
	for i, w := range want {
		g := got.Functions[i]
		if g.Function != w.Function || g.Invocations != w.Invocations || math.Abs(g.Value-w.Value) > 1e-12 {
			t.Errorf("got %+v, want %+v", g, w)
		}
	}
	if got.Warmup != 1 || got.Failed != 1 || got.Singletons != 1 {
		t.Errorf("dropped %+v", got)
	}
}
