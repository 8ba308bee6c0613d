package model

import (
	"flag"
	"os"
	"strconv"
	"strings"
	"testing"
)

var (
	seedFlag  = flag.Int64("kd.seed", -1, "replay one model schedule (also KD_MODEL_SEED); traces it with -v")
	runsFlag  = flag.Int("kd.runs", 0, "number of random model schedules (also KD_MODEL_RUNS; default 5000, 1000 with -short)")
	firstFlag = flag.Int64("kd.first", 1, "first seed of the sweep (also KD_MODEL_FIRST)")
)

func envInt(name string, def int64) int64 {
	if v := os.Getenv(name); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return n
		}
	}
	return def
}

// TestModel runs many seeded fault schedules and checks the invariants of each.
// Replay a failure with: go test ./kubedirect/model -run TestModel -v -kd.seed=N
func TestModel(t *testing.T) {
	seed := envInt("KD_MODEL_SEED", *seedFlag)
	if seed >= 0 {
		opt := OptionsFor(seed)
		var trace strings.Builder
		if testing.Verbose() {
			opt.Trace = &trace
		}
		res, err := Run(seed, opt)
		t.Log(trace.String())
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		t.Logf("seed %d: %+v", seed, res)
		return
	}
	runs := int64(*runsFlag)
	if runs == 0 {
		runs = envInt("KD_MODEL_RUNS", 5000)
		if testing.Short() {
			runs = min(runs, 1000)
		}
	}
	first := envInt("KD_MODEL_FIRST", *firstFlag)
	var total Result
	failures := 0
	for s := first; s < first+runs; s++ {
		res, err := Run(s, OptionsFor(s))
		if err != nil {
			failures++
			t.Errorf("seed %d failed (replay: go test ./kubedirect/model -run TestModel -v -kd.seed=%d):\n%v", s, s, err)
			if failures >= 5 {
				t.Fatal("stopping after 5 failing seeds")
			}
			continue
		}
		total.Events += res.Events
		total.Frames += res.Frames
		total.Crashes += res.Crashes
		total.Breaks += res.Breaks
		total.Preemptions += res.Preemptions
		total.Scales += res.Scales
		total.StaleFrames += res.StaleFrames
	}
	t.Logf("%d schedules: %d events, %d frames, %d crashes, %d stream breaks, %d preemptions, %d scale changes, %d stale frames rejected",
		runs, total.Events, total.Frames, total.Crashes, total.Breaks, total.Preemptions, total.Scales, total.StaleFrames)
	// The sweep must actually exercise the faults it claims to.
	if runs >= 100 && (total.Crashes == 0 || total.Breaks == 0 || total.Preemptions == 0 || total.StaleFrames == 0) {
		t.Errorf("fault mix not exercised: %+v", total)
	}
}
