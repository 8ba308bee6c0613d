package failover

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kdbench/kdbench/baselines"
	"github.com/kdbench/kdbench/clusters"
	"github.com/kdbench/kdbench/collectors/results"
	"github.com/kdbench/kdbench/collectors/timeline"
	"github.com/kdbench/kdbench/internal/fault"
	"github.com/kdbench/kdbench/internal/kubeclient"
	"github.com/kdbench/kdbench/workloads/burst"
)

// ClusterExecutor runs the cases on real clusters: one cluster per system
// (per system and size with PodsPerNode), brought up by Provider from Base
// and torn down after its cases.
type ClusterExecutor struct {
	Provider clusters.Provider
	Base     clusters.Spec
	// PodsPerNode, if positive, scales the cluster with the case size:
	// ceil(size/PodsPerNode) nodes, a fresh cluster per size, so recovery is
	// measured against pods and nodes together. 0 keeps Base.Nodes.
	PodsPerNode int
	// Hold is how long a stall or a cut lasts (a crash restarts at once).
	Hold time.Duration
	// CaseTimeout bounds each wait of a case: for the burst's third, for
	// convergence after the fault, for the scale to zero.
	CaseTimeout time.Duration
	ClientQPS   float32
	Logf        func(format string, args ...any)
}

// Manifest parameters of a ClusterExecutor, restored on resume.
const (
	ParamNodes       = "nodes"
	ParamPodsPerNode = "podsPerNode"
	ParamQPSProfile  = "qpsProfile"
	ParamHold        = "hold"
	ParamCaseTimeout = "caseTimeout"
)

// Params records the settings a resumed run must keep.
func (e *ClusterExecutor) Params() map[string]string {
	p := map[string]string{ParamNodes: strconv.Itoa(e.Base.Nodes), ParamQPSProfile: e.Base.QPSProfile,
		ParamHold: e.Hold.String(), ParamCaseTimeout: e.CaseTimeout.String()}
	if e.PodsPerNode > 0 {
		p[ParamPodsPerNode] = strconv.Itoa(e.PodsPerNode)
	}
	return p
}

// PerSize implements PerSize: with PodsPerNode each size has its cluster.
func (e *ClusterExecutor) PerSize() bool { return e.PodsPerNode > 0 }

// nodes is the cluster size for cases of sizes.
func (e *ClusterExecutor) nodes(sizes []int) int {
	if e.PodsPerNode <= 0 || len(sizes) == 0 {
		return e.Base.Nodes
	}
	return NodesFor(slices.Max(sizes), e.PodsPerNode)
}

// NodesFor is the cluster a size gets at podsPerNode: ceil(size/podsPerNode)
// nodes, at least one.
func NodesFor(size, podsPerNode int) int {
	return max(1, (size+podsPerNode-1)/podsPerNode)
}

// SetParams restores the settings recorded by Params.
func (e *ClusterExecutor) SetParams(p map[string]string) error {
	var err error
	if v, ok := p[ParamNodes]; ok {
		if e.Base.Nodes, err = strconv.Atoi(v); err != nil {
			return fmt.Errorf("manifest parameter %s: %w", ParamNodes, err)
		}
	}
	if v, ok := p[ParamPodsPerNode]; ok {
		if e.PodsPerNode, err = strconv.Atoi(v); err != nil {
			return fmt.Errorf("manifest parameter %s: %w", ParamPodsPerNode, err)
		}
	}
	if v, ok := p[ParamQPSProfile]; ok {
		e.Base.QPSProfile = v
	}
	for key, d := range map[string]*time.Duration{ParamHold: &e.Hold, ParamCaseTimeout: &e.CaseTimeout} {
		if v, ok := p[key]; ok {
			if *d, err = time.ParseDuration(v); err != nil {
				return fmt.Errorf("manifest parameter %s: %w", key, err)
			}
		}
	}
	return nil
}

// spec is the cluster sys asks for, for cases of sizes. A provider that
// creates clusters gets one per system, so that each keeps its logs; one
// that attaches to a cluster keeps the name it was given (cloudlab finds
// its inventory by it).
func (e *ClusterExecutor) spec(sys baselines.System, sizes []int) clusters.Spec {
	base := e.Base
	base.Nodes = e.nodes(sizes)
	base.NodesExact = e.PodsPerNode > 0
	spec := sys.Cluster(base)
	if spec.Name != "" && clusters.CreatesClusters(e.Provider) {
		spec.Name = fmt.Sprintf("%s-%s", spec.Name, baselines.Slug(sys.Name()))
	}
	return spec
}

// Preflight implements Preflighter: before anything starts, each system's
// cluster must give what it asks (baselines.Honour), and each fault must be
// one the provider can inject; a fault the system lacks stays a skipped
// case. An empty QPS profile becomes the one the cluster runs, so that the
// manifest records it.
func (e *ClusterExecutor) Preflight(ctx context.Context, cases []Case) error {
	var errs error
	seen := map[string]bool{}
	for _, c := range cases {
		sys, err := baselines.Get(c.System)
		if err != nil {
			return err
		}
		sizes := []int{c.Size}
		if e.PodsPerNode <= 0 {
			sizes = nil // one cluster for every size
		}
		key := fmt.Sprintf("%s/%v", c.System, sizes)
		if !seen[key] {
			seen[key] = true
			spec, err := baselines.Honour(ctx, e.Provider, e.spec(sys, sizes), []baselines.System{sys})
			errs = errors.Join(errs, err)
			if err == nil && e.Base.QPSProfile == "" {
				e.Base.QPSProfile = spec.QPSProfile
			}
		}
		fault := fmt.Sprintf("%s/%s/%s", c.System, c.Target, c.Kind)
		if seen[fault] {
			continue
		}
		seen[fault] = true
		if _, err := injector(sys, e.Provider, site{spec: e.spec(sys, sizes)}, c); errors.As(err, new(ProviderCannot)) {
			errs = errors.Join(errs, baselines.AsRefusal(fmt.Errorf("failover %s %s refused: %w", c.Kind, c.Target, err)))
		}
	}
	return errs
}

// linkProxied is a system whose links can run through fault proxies (kd).
type linkProxied interface{ SetLinkProxies(bool) }

// Open brings up the system's cluster and prepares the system on it.
func (e *ClusterExecutor) Open(ctx context.Context, name string, sizes []int) (_ Session, err error) {
	sys, err := baselines.Get(name)
	if err != nil {
		return nil, err
	}
	if lp, ok := sys.(linkProxied); ok {
		lp.SetLinkProxies(true)
	}
	spec := e.spec(sys, sizes)
	if e.Logf != nil && e.PodsPerNode > 0 {
		e.Logf("%s: %d nodes for %v pods (%d pods per node)", name, spec.Nodes, sizes, e.PodsPerNode)
	}
	c, err := e.Provider.Up(ctx, spec)
	if err != nil {
		return nil, fmt.Errorf("cluster for %s: %w", name, err)
	}
	s := &clusterSession{e: e, sys: sys, cluster: c}
	defer func() {
		if err != nil {
			err = errors.Join(err, s.Close(context.WithoutCancel(ctx)))
		}
	}()
	if err := baselines.Verify(spec, c, []baselines.System{sys}); err != nil {
		return nil, err
	}
	rc := *c.REST
	qps := e.ClientQPS
	if qps <= 0 {
		qps = 2000
	}
	rc.QPS, rc.Burst = qps, int(2*qps)
	cs, err := kubernetes.NewForConfig(kubeclient.Protobuf(&rc))
	if err != nil {
		return nil, err
	}
	logf := e.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	s.env = baselines.Env{Cluster: c, Client: cs, Logf: logf}
	if err := sys.Prepare(ctx, s.env); err != nil {
		return nil, fmt.Errorf("preparing %s: %w", name, err)
	}
	s.prepared = true
	return s, nil
}

type clusterSession struct {
	e        *ClusterExecutor
	sys      baselines.System
	cluster  *clusters.Cluster
	env      baselines.Env
	prepared bool
}

func (s *clusterSession) Supports(c Case) error {
	_, err := injector(s.sys, s.e.Provider, site{cluster: s.cluster}, c)
	return err
}

func (s *clusterSession) Close(ctx context.Context) error {
	var err error
	if s.prepared {
		err = s.sys.Teardown(ctx, s.env)
	}
	return errors.Join(err, s.e.Provider.Down(ctx, s.cluster.Name))
}

// nodeAgent is the base URL of the node agent that runs the system's pods.
func (s *clusterSession) nodeAgent() string {
	if o, ok := s.sys.(baselines.Observable); ok && o.NodeAgent() != "" {
		return o.NodeAgent()
	}
	return s.cluster.Endpoints["nodeagent"]
}

// namespace gives each case a namespace of its own (at most 63 characters).
func namespace(c Case) string {
	sys := baselines.Slug(c.System)
	ns := fmt.Sprintf("fo-%s-%d-%s-%s-%s-r%d", sys, c.Size, c.Phase, c.Target, c.Kind, c.Rep)
	return strings.ToLower(ns[:min(len(ns), 63)])
}

const function = "fn"

// Run is one case: a Deployment at zero, the pods watched by a Checker;
// burst: scale 0 → size and inject once a third of the pods exist; steady:
// inject with size pods Ready, then scale to size/2. Recovery runs from
// just before the injection until the checker sees exactly the desired
// Ready pods. Then scale to zero: pods left in the API server, or still
// tracked by the node agent, are leaks.
func (s *clusterSession) Run(ctx context.Context, c Case) (row Row, err error) {
	f, err := injector(s.sys, s.e.Provider, site{cluster: s.cluster}, c)
	if err != nil {
		return row, err
	}
	limit := s.e.CaseTimeout
	if limit <= 0 {
		limit = 5 * time.Minute
	}
	ns := namespace(c)
	cs := s.env.Client
	var decorate func(*appsv1.Deployment)
	if d, ok := s.sys.(baselines.DeploymentDecorator); ok {
		decorate = d.DecorateDeployment
	}
	if err := burst.Prepare(ctx, cs, ns, []string{function}, decorate); err != nil {
		return row, err
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Minute)
		defer cancel()
		if derr := deleteNamespace(dctx, cs, ns); derr != nil {
			err = errors.Join(err, derr)
		}
	}()

	// One watch of the case's pods: the checker's invariants, and each
	// pod's node and milestones for <case>_pods.csv (which host served it).
	chk := NewChecker(time.Now)
	col := timeline.New(cs, ns, nil, nil)
	defer col.Stop()
	if err := col.AddPodHandler(chk); err != nil {
		return row, err
	}
	if err := col.Start(ctx); err != nil {
		return row, fmt.Errorf("%s: %w", ns, err)
	}
	defer func() { row.Pods = col.Records(results.RepID{System: c.System, Size: c.Size, Rep: c.Rep}, "failover") }()

	// wait waits for the count set last with chk.Want.
	wait := func(want int) (time.Time, []Violation) {
		wctx, cancel := context.WithTimeout(ctx, limit)
		defer cancel()
		at, vs := chk.WaitConverged(wctx.Done())
		if at.IsZero() && ctx.Err() == nil {
			vs = append([]Violation{{Timeout, fmt.Sprintf("not converged to %d Ready pods within %s", want, limit)}}, vs...)
		}
		return at, vs
	}
	scale := func(n int) error { return s.sys.Scale(ctx, s.env, ns, function, int32(n)) }
	ls, linked := s.sys.(linkScaler)
	if linked = linked && overLink(c); linked {
		scale = func(n int) error { return ls.ScaleOverLink(ctx, s.env, ns, function, int32(n)) }
	}

	agentURL := s.nodeAgent()
	orphans := 0.0 // the agent's count before the case (unknown: 0)
	if agentURL != "" {
		orphans, _ = agentMetric(ctx, agentURL, agentOrphansMetric)
	}

	want := c.Size
	if err := col.MarkBurstStart(time.Now(), map[string]int32{function: int32(c.Size)}); err != nil {
		return row, err
	}
	if err := scale(c.Size); err != nil {
		return row, err
	}
	switch c.Phase {
	case Burst:
		wctx, cancel := context.WithTimeout(ctx, limit)
		ok := chk.WaitFor(wctx.Done(), func(n int) bool { return n >= c.Size/3 })
		cancel()
		if !ok {
			return row, errors.Join(ctx.Err(), fmt.Errorf("%s: fewer than %d pods within %s", ns, c.Size/3, limit))
		}
	case Steady:
		chk.Want(c.Size)
		if at, vs := wait(c.Size); at.IsZero() {
			return row, errors.Join(ctx.Err(), fmt.Errorf("%s: no steady state before the fault: %s", ns, FormatViolations(vs)))
		}
		want = c.Size / 2
	}

	hold := s.e.Hold
	if c.Kind == Crash {
		hold = 0 // the restart is the fault
	}
	// Wanted from the fault on, the count is stamped by the event that
	// reaches it, even if that happens while a cut or stall lasts (or at
	// once, if the burst outran the fault: recovery ≈ 0).
	injected := time.Now()
	chk.Want(want)
	tl, err := fault.Run(ctx, f, hold)
	if err != nil {
		return row, err
	}
	row.Recovered = tl.Recovered.UnixNano()
	if c.Kind == Crash {
		// A crash's Inject kills, restarts and returns once the process is
		// ready again (kd: its downstream links resynced).
		row.Resynced = tl.Injected.UnixNano()
	}
	// Steady: the scale change that must converge. A restarted autoscaler
	// decides again, with no record of what it asked for.
	if c.Phase == Steady || c.Target == Autoscaler {
		if err := scale(want); err != nil {
			return row, err
		}
	}
	converged, vs := wait(want)
	row.Injected = injected.UnixNano()
	if !converged.IsZero() {
		row.Converged = converged.UnixNano()
	}
	if ctx.Err() != nil {
		return row, ctx.Err()
	}

	chk.Want(0)
	if err := scale(0); err != nil {
		return row, err
	}
	if at, _ := wait(0); at.IsZero() && ctx.Err() == nil {
		vs = append(vs, chk.Leaked()...)
	} else if agentURL != "" {
		leak, lerr := agentLeak(ctx, agentURL, 10*time.Second)
		if lerr != nil {
			s.env.Logf("warning: %s: cannot tell whether the node agent leaked pods: %v", c, lerr)
		}
		vs = append(vs, leak...)
		// Not a violation (nothing is left), but the race behind it is news.
		row.Detail = orphansSince(ctx, agentURL, orphans)
	}
	row.Violations = append(chk.Violations(), vs...)
	if linked {
		row.Detail = strings.TrimPrefix(row.Detail+"; "+LinkScaledNote, "; ")
	}
	return row, ctx.Err()
}

// deleteNamespace deletes ns and waits until it is gone, so the next case
// does not compete with this one's deletions.
func deleteNamespace(ctx context.Context, cs kubernetes.Interface, ns string) error {
	if err := cs.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); apierrors.IsNotFound(err) {
		return nil
	} else if err != nil {
		return fmt.Errorf("deleting namespace %s: %w", ns, err)
	}
	for {
		if _, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); apierrors.IsNotFound(err) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("namespace %s still terminating: %w", ns, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}
