package ae

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/kdbench/kdbench/collectors/results"
	"github.com/kdbench/kdbench/internal/stats"
	"github.com/kdbench/kdbench/metrics"
)

// Verdict is a claim's outcome.
type Verdict string

const (
	Reproduced    Verdict = "reproduced"
	NotReproduced Verdict = "not reproduced"
	NotRun        Verdict = "not run"
)

// Outcome is a claim's verdict, what was measured and why the verdict.
type Outcome struct {
	Verdict  Verdict
	Measured string
	Reason   string
}

// Claim is one claim of the papers as data: what it says, how kdbench
// measures it and the rule that decides the verdict.
type Claim struct {
	ID string
	// Figure is the paper's figure the claim rests on.
	Figure     string
	Paper      string
	PaperValue string
	// Rule says how the claim is measured and judged, for the report.
	Rule string
	// Figures are the measured figures' file names, without extension.
	Figures  []string
	Evaluate func(ev *Evidence, boot stats.BootstrapOptions) Outcome
}

// Thresholds of the verdicts, stated in each claim's Rule.
const (
	// UpscalingMin is the paper's smallest Kd-over-K8s speed-up.
	UpscalingMin = 3.7
	// KnativeFactor is the paper's scheduling-latency factor over Knative;
	// the claim holds within a factor of two of it.
	KnativeFactor = 26.7
	// DirigentParity is how much slower than Dirigent still counts as on par.
	DirigentParity = 1.2
	// dominantShare is the share of the p90 latency above which a part
	// dominates it.
	dominantShare = 0.5
)

// Claims are the papers' claims in the report's order.
var Claims = []Claim{
	{
		ID: "upscaling-kd-vs-k8s", Figure: "Fig 9",
		Paper:      "Kubedirect upscaling is 3.7× to 16.9× faster than Kubernetes",
		PaperValue: "3.7–16.9×",
		Rule: fmt.Sprintf("scale-pods, per size: k8s e2e p90 / kd e2e p90 (medians over measured repetitions, 95%% bootstrap CI). "+
			"Reproduced if, under the artifact QPS profile (the artifact's cluster settings), the CI lower bound is ≥ %.1f× at every measured size.", UpscalingMin),
		Figures:  []string{"fig9-scale-pods"},
		Evaluate: speedupClaim("kd", "k8s"),
	},
	{
		ID: "upscaling-kdplus-vs-k8splus", Figure: "Fig 9",
		Paper:      "the same holds with a 200 ms sandbox start-up (kd+ vs k8s+)",
		PaperValue: "3.7–16.9×",
		Rule: fmt.Sprintf("as above for k8s+ / kd+: reproduced if the CI lower bound is ≥ %.1f× at every size measured under the artifact QPS profile.",
			UpscalingMin),
		Figures:  []string{"fig9-scale-pods"},
		Evaluate: speedupClaim("kd+", "k8s+"),
	},
	{
		ID: "breakdown-message-passing", Figure: "Fig 9 (breakdown)",
		Paper:      "with Kubedirect, message passing is no longer the bottleneck of upscaling",
		PaperValue: "message passing dominant in K8s, not in Kd",
		Rule: "scale-pods p90 breakdown at the largest size measured for both systems (artifact QPS profile), kd+ vs k8s+ (else kd vs k8s): " +
			"message passing = deployment ctrl + ReplicaSet ctrl + scheduler stages, as a share of the p90 e2e latency (medians over repetitions). " +
			"Reproduced if the share is < 50% for Kubedirect and ≥ 50% for Kubernetes.",
		Figures:  []string{"fig9-scale-pods-breakdown"},
		Evaluate: breakdownClaim,
	},
	{
		ID: "knative-scheduling-latency", Figure: "Fig 12",
		Paper:      "Kubedirect gives 26.7× lower scheduling latency than Knative",
		PaperValue: "26.7×",
		Rule: fmt.Sprintf("azure-trace: median over functions of the per-function mean scheduling latency, kn-k8s / kn-kd (real Knative), "+
			"or kn-model / kn-model-kd (kdbench's modelled Knative front-end) when no real Knative result is given, 95%% bootstrap CI over functions. "+
			"Reproduced if the CI lower bound is ≥ %.1f× (within a factor of 2 of the paper's %.1f×).", KnativeFactor/2, KnativeFactor),
		Figures:  []string{"fig12-scheduling-latency", "fig12-slowdown"},
		Evaluate: knativeClaim,
	},
	{
		ID: "dirigent-parity", Figure: "Fig 13",
		Paper:      "Kubedirect is on par with Dirigent",
		PaperValue: "parity",
		Rule: fmt.Sprintf("azure-trace: median over functions of the per-function slowdown, dr-kd+ / dirigent, 95%% bootstrap CI over functions. "+
			"Reproduced if the CI upper bound is ≤ %.1f×.", DirigentParity),
		Figures:  []string{"fig13-scheduling-latency", "fig13-slowdown"},
		Evaluate: dirigentClaim,
	},
	{
		ID: "failure-recovery", Figure: "slides (failure recovery)",
		Paper:      "recovery stays cheap and scalable",
		PaperValue: "cheap, scalable recovery",
		Rule: fmt.Sprintf("failover, crash cases (SIGKILL and restart with empty state) of kd+ (else kd): "+
			"reproduced if every one converged to the desired Ready count with no invariant broken, and, per phase and target, "+
			"the fault's own cost grows at most %.0f× (plus %.0f ms of slack) from the smallest size to the largest: "+
			"the median recovery beyond the no-fault control (the same remaining work with no fault) and "+
			"the median time from the crash to the restarted hop ready with its links resynced (handshake and state transfer done). "+
			"Runs that recorded neither are judged on the median recovery (inject to converged). "+
			"k8s+ (else k8s) is reported beside it as the control.", RecoveryScaling, RecoverySlackMs),
		Figures:  []string{"failover-autoscaler", "failover-deployment", "failover-replicaset", "failover-scheduler", "failover-nodeagent"},
		Evaluate: failoverClaim,
	},
}

func notRun(reason string) Outcome { return Outcome{Verdict: NotRun, Reason: reason} }

// ClaimsProfile is the QPS profile the claims are judged under: the
// artifact's cluster settings (clusters/local.Profiles); results of an
// unknown profile ("") count too.
const ClaimsProfile = "artifact"

func isPaperProfile(profile string) bool { return profile == "" || profile == ClaimsProfile }

func sortedKeys(m map[sizeKey][]float64) []sizeKey {
	keys := make([]sizeKey, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b sizeKey) int {
		return cmp.Or(cmp.Compare(a.profile, b.profile), cmp.Compare(a.size, b.size))
	})
	return keys
}

var e2eP90 = results.Metric{Name: "e2e", Key: results.KeyPerc90}

func speedupClaim(fast, base string) func(*Evidence, stats.BootstrapOptions) Outcome {
	return func(ev *Evidence, boot stats.BootstrapOptions) Outcome {
		f, _, err := ev.burstValues("scale-pods", fast, e2eP90)
		if err != nil {
			return notRun(err.Error())
		}
		b, _, err := ev.burstValues("scale-pods", base, e2eP90)
		if err != nil {
			return notRun(err.Error())
		}
		var measured, short []string
		judged := 0
		for _, k := range sortedKeys(f) {
			if _, ok := b[k]; !ok {
				continue
			}
			iv, err := stats.BootstrapRatio(f[k], b[k], stats.Median, boot)
			if err != nil {
				return notRun(err.Error())
			}
			measured = append(measured, fmt.Sprintf("%s: %.2f× [%.2f, %.2f]", k, iv.Point, iv.Lo, iv.Hi))
			if !isPaperProfile(k.profile) {
				continue
			}
			judged++
			if iv.Lo < UpscalingMin {
				short = append(short, fmt.Sprintf("at %d pods the CI lower bound %.2f× is below %.1f×", k.size, iv.Lo, UpscalingMin))
			}
		}
		out := Outcome{Measured: strings.Join(measured, "; ")}
		switch {
		case len(measured) == 0:
			return notRun(fmt.Sprintf("no scale-pods size was measured on both %s and %s", fast, base))
		case judged == 0:
			out.Verdict, out.Reason = NotRun, "no size was measured under the artifact QPS profile, the claims' setting"
		case len(short) > 0:
			out.Verdict, out.Reason = NotReproduced, strings.Join(short, "; ")
		default:
			out.Verdict, out.Reason = Reproduced, fmt.Sprintf("the CI lower bound is ≥ %.1f× at all %d sizes", UpscalingMin, judged)
		}
		return out
	}
}

// messagePassing are the breakdown stages that are messages between
// controllers through the API server (or Kubedirect's links).
var messagePassing = []string{"deployment_ctrl", "replicaset_ctrl", "scheduler"}

// breakdownShares returns, per artifact-profile size, the message-passing
// share of system's p90 breakdown.
func breakdownShares(ev *Evidence, system string) (map[int]float64, error) {
	parts := map[string]map[sizeKey][]float64{}
	for _, stage := range results.BreakdownStages {
		v, _, err := ev.burstValues("scale-pods", system, results.Metric{Name: results.BreakdownPrefix + stage, Key: results.KeyPerc90})
		if err != nil {
			return nil, err
		}
		parts[stage] = v
	}
	out := map[int]float64{}
	for k := range parts["kubelet"] {
		if !isPaperProfile(k.profile) {
			continue
		}
		var mp, total float64
		for _, stage := range results.BreakdownStages {
			v := stats.Median(parts[stage][k])
			total += v
			if slices.Contains(messagePassing, stage) {
				mp += v
			}
		}
		if total > 0 {
			out[k.size] = mp / total
		}
	}
	return out, nil
}

func breakdownClaim(ev *Evidence, _ stats.BootstrapOptions) Outcome {
	var reasons []string
	for _, pair := range [][2]string{{"kd+", "k8s+"}, {"kd", "k8s"}} {
		kd, err := breakdownShares(ev, pair[0])
		if err != nil {
			reasons = append(reasons, err.Error())
			continue
		}
		k8s, err := breakdownShares(ev, pair[1])
		if err != nil {
			reasons = append(reasons, err.Error())
			continue
		}
		size := 0
		for s := range kd {
			if _, ok := k8s[s]; ok && s > size {
				size = s
			}
		}
		if size == 0 {
			reasons = append(reasons, fmt.Sprintf("no size measured under the artifact QPS profile on both %s and %s", pair[0], pair[1]))
			continue
		}
		a, b := kd[size], k8s[size]
		out := Outcome{Measured: fmt.Sprintf("%d pods: message passing is %.0f%% of the p90 latency in %s, %.0f%% in %s", size, 100*a, pair[0], 100*b, pair[1])}
		switch {
		case a >= dominantShare:
			out.Verdict, out.Reason = NotReproduced, fmt.Sprintf("message passing still dominates %s (≥ 50%%)", pair[0])
		case b < dominantShare:
			out.Verdict, out.Reason = NotReproduced, fmt.Sprintf("message passing does not dominate %s either, so there is no bottleneck for Kubedirect to remove here", pair[1])
		default:
			out.Verdict, out.Reason = Reproduced, fmt.Sprintf("it dominates %s and not %s", pair[1], pair[0])
		}
		return out
	}
	return notRun(strings.Join(reasons, "; "))
}

// traceRatio compares a per-function metric of two systems' trace runs,
// computed under ev.Rules: the median over num's functions divided by the
// median over den's.
func traceRatio(ev *Evidence, num, den string, metric metrics.Metric, boot stats.BootstrapOptions) (stats.Interval, string, error) {
	vals := map[string][]float64{}
	for _, sys := range []string{num, den} {
		src, ok := ev.Traces[sys]
		if !ok {
			return stats.Interval{}, "", fmt.Errorf("%s", ev.why("azure-trace", sys))
		}
		v := metrics.Compute(ev.Rules, src, ev.TraceWarmupMinutes)[metric].Values()
		if len(v) == 0 {
			return stats.Interval{}, "", fmt.Errorf("%s's trace results leave no function with a measured invocation under the %s rules (after %d warm-up minutes)", sys, ev.Rules.Name, src.WarmupOr(ev.TraceWarmupMinutes))
		}
		vals[sys] = v
	}
	iv, err := stats.BootstrapRatio(vals[den], vals[num], stats.Median, boot)
	if err != nil {
		return stats.Interval{}, "", err
	}
	return iv, fmt.Sprintf("%s/%s %.2f× [%.2f, %.2f] (medians %.4g / %.4g over %d / %d functions, %s rules)", num, den, iv.Point, iv.Lo, iv.Hi,
		stats.Median(vals[num]), stats.Median(vals[den]), len(vals[num]), len(vals[den]), ev.Rules.Name), nil
}

// knativeSystems are Fig 12's pairs, Knative over k8s and over kd: real
// Knative first (the artifact's results, or kdbench's once it runs it),
// then kdbench's model of its front-end.
var knativeSystems = [][2]string{{"kn-k8s", "kn-kd"}, {"kn-model", "kn-model-kd"}}

// knativePair is the first pair of knativeSystems with a trace result, else
// the first the pipeline tried (a step that left none explains why), else
// the real pair.
func knativePair(ev *Evidence) [2]string {
	for _, p := range knativeSystems {
		if ev.Traces[p[0]] != nil || ev.Traces[p[1]] != nil {
			return p
		}
	}
	for _, p := range knativeSystems {
		_, a := ev.Missing["azure-trace/"+p[0]]
		_, b := ev.Missing["azure-trace/"+p[1]]
		if a || b {
			return p
		}
	}
	return knativeSystems[0]
}

func knativeClaim(ev *Evidence, boot stats.BootstrapOptions) Outcome {
	pair := knativePair(ev)
	iv, measured, err := traceRatio(ev, pair[0], pair[1], metrics.SchedulingLatency, boot)
	if err != nil {
		return notRun(err.Error())
	}
	if pair != knativeSystems[0] {
		measured += "; kdbench's modelled Knative front-end, not real Knative"
	}
	out := Outcome{Measured: measured, Verdict: Reproduced,
		Reason: fmt.Sprintf("the CI lower bound %.2f× is ≥ %.1f×", iv.Lo, KnativeFactor/2)}
	if iv.Lo < KnativeFactor/2 {
		out.Verdict, out.Reason = NotReproduced, fmt.Sprintf("the CI lower bound %.2f× is below %.1f×", iv.Lo, KnativeFactor/2)
	}
	return out
}

func dirigentClaim(ev *Evidence, boot stats.BootstrapOptions) Outcome {
	iv, measured, err := traceRatio(ev, "dr-kd+", "dirigent", metrics.Slowdown, boot)
	if err != nil {
		return notRun(err.Error())
	}
	out := Outcome{Measured: measured, Verdict: Reproduced,
		Reason: fmt.Sprintf("the CI upper bound %.2f× is ≤ %.1f×", iv.Hi, DirigentParity)}
	if iv.Hi > DirigentParity {
		out.Verdict, out.Reason = NotReproduced, fmt.Sprintf("the CI upper bound %.2f× exceeds %.1f×", iv.Hi, DirigentParity)
	}
	return out
}
