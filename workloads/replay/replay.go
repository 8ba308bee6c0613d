package replay

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"k8s.io/utils/clock"

	"github.com/kdbench/kdbench/baselines/faas/gateway"
	"github.com/kdbench/kdbench/workloads/trace"
)

// Invoker is the front-end under test.
type Invoker interface {
	Invoke(ctx context.Context, inv gateway.Invocation) gateway.Result
}

// Function is how the replay names a schedule's function: its Deployment,
// and the instance column of its records.
type Function struct {
	Deployment, Instance string
}

// Functions names the schedule's functions in row order: Deployment
// "fn<row>" (zero-padded, a DNS label with no '-', so trace.FunctionKey of
// the instance gives it back) and Instance "fn<row>-<hash prefix>", the
// loader's name-plus-suffix shape.
func Functions(s *trace.Schedule) []Function {
	width := len(fmt.Sprint(max(len(s.Functions)-1, 0)))
	out := make([]Function, len(s.Functions))
	for i, fs := range s.Functions {
		dep := fmt.Sprintf("fn%0*d", width, i)
		h := strings.ToLower(fs.Function.HashFunction)
		h = strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, h)
		out[i] = Function{Deployment: dep, Instance: dep + "-" + h[:min(8, len(h))]}
	}
	return out
}

// Config is one replay.
type Config struct {
	Schedule  *trace.Schedule
	Functions []Function // per schedule row; default Functions(Schedule)
	// WarmupMinutes marks records of the first minutes as phase 1.
	WarmupMinutes int
	// Record receives every result, from one goroutine, in completion order.
	Record func(gateway.Result) error
	// Progress, if set, is told every 1000 finished invocations how many
	// have finished (from the recording goroutine).
	Progress func(finished int)
	Clock    clock.Clock
}

// Accounting is what happened to the issued invocations.
type Accounting struct {
	Issued, Completed int
	// Failed counts failures by gateway reason.
	Failed map[string]int
	// Duration is from the first scheduled offset's origin to the last
	// completion.
	Duration time.Duration
}

// FailedTotal is the number of failed invocations.
func (a Accounting) FailedTotal() int {
	n := 0
	for _, c := range a.Failed {
		n += c
	}
	return n
}

// String is a one-line summary, reasons in order.
func (a Accounting) String() string {
	reasons := make([]string, 0, len(a.Failed))
	for r, n := range a.Failed {
		reasons = append(reasons, fmt.Sprintf("%s %d", r, n))
	}
	sort.Strings(reasons)
	return fmt.Sprintf("issued %d, completed %d, failed %d [%s] in %s", a.Issued, a.Completed, a.FailedTotal(),
		strings.Join(reasons, ", "), a.Duration.Round(time.Millisecond))
}

// Run replays cfg.Schedule through inv. If ctx ends, issuing stops and the
// invocations in flight end as canceled; they are still accounted and
// recorded. The error is ctx's or the first Record error.
func Run(ctx context.Context, inv Invoker, cfg Config) (Accounting, error) {
	if cfg.Schedule == nil {
		return Accounting{}, fmt.Errorf("replay: no schedule")
	}
	if cfg.Functions == nil {
		cfg.Functions = Functions(cfg.Schedule)
	}
	if len(cfg.Functions) != len(cfg.Schedule.Functions) {
		return Accounting{}, fmt.Errorf("replay: %d function names for %d functions", len(cfg.Functions), len(cfg.Schedule.Functions))
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	gran := cfg.Schedule.Options.Granularity
	acc := Accounting{Failed: map[string]int{}}
	results := make(chan gateway.Result, 1024)
	var recErr error
	recorded := make(chan struct{})
	// The recorder owns the outcome counts until it is done; the issuing
	// loop owns acc.Issued.
	completed, failed := 0, map[string]int{}
	go func() {
		defer close(recorded)
		finished := 0
		for r := range results {
			if r.Reason == "" {
				completed++
			} else {
				failed[r.Reason]++
			}
			if recErr == nil && cfg.Record != nil {
				recErr = cfg.Record(r)
			}
			if finished++; cfg.Progress != nil && finished%1000 == 0 {
				cfg.Progress(finished)
			}
		}
	}()

	start := cfg.Clock.Now()
	var wg sync.WaitGroup
	for a := range cfg.Schedule.Timeline() {
		if wait := a.At - cfg.Clock.Since(start); wait > 0 {
			select {
			case <-cfg.Clock.After(wait):
			case <-ctx.Done():
			}
		}
		if ctx.Err() != nil {
			break
		}
		phase := 2
		if a.Minute < cfg.WarmupMinutes {
			phase = 1
		}
		fn := cfg.Functions[a.Function]
		call := gateway.Invocation{Function: fn.Deployment, Instance: fn.Instance,
			InvocationID: trace.InvocationID(gran, a.Minute, a.MinuteIndex), Phase: phase,
			Runtime: time.Duration(a.RuntimeMs) * time.Millisecond, MemoryMiB: a.MemoryMiB}
		acc.Issued++
		wg.Add(1)
		go func() {
			defer wg.Done()
			results <- inv.Invoke(ctx, call)
		}()
	}
	wg.Wait()
	close(results)
	<-recorded
	acc.Completed, acc.Failed = completed, failed
	acc.Duration = cfg.Clock.Since(start)
	if err := ctx.Err(); err != nil {
		return acc, err
	}
	return acc, recErr
}
