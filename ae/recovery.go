package ae

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/kdbench/kdbench/internal/stats"
	"github.com/kdbench/kdbench/workloads/failover"
)

// RecoveryScaling is the most the median crash recovery may grow from the
// smallest measured size to the largest for recovery to count as scalable.
const RecoveryScaling = 2.0

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
// median recovery at its smallest and largest size.
type recoveryScaling struct {
	phase            failover.Phase
	target           failover.Target
	small, large     int
	smallMs, largeMs float64
}

func (s recoveryScaling) ratio() float64 {
	if s.smallMs <= 0 {
		return 0
	}
	return s.largeMs / s.smallMs
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
			ms[k] = map[int][]float64{}
		}
		ms[k][r.Size] = append(ms[k][r.Size], float64(r.Recovery())/1e6)
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
			smallMs: stats.Median(bySize[lo]), largeMs: stats.Median(bySize[hi])})
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
			parts = append(parts, fmt.Sprintf("%s/%s %.0f→%.0f ms (%.2f×)", s.phase, s.target, s.smallMs, s.largeMs, s.ratio()))
		}
		fmt.Fprintf(&b, "; median recovery %d→%d pods: %s", sc[0].small, sc[0].large, strings.Join(parts, ", "))
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
			if s.ratio() > RecoveryScaling {
				over = append(over, fmt.Sprintf("%s/%s grows %.2f×", s.phase, s.target, s.ratio()))
			}
		}
		switch {
		case len(bad) > 0:
			o.Verdict, o.Reason = NotReproduced, fmt.Sprintf("%d crash cases of %s did not recover cleanly, first %s", len(bad), sys, bad[0])
		case len(sc) == 0:
			o.Verdict, o.Reason = NotRun, fmt.Sprintf("every %s crash case converged, but only one size was measured: scalability needs two", sys)
		case len(over) > 0:
			o.Verdict, o.Reason = NotReproduced, fmt.Sprintf("%s crash recovery grows more than %.0f× with size: %s", sys, RecoveryScaling, strings.Join(over, ", "))
		default:
			o.Reason = fmt.Sprintf("every %s crash case converged with no invariant broken, and median recovery grows at most %.0f× from %d to %d pods",
				sys, RecoveryScaling, sc[0].small, sc[0].large)
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
