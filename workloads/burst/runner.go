package burst

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/clock"

	"github.com/kdbench/kdbench/baselines"
	"github.com/kdbench/kdbench/clusters"
	"github.com/kdbench/kdbench/collectors/results"
	"github.com/kdbench/kdbench/collectors/scrape"
	"github.com/kdbench/kdbench/collectors/selfcheck"
	"github.com/kdbench/kdbench/collectors/timeline"
	"github.com/kdbench/kdbench/internal/kubeclient"
	"github.com/kdbench/kdbench/internal/progress"
	"github.com/kdbench/kdbench/workloads/floor"
)

// Config is one `kdbench run` of a burst experiment.
type Config struct {
	Shape       Shape
	Systems     []baselines.System
	Sizes       []int
	Reps        int
	Warmups     int
	QPSProfiles []string
	// Base is the cluster the user asked for; systems and shapes adjust it.
	Base     clusters.Spec
	Provider clusters.Provider
	// ResultsRoot holds the run directory.
	ResultsRoot string
	// Settle is the quiet time between preparing a burst and starting it.
	Settle time.Duration
	// RepTimeout bounds one burst, from the scale requests to the last Ready.
	RepTimeout time.Duration
	// ClientQPS is the harness client's rate limit: high, so that the harness
	// is not what throttles (the throttle self-check says if it was).
	ClientQPS float32
	// Floor measures this machine's floor (workloads/floor) at every size
	// and QPS profile, recorded as system floor.System beside the systems.
	Floor bool
	// FloorConcurrency are the concurrencies the floor tries (default
	// floor.DefaultConcurrency).
	FloorConcurrency []int
	// Log receives progress; the result table is not written here.
	Log io.Writer
}

func (c *Config) validate() error {
	if len(c.Systems) == 0 {
		return errors.New("no system to run")
	}
	for _, s := range c.Systems {
		if p, ok := s.(baselines.Podless); ok && p.Podless() {
			return baselines.AsRefusal(fmt.Errorf("system %s runs no Kubernetes pods, so its bursts cannot be timed (run it with azure-trace, or Dirigent's cold-start benchmark)", s.Name()))
		}
	}
	if len(c.Sizes) == 0 {
		c.Sizes = c.Shape.DefaultSizes
	}
	for _, s := range c.Sizes {
		if s <= 0 {
			return fmt.Errorf("size %d: sizes must be positive", s)
		}
	}
	if c.Reps < 1 {
		return fmt.Errorf("--reps %d: at least one measured repetition", c.Reps)
	}
	if c.Warmups < 0 {
		return fmt.Errorf("--warmup %d: must not be negative", c.Warmups)
	}
	if len(c.QPSProfiles) == 0 {
		c.QPSProfiles = []string{"default"}
	}
	if c.RepTimeout <= 0 {
		c.RepTimeout = 10 * time.Minute
	}
	if c.ClientQPS <= 0 {
		c.ClientQPS = 2000
	}
	if c.Log == nil {
		c.Log = io.Discard
	}
	return nil
}

// job is every repetition of one system at one size on one cluster.
type job struct {
	system baselines.System
	size   int
	plan   Plan
}

// group is the jobs that share one cluster.
type group struct {
	spec clusters.Spec
	jobs []job
}

// groups orders the work so that each distinct cluster is brought up once.
func (c *Config) groups() []group {
	var out []group
	index := map[string]int{}
	for _, prof := range c.QPSProfiles {
		for _, sys := range c.Systems {
			for _, size := range c.Sizes {
				plan := c.Shape.Plan(size)
				spec := c.Base
				spec.QPSProfile = prof
				if plan.Nodes > 0 {
					spec.Nodes, spec.NodesExact = plan.Nodes, true
				}
				spec = sys.Cluster(spec)
				key := fmt.Sprintf("%s/%d/%s", spec.QPSProfile, spec.Nodes, spec.SandboxDelay)
				i, ok := index[key]
				if !ok {
					i = len(out)
					index[key] = i
					// A cluster of its own name per group keeps each group's
					// logs after the run instead of wiping them with the next.
					// A provider that does not create clusters has one, under
					// the name it was given (cloudlab finds its inventory by it).
					if spec.Name != "" && clusters.CreatesClusters(c.Provider) {
						spec.Name = fmt.Sprintf("%s-%d", spec.Name, i+1)
					}
					out = append(out, group{spec: spec})
				}
				out[i].jobs = append(out[i].jobs, job{system: sys, size: size, plan: plan})
			}
		}
	}
	return out
}

// systems are the group's distinct systems.
func (g group) systems() []baselines.System {
	var out []baselines.System
	seen := map[string]bool{}
	for _, j := range g.jobs {
		if !seen[j.system.Name()] {
			seen[j.system.Name()] = true
			out = append(out, j.system)
		}
	}
	return out
}

// honour asks the provider for every group's cluster before anything
// starts: a run either gets what each system asks or refuses with every
// reason at once. It returns the groups with their specs completed (an
// existing cluster's QPS profile, read from it) and the QPS profiles the
// run covers.
func (c *Config) honour(ctx context.Context) ([]group, []string, error) {
	groups := c.groups()
	var errs error
	var profiles []string
	for i := range groups {
		spec, err := baselines.Honour(ctx, c.Provider, groups[i].spec, groups[i].systems())
		if err != nil {
			errs = errors.Join(errs, err)
			continue
		}
		groups[i].spec = spec
		if !slices.Contains(profiles, spec.QPSProfile) {
			profiles = append(profiles, spec.QPSProfile)
		}
	}
	return groups, profiles, errs
}

// Run runs the experiment and returns its results directory, which holds
// whatever was measured even when Run fails or is interrupted.
func Run(ctx context.Context, cfg Config) (*results.Run, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	names := make([]string, len(cfg.Systems))
	for i, s := range cfg.Systems {
		names[i] = s.Name()
	}
	groups, profiles, err := cfg.honour(ctx)
	if err != nil {
		return nil, err
	}
	if cfg.Floor {
		names = append(names, floor.System)
	}
	run, err := results.Create(cfg.ResultsRoot, results.Manifest{
		Experiment: cfg.Shape.Name, SizeUnit: cfg.Shape.SizeUnit, Systems: names, Sizes: cfg.Sizes,
		QPSProfiles: profiles, Reps: cfg.Reps, WarmupReps: cfg.Warmups,
		Params: map[string]string{
			"settle": cfg.Settle.String(), "repTimeout": cfg.RepTimeout.String(),
			"harnessClientQPS": strconv.FormatFloat(float64(cfg.ClientQPS), 'f', -1, 32),
			"podsPerNode":      strconv.Itoa(PodsPerNode),
		},
	})
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(cfg.Log, "results: %s\n", run.Dir)
	var runErr error
	floors := map[floorKey]bool{}
	for _, g := range groups {
		if err := runGroup(ctx, cfg, run, g, floors); err != nil {
			runErr = errors.Join(runErr, err)
			if ctx.Err() != nil {
				break
			}
		}
	}
	if err := run.Finish(runErr); err != nil {
		return run, errors.Join(runErr, err)
	}
	return run, runErr
}

func runGroup(ctx context.Context, cfg Config, run *results.Run, g group, floors map[floorKey]bool) (err error) {
	c, err := cfg.Provider.Up(ctx, g.spec)
	if err != nil {
		return fmt.Errorf("cluster for %s profile, %d nodes, sandbox delay %s: %w", g.spec.QPSProfile, g.spec.Nodes, g.spec.SandboxDelay, err)
	}
	defer func() {
		// Tear down even after Ctrl-C, with a context of its own.
		dctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if derr := cfg.Provider.Down(dctx, c.Name); derr != nil {
			err = errors.Join(err, fmt.Errorf("tearing down cluster %s: %w", c.Name, derr))
		}
	}()
	if err := baselines.Verify(g.spec, c, g.systems()); err != nil {
		return err
	}
	if err := run.UpdateManifest(func(m *results.Manifest) {
		m.Clusters = append(m.Clusters, results.ClusterFacts{
			Provider: c.Provider, Name: c.Name, Nodes: c.Nodes, QPSProfile: c.QPSProfile, QPSProfileSource: c.QPSProfileSource,
			SandboxDelay: c.SandboxDelay.String(), Components: c.Components, Flags: c.Flags,
		})
	}); err != nil {
		return err
	}
	rc := *c.REST
	rc.QPS, rc.Burst = cfg.ClientQPS, int(2*cfg.ClientQPS)
	cs, err := kubernetes.NewForConfig(kubeclient.Protobuf(&rc))
	if err != nil {
		return err
	}
	env := baselines.Env{Cluster: c, Client: cs, Logf: func(f string, a ...any) { fmt.Fprintf(cfg.Log, f+"\n", a...) }}
	var errs error
	if cfg.Floor {
		if ferr := runFloors(ctx, cfg, run, c, g, floors); ferr != nil {
			errs = errors.Join(errs, ferr)
			if ctx.Err() != nil {
				return errs
			}
		}
	}
	prepared := map[string]bool{}
	for _, j := range g.jobs {
		if !prepared[j.system.Name()] {
			if err := j.system.Prepare(ctx, env); err != nil {
				return fmt.Errorf("preparing %s: %w", j.system.Name(), err)
			}
			prepared[j.system.Name()] = true
			defer func(s baselines.System) {
				tctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				if terr := s.Teardown(tctx, env); terr != nil {
					err = errors.Join(err, fmt.Errorf("tearing down %s: %w", s.Name(), terr))
				}
			}(j.system)
		}
		for rep := 0; rep < cfg.Warmups+cfg.Reps; rep++ {
			id := results.RepID{System: j.system.Name(), QPSProfile: g.spec.QPSProfile, Size: j.size, Rep: rep, Warmup: rep < cfg.Warmups}
			if err := runRep(ctx, cfg, run, env, j, id); err != nil {
				errs = errors.Join(errs, fmt.Errorf("%s: %w", id, err))
				if ctx.Err() != nil {
					return errs
				}
			}
		}
	}
	return errs
}

// namespaceFor gives each repetition a namespace of its own.
func namespaceFor(exp string, id results.RepID) string {
	sys := baselines.Slug(id.System)
	return fmt.Sprintf("kd-%s-%s-%s-%d-r%d", exp, sys, id.QPSProfile, id.Size, id.Rep)
}

// runRep is one repetition in ClusterLoader2's phases: prepare (Deployments
// at zero, cluster quiet), measure (scale, collect), clean up. Whatever it
// measured is kept, and the repetition is marked ok or failed.
func runRep(ctx context.Context, cfg Config, run *results.Run, env baselines.Env, j job, id results.RepID) (err error) {
	ns := namespaceFor(cfg.Shape.Name, id)
	fns := functionNames(j.plan.Functions)
	defer func() {
		cause := err
		state := results.RepOK
		if cause != nil {
			state = results.RepFailed
		}
		scrape.RepsTotal.WithLabelValues(id.System, string(state)).Inc()
		if merr := run.MarkRep(id, state, cause); merr != nil {
			err = errors.Join(err, merr)
		}
		dctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		// After Ctrl-C, ask for the deletion but do not wait for it: the
		// user wants the prompt back, and the cluster goes down anyway.
		if derr := deleteNamespace(dctx, env.Client, ns, ctx.Err() == nil); derr != nil {
			err = errors.Join(err, derr)
		}
	}()

	var decorate func(*appsv1.Deployment)
	if d, ok := j.system.(baselines.DeploymentDecorator); ok {
		decorate = d.DecorateDeployment
	}
	if err := Prepare(ctx, env.Client, ns, fns, decorate); err != nil {
		return err
	}
	if err := sleepCtx(ctx, cfg.Settle); err != nil {
		return err
	}
	observed, agentURL := observe(env.Cluster, j.system)
	if err := scrape.ScrapeInto(ctx, run, id, "before", observed); err != nil {
		fmt.Fprintf(cfg.Log, "warning: %v\n", err)
	}
	sel := labels.SelectorFromSet(labels.Set{}) // every pod; the namespace is the repetition's own
	col := timeline.New(env.Client, ns, sel, clock.RealClock{})
	col.OnReady(scrape.PodReadyObserver(id.System))
	if err := col.Start(ctx); err != nil {
		return err
	}
	defer col.Stop()

	targets := make(map[string]int32, len(fns))
	for _, fn := range fns {
		targets[fn] = j.plan.Replicas
	}
	throttle := selfcheck.StartThrottleWindow()
	start := time.Now()
	if err := col.MarkBurstStart(start, targets); err != nil {
		return err
	}
	errc := make(chan error, len(fns))
	for _, fn := range fns {
		go func(fn string) { errc <- j.system.Scale(ctx, env, ns, fn, j.plan.Replicas) }(fn)
	}
	var scaleErr error
	for range fns {
		scaleErr = errors.Join(scaleErr, <-errc)
	}
	want := j.plan.Pods()
	bar := progress.New(cfg.Log, id.String(), want)
	var waitErr error
	if scaleErr == nil {
		wctx, cancel := context.WithTimeout(ctx, cfg.RepTimeout)
		wctx, stop := stopOnDeath(wctx, j.system)
		waitErr = col.WaitReady(wctx, want, func(ready, _ int) { bar.Set(ready) })
		stop()
		cancel()
	}
	bar.Finish()

	records := col.Records(id, cfg.Shape.Name)
	var hops map[string][]byte
	if o, ok := j.system.(baselines.Observable); ok {
		var herr error
		hops, herr = FetchHops(ctx, o.Endpoints(), start)
		if herr != nil {
			fmt.Fprintf(cfg.Log, "warning: %v\n", herr)
		}
		if n, oerr := OverlayHops(records, hops); oerr != nil {
			fmt.Fprintf(cfg.Log, "warning: %v\n", oerr)
		} else if n > 0 && n < len(records) {
			fmt.Fprintf(cfg.Log, "warning: link timestamps for %d of %d pods; the others keep API-side milestones\n", n, len(records))
		}
		if serr := saveHops(run, id, hops); serr != nil {
			fmt.Fprintf(cfg.Log, "warning: %v\n", serr)
		}
	}
	if aerr := run.AppendPods(id, records); aerr != nil {
		return errors.Join(scaleErr, waitErr, aerr)
	}
	checks := []results.SelfCheck{throttle.Check(id)}
	checks = append(checks, selfcheck.Dropped(ctx, env.Client, ns, col, id)...)
	if agentURL != "" {
		timings, terr := selfcheck.FetchNodeAgentTimings(ctx, agentURL, start)
		if terr == nil {
			checks = append(checks, selfcheck.WatchLag(id, records, timings)...)
			checks = append(checks, selfcheck.NodeAgentLag(id, timings, env.Cluster.SandboxDelay)...)
			if len(hops) > 0 {
				writeHopBreakdown(cfg, run, id, records, hops, timings)
			}
		} else {
			fmt.Fprintf(cfg.Log, "warning: node agent timings: %v\n", terr)
		}
	}
	if cerr := run.AddSelfChecks(checks...); cerr != nil {
		return cerr
	}
	for _, c := range checks {
		if c.Verdict == results.VerdictWarn {
			fmt.Fprintf(cfg.Log, "harness warning: %s\n", c)
		}
	}
	if err := scrape.ScrapeInto(ctx, run, id, "after", observed); err != nil {
		fmt.Fprintf(cfg.Log, "warning: %v\n", err)
	}
	if scaleErr != nil || waitErr != nil {
		return errors.Join(scaleErr, waitErr)
	}
	lat := make([]time.Duration, 0, len(records))
	for _, r := range records {
		if r.Ready > 0 {
			lat = append(lat, time.Duration(r.Ready-r.BurstStart))
		}
	}
	sortDurations(lat)
	scrape.BurstSeconds.WithLabelValues(id.System).Observe(lat[len(lat)-1].Seconds())
	fmt.Fprintf(cfg.Log, "%s: %d pods Ready, p50 %s p90 %s max %s\n", id, len(lat),
		Percentile(lat, .5).Round(time.Millisecond), Percentile(lat, .9).Round(time.Millisecond), lat[len(lat)-1].Round(time.Millisecond))
	return nil
}

// observe returns the cluster as the collectors should see it — with the
// system's own components added to the scraped endpoints — and the node
// agent that ran the system's pods.
func observe(c *clusters.Cluster, sys baselines.System) (*clusters.Cluster, string) {
	o, ok := sys.(baselines.Observable)
	if !ok {
		return c, c.Endpoints["nodeagent"]
	}
	cc := *c
	cc.Endpoints = map[string]string{}
	for k, v := range c.Endpoints {
		cc.Endpoints[k] = v
	}
	for k, v := range o.Endpoints() {
		cc.Endpoints[k] = v
	}
	agent := o.NodeAgent()
	if agent == "" {
		agent = c.Endpoints["nodeagent"]
	}
	return &cc, agent
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
