package ae

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/kdbench/kdbench/internal/stats"
	"github.com/kdbench/kdbench/workloads/failover"
)

// RecoveryScaling is the most a crash's median cost (recovery beyond the
// no-fault control, and the restart until the links resynced) may grow from
// the smallest measured size to the largest for recovery to count as
// scalable, beyond RecoverySlackMs: a cost within the slack at the largest
// size counts as cheap whatever it was at the smallest (a ratio of two
// near-zero medians is noise).
const (
	RecoveryScaling = 2.0
	RecoverySlackMs = 100.0
)

// failoverRows returns the recovery.csv rows of every failover run, by
// system.
func (ev *Evidence) failoverRows() (map[string][]failover.Row, []string) {
	out := map[string][]failover.Row{}
	var warnings []string
	for _, r := range ev.Runs {
		if r.Manifest().Experiment != failover.Experiment {
			continue
		}
		rows, err := failover.LoadRows(r.Dir)
		if err != nil {
			warnings = append(warnings, err.Error())
			continue
		}
		for _, row := range rows {
			out[row.System] = append(out[row.System], row)
		}
	}
	return out, warnings
}

// recoveryScaling is one (phase, target) of a system's crash cases: the
// median recovery, recovery over the no-fault control and resync at its
// smallest and largest size (over and resync: NaN when not recorded).
type recoveryScaling struct {
	phase                    failover.Phase
	target                   failover.Target
	small, large             int
	smallMs, largeMs         float64
	smallOver, largeOver     float64
	smallResync, largeResync float64
}

func (s recoveryScaling) ratio() float64 {
	if s.smallMs <= 0 {
		return 0
	}
	return s.largeMs / s.smallMs
}

// grows says a cost grew beyond RecoveryScaling × its small-size value plus
// the slack (false when either is not recorded).
func grows(small, large float64) bool {
	if !recorded(small, large) {
		return false
	}
	return large > RecoveryScaling*max(small, 0)+RecoverySlackMs
}

func recorded(a, b float64) bool { return !math.IsNaN(a) && !math.IsNaN(b) }

// medianOr is the median, NaN for none (a cost not recorded).
func medianOr(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	return stats.Median(xs)
}

// crashRecovery judges one system's crash cases: the cases that did not
// converge cleanly, and per (phase, target) measured at two sizes or more
// the scaling of the median recovery.
func crashRecovery(rows []failover.Row) (crashes int, bad []string, scaling []recoveryScaling) {
	type key struct {
		phase  failover.Phase
		target failover.Target
	}
	ms := map[key]map[int][]float64{}
	over := map[key]map[int][]float64{}
	resync := map[key]map[int][]float64{}
	controls := failover.NewControls(rows)
	for _, r := range rows {
		if r.Kind != failover.Crash || r.Status == failover.StatusSkipped {
			continue
		}
		crashes++
		if r.Status != failover.StatusOK {
			why := r.Detail
			if len(r.Violations) > 0 {
				why = failover.FormatViolations(r.Violations)
			}
			bad = append(bad, fmt.Sprintf("%s %s: %s", r.Case, r.Status, why))
			continue
		}
		k := key{r.Phase, r.Target}
		if ms[k] == nil {
			ms[k], over[k], resync[k] = map[int][]float64{}, map[int][]float64{}, map[int][]float64{}
		}
		ms[k][r.Size] = append(ms[k][r.Size], float64(r.Recovery())/1e6)
		if d, ok := controls.OverControl(r); ok {
			over[k][r.Size] = append(over[k][r.Size], float64(d)/1e6)
		}
		if r.Resync() > 0 {
			resync[k][r.Size] = append(resync[k][r.Size], float64(r.Resync())/1e6)
		}
	}
	for k, bySize := range ms {
		sizes := make([]int, 0, len(bySize))
		for s := range bySize {
			sizes = append(sizes, s)
		}
		slices.Sort(sizes)
		if len(sizes) < 2 {
			continue
		}
		lo, hi := sizes[0], sizes[len(sizes)-1]
		scaling = append(scaling, recoveryScaling{phase: k.phase, target: k.target, small: lo, large: hi,
			smallMs: stats.Median(bySize[lo]), largeMs: stats.Median(bySize[hi]),
			smallOver: medianOr(over[k][lo]), largeOver: medianOr(over[k][hi]),
			smallResync: medianOr(resync[k][lo]), largeResync: medianOr(resync[k][hi])})
	}
	slices.SortFunc(scaling, func(a, b recoveryScaling) int {
		return cmp.Or(cmp.Compare(a.phase, b.phase), cmp.Compare(slices.Index(failover.Targets, a.target), slices.Index(failover.Targets, b.target)))
	})
	return crashes, bad, scaling
}

func describeScaling(system string, crashes int, bad []string, sc []recoveryScaling) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d/%d crash cases converged with no invariant broken", system, crashes-len(bad), crashes)
	if len(sc) > 0 {
		var parts []string
		for _, s := range sc {
			p := fmt.Sprintf("%s/%s %.0f→%.0f ms (%.2f×)", s.phase, s.target, s.smallMs, s.largeMs, s.ratio())
			if recorded(s.smallOver, s.largeOver) {
				p += fmt.Sprintf(", over no-fault %+.0f→%+.0f ms", s.smallOver, s.largeOver)
			}
			if recorded(s.smallResync, s.largeResync) {
				p += fmt.Sprintf(", resync %.0f→%.0f ms", s.smallResync, s.largeResync)
			}
			parts = append(parts, p)
		}
		fmt.Fprintf(&b, "; median recovery %d→%d pods: %s", sc[0].small, sc[0].large, strings.Join(parts, "; "))
	}
	return b.String()
}

func failoverClaim(ev *Evidence, _ stats.BootstrapOptions) Outcome {
	bySys, warnings := ev.failoverRows()
	var measured []string
	var out *Outcome
	for _, sys := range []string{"kd+", "kd"} {
		crashes, bad, sc := crashRecovery(bySys[sys])
		if crashes == 0 || out != nil {
			continue
		}
		measured = append(measured, describeScaling(sys, crashes, bad, sc))
		o := Outcome{Verdict: Reproduced}
		var over []string
		for _, s := range sc {
			// Judged on the fault's own cost; recovery itself where an older
			// run recorded neither.
			judged := false
			if recorded(s.smallOver, s.largeOver) {
				judged = true
				if grows(s.smallOver, s.largeOver) {
					over = append(over, fmt.Sprintf("%s/%s recovery over no-fault grows %+.0f→%+.0f ms", s.phase, s.target, s.smallOver, s.largeOver))
				}
			}
			if recorded(s.smallResync, s.largeResync) {
				judged = true
				if grows(s.smallResync, s.largeResync) {
					over = append(over, fmt.Sprintf("%s/%s resync grows %.0f→%.0f ms", s.phase, s.target, s.smallResync, s.largeResync))
				}
			}
			if !judged && grows(s.smallMs, s.largeMs) {
				over = append(over, fmt.Sprintf("%s/%s grows %.2f×", s.phase, s.target, s.ratio()))
			}
		}
		switch {
		case len(bad) > 0:
			o.Verdict, o.Reason = NotReproduced, fmt.Sprintf("%d crash cases of %s did not recover cleanly, first %s", len(bad), sys, bad[0])
		case len(sc) == 0:
			o.Verdict, o.Reason = NotRun, fmt.Sprintf("every %s crash case converged, but only one size was measured: scalability needs two", sys)
		case len(over) > 0:
			o.Verdict, o.Reason = NotReproduced, fmt.Sprintf("%s crash cost grows more than %.0f× (+%.0f ms) with size: %s", sys, RecoveryScaling, RecoverySlackMs, strings.Join(over, ", "))
		default:
			o.Reason = fmt.Sprintf("every %s crash case converged with no invariant broken, and the median crash cost (recovery over no-fault, resync) grows at most %.0f× (+%.0f ms) from %d to %d pods",
				sys, RecoveryScaling, RecoverySlackMs, sc[0].small, sc[0].large)
		}
		out = &o
	}
	if out == nil {
		return failoverNotRun(ev, warnings)
	}
	// The control system, for context: what Kubernetes' own recovery does.
	for _, sys := range []string{"k8s+", "k8s"} {
		if crashes, bad, sc := crashRecovery(bySys[sys]); crashes > 0 {
			measured = append(measured, describeScaling(sys, crashes, bad, sc))
			break
		}
	}
	out.Measured = strings.Join(measured, "; ")
	return *out
}

// failoverNotRun says why there is no Kubedirect crash case to judge.
func failoverNotRun(ev *Evidence, warnings []string) Outcome {
	reasons := warnings
	for key, why := range ev.Missing {
		if strings.HasPrefix(key, "failover/") && !slices.Contains(reasons, why) {
			reasons = append(reasons, why)
		}
	}
	if len(reasons) == 0 {
		return notRun("no failover crash case of kd+ or kd")
	}
	slices.Sort(reasons)
	return notRun(strings.Join(reasons, "; "))
}
