package replay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/kdbench/kdbench/baselines"
	"github.com/kdbench/kdbench/clusters"
	"github.com/kdbench/kdbench/collectors/results"
	"github.com/kdbench/kdbench/internal/kubeclient"
	"github.com/kdbench/kdbench/metrics"
	"github.com/kdbench/kdbench/workloads/trace"
)

// ExperimentName is the paper's Fig 12 and Fig 13 experiment on the
// command line.
const ExperimentName = "azure-trace"

// FrontEnder is a system with a FaaS front-end (kn-model, kn-model-kd,
// dirigent, dr-k8s+, dr-kd+).
type FrontEnder interface {
	baselines.System
	StartFrontEnd(ctx context.Context, env baselines.Env, namespace string, functions []string) (FrontEnd, error)
}

// Experiment replays one trace on each system, each on a cluster of its own
// spec (systems with equal specs share one).
type Experiment struct {
	Provider clusters.Provider
	Base     clusters.Spec
	Systems  []baselines.System
	// TraceDir is a loader trace directory; if it has more than Functions
	// functions, a KS-matched sample of Functions is replayed.
	TraceDir  string
	Functions int
	// Minutes is the replayed clip (the loader's ExperimentDuration +
	// WarmupDuration); its first WarmupMinutes are phase 1 and excluded from
	// the metrics.
	Minutes, WarmupMinutes int
	Seed                   int64
	// Granularity is how long a trace column lasts (default a minute; a
	// second replays a clip 60× faster, for small-scale runs).
	Granularity trace.Granularity
	// ResultsRoot receives the run directory <ResultsRoot>/<time>-azure-trace.
	ResultsRoot string
	ClientQPS   float32
	// Formats of the CDF figures (none: no figures).
	Formats []string
	// Rules computes the summaries' metrics (zero: metrics.Artifact).
	Rules metrics.Rules
	Log   io.Writer
}

// Report is a finished experiment.
type Report struct {
	Dir       string
	Summaries []Summary
	Figures   []string
}

// Schedule loads, samples and expands the experiment's trace.
func (e Experiment) Schedule() (*trace.Schedule, error) {
	tr, err := trace.Load(e.TraceDir)
	if err != nil {
		return nil, err
	}
	switch n := len(tr.Functions); {
	case e.Functions <= 0 || n == e.Functions:
	case n < e.Functions:
		return nil, fmt.Errorf("trace %s has %d functions, fewer than the %d asked for", e.TraceDir, n, e.Functions)
	default:
		if tr, _, err = trace.Sample(tr, trace.SampleOptions{Functions: e.Functions, Seed: e.Seed, Minutes: e.Minutes}); err != nil {
			return nil, fmt.Errorf("sampling %d functions of %s: %w", e.Functions, e.TraceDir, err)
		}
	}
	opts := trace.DefaultOptions()
	opts.Minutes, opts.Seed = e.Minutes, e.Seed
	if e.Granularity != "" {
		opts.Granularity = e.Granularity
	}
	return trace.Generate(tr, opts)
}

// Run runs the experiment; the report lists what was measured even on error.
func (e Experiment) Run(ctx context.Context) (*Report, error) {
	if e.WarmupMinutes < 0 || e.WarmupMinutes >= e.Minutes {
		return nil, fmt.Errorf("%s: warm-up %d minutes must be within the %d-minute clip", ExperimentName, e.WarmupMinutes, e.Minutes)
	}
	var fes []FrontEnder
	for _, s := range e.Systems {
		fe, ok := s.(FrontEnder)
		if !ok {
			return nil, baselines.AsRefusal(fmt.Errorf("%s: system %s has no FaaS front-end (try kn-model, kn-model-kd, dirigent, dr-k8s+, dr-kd+)", ExperimentName, s.Name()))
		}
		fes = append(fes, fe)
	}
	sched, err := e.Schedule()
	if err != nil {
		return nil, err
	}
	groups := groupBySpec(e.Base, fes)
	// Every group's cluster is asked for before anything starts: a run
	// either gets what its systems ask or refuses with every reason.
	var refused error
	for i := range groups {
		spec, err := baselines.Honour(ctx, e.Provider, groups[i].spec, groups[i].baselines())
		refused = errors.Join(refused, err)
		groups[i].spec = spec
	}
	if refused != nil {
		return nil, fmt.Errorf("%s: %w", ExperimentName, refused)
	}
	rep := &Report{Dir: filepath.Join(e.ResultsRoot, time.Now().UTC().Format("20060102-150405")+"-"+ExperimentName)}
	if err := os.MkdirAll(rep.Dir, 0o755); err != nil {
		return nil, err
	}
	fmt.Fprintf(e.Log, "%s: %d functions, %d invocations over %d minutes (%d warm-up)\n",
		ExperimentName, len(sched.Functions), sched.Len(), e.Minutes, e.WarmupMinutes)
	var errs error
	for _, group := range groups {
		if err := e.runGroup(ctx, group, sched, rep); err != nil {
			errs = errors.Join(errs, err)
			if ctx.Err() != nil {
				break
			}
		}
	}
	errs = errors.Join(errs, WriteJSON(filepath.Join(rep.Dir, "summary.json"), rep.Summaries))
	if len(e.Formats) > 0 && len(rep.Summaries) > 0 {
		figs, ferr := DrawFigures(rep.Dir, rep.Summaries, e.Formats)
		rep.Figures = figs
		if ferr != nil {
			fmt.Fprintf(e.Log, "warning: figures: %v\n", ferr)
		}
	}
	return rep, errs
}

type specGroup struct {
	spec    clusters.Spec
	systems []FrontEnder
}

func (g specGroup) baselines() []baselines.System {
	out := make([]baselines.System, len(g.systems))
	for i, s := range g.systems {
		out[i] = s
	}
	return out
}

func groupBySpec(base clusters.Spec, systems []FrontEnder) []specGroup {
	var out []specGroup
next:
	for _, s := range systems {
		spec := s.Cluster(base)
		for i := range out {
			if out[i].spec == spec {
				out[i].systems = append(out[i].systems, s)
				continue next
			}
		}
		out = append(out, specGroup{spec: spec, systems: []FrontEnder{s}})
	}
	return out
}

func (e Experiment) runGroup(ctx context.Context, g specGroup, sched *trace.Schedule, rep *Report) (err error) {
	c, err := e.Provider.Up(ctx, g.spec)
	if err != nil && ctx.Err() == nil {
		// Nothing is measured yet and a failed Up leaves nothing running: a
		// start that failed on a loaded machine is worth one more try.
		fmt.Fprintf(e.Log, "cluster for %d nodes did not come up (%v); trying once more\n", g.spec.Nodes, err)
		c, err = e.Provider.Up(ctx, g.spec)
	}
	if err != nil {
		return fmt.Errorf("cluster for %d nodes, sandbox delay %s: %w", g.spec.Nodes, g.spec.SandboxDelay, err)
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if derr := e.Provider.Down(dctx, c.Name); derr != nil {
			err = errors.Join(err, fmt.Errorf("tearing down cluster %s: %w", c.Name, derr))
		}
	}()
	if err := baselines.Verify(g.spec, c, g.baselines()); err != nil {
		return err
	}
	fmt.Fprintf(e.Log, "cluster %s (%s): %d nodes, QPS profile %s (%s), sandbox delay %s\n", c.Name, c.Provider, c.Nodes, c.QPSProfile, c.QPSProfileSource, c.SandboxDelay)
	rc := *c.REST
	qps := e.ClientQPS
	if qps <= 0 {
		qps = 2000
	}
	rc.QPS, rc.Burst = qps, int(2*qps)
	cs, err := kubernetes.NewForConfig(kubeclient.Protobuf(&rc))
	if err != nil {
		return err
	}
	env := baselines.Env{Cluster: c, Client: cs, Logf: func(f string, a ...any) { fmt.Fprintf(e.Log, f+"\n", a...) }}
	var errs error
	for _, s := range g.systems {
		sum, err := e.runSystem(ctx, env, s, sched, rep.Dir)
		sum.Cluster = &results.ClusterFacts{Provider: c.Provider, Name: c.Name, Nodes: c.Nodes,
			QPSProfile: c.QPSProfile, QPSProfileSource: c.QPSProfileSource, SandboxDelay: c.SandboxDelay.String()}
		if sum.Issued > 0 {
			rep.Summaries = append(rep.Summaries, sum)
		}
		if err != nil {
			errs = errors.Join(errs, fmt.Errorf("%s: %w", s.Name(), err))
			if ctx.Err() != nil {
				return errs
			}
		}
	}
	return errs
}

func (e Experiment) runSystem(ctx context.Context, env baselines.Env, s FrontEnder, sched *trace.Schedule, dir string) (sum Summary, err error) {
	if err := s.Prepare(ctx, env); err != nil {
		return sum, fmt.Errorf("preparing: %w", err)
	}
	defer func() {
		// Real Knative's tear-down deletes and waits for a Service's
		// objects per function (over a minute for 100 on 2 cores), then
		// restarts the node agents and removes its network namespaces.
		tctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute+time.Duration(len(sched.Functions))*time.Second)
		defer cancel()
		if terr := s.Teardown(tctx, env); terr != nil {
			err = errors.Join(err, fmt.Errorf("tearing down: %w", terr))
		}
	}()
	return RunTrial(ctx, Trial{
		System: s, Env: env, Schedule: sched, WarmupMinutes: e.WarmupMinutes, Rules: e.Rules,
		Memory:    ProcessMemory(e.components(env, s)),
		Namespace: "kd-trace-" + baselines.Slug(s.Name()), Dir: dir, Log: e.Log,
		Start: func(ctx context.Context, ns string, fns []string) (FrontEnd, error) {
			return s.StartFrontEnd(ctx, env, ns, fns)
		},
	})
}

// components reads the resident set of the cluster's components (a
// provider that knows them) and of the system's own processes (kd's hops),
// nil if neither is known.
func (e Experiment) components(env baselines.Env, s baselines.System) ComponentRSS {
	p, cluster := e.Provider.(componentRSSer)
	own, system := s.(baselines.Processes)
	if !cluster && !system {
		return nil
	}
	return func() (map[string]uint64, error) {
		out := map[string]uint64{}
		if cluster {
			m, err := p.RSSBytes(env.Cluster.Name)
			if err != nil {
				return nil, err
			}
			maps.Copy(out, m)
		}
		if system {
			for name, pid := range own.Processes() {
				if rss, err := pidRSS(pid); err == nil { // exited meanwhile: not counted
					out[name] = rss
				}
			}
		}
		return out, nil
	}
}

// componentRSSer is a provider that knows its components' processes
// (clusters/local).
type componentRSSer interface {
	RSSBytes(cluster string) (map[string]uint64, error)
}

// WriteTable prints each system's per-function metrics and, for each pair
// FAST/BASE in pairs that both ran, the ratio of their median and p99
// per-function scheduling latency, then each real Knative system's
// cold-start breakdown.
func WriteTable(w io.Writer, sums []Summary, pairs [][2]string) {
	rules := metrics.Artifact.Name
	if len(sums) > 0 && sums[0].Rules != "" {
		rules = sums[0].Rules
	}
	fmt.Fprintf(w, "per-function metrics under the %s rules; percentiles over functions: %s\n", rules, metrics.PercentileRule)
	fmt.Fprintf(w, "%-12s %9s %9s %7s  %s\n", "system", "issued", "completed", "failed", "per-function scheduling latency ms p50/p99, slowdown p50/p99; harness peak RSS MiB, growth MiB/min")
	by := map[string]Summary{}
	for _, s := range sums {
		by[s.System] = s
		failed := 0
		for _, n := range s.Failed {
			failed += n
		}
		mem := "-"
		if m := s.Memory; m != nil {
			mem = fmt.Sprintf("%.0f, %+.2f", float64(m.PeakRSSBytes)/mib, m.RSSGrowthBytesPerMinute/mib)
		}
		fmt.Fprintf(w, "%-12s %9d %9d %7d  %.1f/%.1f, %.2f/%.2f; %s\n", s.System, s.Issued, s.Completed, failed,
			s.SchedulingLatencyMs.P50, s.SchedulingLatencyMs.P99, s.Slowdown.P50, s.Slowdown.P99, mem)
	}
	for _, p := range pairs {
		fast, okF := by[p[0]]
		base, okB := by[p[1]]
		if !okF || !okB || base.SchedulingLatencyMs.P50 == 0 || base.SchedulingLatencyMs.P99 == 0 {
			continue
		}
		fmt.Fprintf(w, "%s/%s per-function scheduling latency: median ratio %.2f, p99 ratio %.2f\n", p[0], p[1],
			fast.SchedulingLatencyMs.P50/base.SchedulingLatencyMs.P50, fast.SchedulingLatencyMs.P99/base.SchedulingLatencyMs.P99)
	}
	WriteColdStarts(w, sums)
}
