package dirigent

import "testing"

func TestPlace(t *testing.T) {
	mk := func(name string, cpu, mem, usedCPU, usedMem int64, n int, alive bool) *worker {
		return &worker{info: workerInfo{Name: name, CPUMilli: cpu, MemoryMiB: mem}, cpu: usedCPU, mem: usedMem, sandboxes: n, alive: alive}
	}
	fn := Function{Name: "f", CPUMilli: 1000, MemoryMiB: 512}
	for _, tc := range []struct {
		name    string
		workers []*worker
		start   int
		fn      Function
		want    string
	}{
		{name: "least allocated wins", fn: fn, workers: []*worker{
			mk("a", 4000, 4096, 2000, 0, 2, true), mk("b", 4000, 4096, 1000, 0, 2, true),
		}, want: "b"},
		{name: "dead worker skipped", fn: fn, workers: []*worker{
			mk("a", 4000, 4096, 0, 0, 0, false), mk("b", 4000, 4096, 3000, 0, 3, true),
		}, want: "b"},
		{name: "worker without room skipped", fn: fn, workers: []*worker{
			mk("a", 4000, 4096, 0, 3800, 1, true), mk("b", 4000, 4096, 3000, 0, 3, true),
		}, want: "b"},
		// a: cpu .5, mem .5 → .5; b: cpu .25, mem .75 → .5 + .25 = .75.
		{name: "balanced allocation breaks even means", fn: fn, workers: []*worker{
			mk("b", 4000, 4096, 0, 2560, 0, true), mk("a", 4000, 4096, 1000, 1536, 0, true),
		}, want: "a"},
		{name: "nothing fits", fn: fn, workers: []*worker{mk("a", 1000, 4096, 500, 0, 1, true)}, want: ""},
		{name: "unbounded workers balance by sandbox count", fn: Function{Name: "f"}, workers: []*worker{
			mk("a", 0, 0, 0, 0, 3, true), mk("b", 0, 0, 0, 0, 1, true), mk("c", 0, 0, 0, 0, 2, true),
		}, want: "b"},
		{name: "ties go round robin from start", fn: Function{Name: "f"}, start: 2, workers: []*worker{
			mk("a", 0, 0, 0, 0, 1, true), mk("b", 0, 0, 0, 0, 1, true), mk("c", 0, 0, 0, 0, 1, true),
		}, want: "c"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ""
			if w := place(tc.workers, tc.start, tc.fn); w != nil {
				got = w.info.Name
			}
			if got != tc.want {
				t.Errorf("placed on %q, want %q", got, tc.want)
			}
		})
	}
}
