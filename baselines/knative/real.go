package knative

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"k8s.io/client-go/dynamic"

	"github.com/kdbench/kdbench/baselines"
	"github.com/kdbench/kdbench/baselines/knative/serving"
	"github.com/kdbench/kdbench/clusters"
	"github.com/kdbench/kdbench/clusters/local"
	"github.com/kdbench/kdbench/workloads/replay"
)

// The real Knative systems' names, over k8s and over kd.
const (
	RealK8s = "kn-k8s"
	RealKd  = "kn-kd"
)

// nodeAgent is the cluster component whose sandboxes serve Knative's pods.
const nodeAgent = "nodeagent"

// Real is real Knative Serving 1.15 (baselines/knative/serving: its
// controller, autoscaler and activator) over an inner cluster manager, on
// the local cluster. Prepare installs Serving and restarts the cluster's
// node agent serving each Knative pod's queue-proxy at the pod's IP inside
// Serving's pods namespace (--function-sandboxes --pod-netns); the trace
// replay's front-end makes a Knative Service per function and sends every
// invocation to the real activator. As baselines.System (the bursts) it
// behaves as its inner system: Scale sets the Deployment's replicas
// directly, Knative installed but idle.
type Real struct {
	name  string
	inner baselines.System

	mu         sync.Mutex
	serving    *serving.Serving
	reconf     clusters.Reconfigurer
	agentHosts []clusters.Host
	agentFlags []string
	routes     *podRoutes // on a multi-host cluster
	onCluster  *installed // the cluster's own Knative (installed.go)
	namespaces []string
	services   int // Knative Services the front-ends made
}

var (
	_ baselines.Observable  = (*Real)(nil)
	_ baselines.Processes   = (*Real)(nil)
	_ replay.FrontEnder     = (*Real)(nil)
	_ replay.Describer      = (*Real)(nil)
	_ replay.ColdStartTimer = (*Real)(nil)
)

// NewReal wraps inner under name.
func NewReal(name string, inner baselines.System) *Real { return &Real{name: name, inner: inner} }

func (s *Real) Name() string                             { return s.name }
func (s *Real) Inner() baselines.System                  { return s.inner }
func (s *Real) Cluster(spec clusters.Spec) clusters.Spec { return s.inner.Cluster(spec) }
func (s *Real) Stages() []string                         { return s.inner.Stages() }

func (s *Real) Scale(ctx context.Context, env baselines.Env, namespace, function string, replicas int32) error {
	return s.inner.Scale(ctx, env, namespace, function, replicas)
}

// RefuseProvider refuses clusters real Knative cannot run on here
// (baselines.ProviderBound). kdbench runs Knative's components itself on
// the local cluster and on a multi-host process control plane (`cluster
// up --provider cloudlab --control-plane processes`, attached with
// cloudlab or existing): its components on the control-plane host, its
// queue-proxies on every worker's agent. On any other cluster (kubeadm)
// kn-k8s drives the cluster's own Knative, which Prepare checks
// (installed.go); kn-kd is refused there, as kd is. The providers'
// CrashRefusal says of a cluster whether its components are kdbench's
// processes.
func (s *Real) RefuseProvider(p clusters.Provider, spec clusters.Spec) error {
	if p.Name() == local.ProviderName {
		return nil
	}
	why := "it does not run the cluster's control plane and node agents"
	if r, ok := p.(processPlane); ok {
		if why = r.CrashRefusal(spec); why == "" {
			return nil
		}
	}
	if s.name == RealKd {
		return errors.New(RealNeedsProcesses(s.name, p.Name(), why))
	}
	return nil
}

// processPlane is a provider that tells whether the cluster of spec is
// made of kdbench's own processes ("" when it is; else why not).
type processPlane interface {
	CrashRefusal(spec clusters.Spec) string
}

// RealNeedsProcesses is why kn-k8s and kn-kd refuse a cluster of provider
// that is not made of kdbench's own processes (a kubeadm cluster).
func RealNeedsProcesses(name, provider, why string) string {
	return fmt.Sprintf("%s runs real Knative Serving only on clusters of kdbench's own processes: the local one, or a multi-host `cluster up --provider cloudlab --control-plane processes` "+
		"(Knative's controller, autoscaler and activator on the control-plane host, the queue-proxies on each worker's node agent); this %s cluster is not one: %s. "+
		"Where a cluster runs Knative Serving 1.15 itself (the CloudLab bootstrap's, on kubeadm), kn-k8s drives that instead; kn-kd cannot: its revisions' pods need Kubedirect's direct mode on the nodes, which real kubelets lack (the artifact ran its own kubelet): use %s there",
		name, provider, why, modelOf(name))
}

func modelOf(name string) string {
	if name == RealKd {
		return ModelKd
	}
	return ModelK8s
}

// Prepare installs Serving, restarts the node agents serving Knative pods,
// then prepares the inner system; every restart of a node agent the inner
// system asks for keeps those flags. On the local cluster the components
// and the pods' addresses live in network namespaces of this machine; on a
// multi-host cluster the components run on the control-plane host and
// each worker's agent serves its pods in the host's own namespace, where
// routes made here put its pod range (routes.go).
func (s *Real) Prepare(ctx context.Context, env baselines.Env) (err error) {
	c := env.Cluster
	if c == nil {
		return fmt.Errorf("%s: no cluster", s.name)
	}
	s.mu.Lock()
	s.onCluster = nil // kept after Teardown for FrontEndFacts
	s.mu.Unlock()
	if c.Provider != local.ProviderName {
		if done, err := s.prepareInstalled(ctx, env); done || err != nil {
			return err
		}
	}
	if c.Reconfigurer == nil {
		why := c.ReconfigureRefusal
		if why == "" {
			why = "it has no Reconfigurer"
		}
		return baselines.AsRefusal(fmt.Errorf("%s: cluster %q (provider %s) cannot restart its node agents, which must serve Knative's pods: %s", s.name, c.Name, c.Provider, why))
	}
	opts := serving.Options{Logf: env.Logf}
	var admin clusters.HostAdmin
	if c.Provider != local.ProviderName {
		var ok bool
		if admin, ok = c.Reconfigurer.(clusters.HostAdmin); !ok || c.Placer == nil {
			return baselines.AsRefusal(errors.New(RealNeedsProcesses(s.name, c.Provider,
				fmt.Sprintf("cluster %q cannot place Knative's components on its control-plane host and route pod addresses to its worker hosts", c.Name))))
		}
		cp, err := clusters.ControlPlaneHost(c.Placer)
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		opts.Placement = &serving.Placement{Placer: c.Placer, Admin: admin, Host: cp}
	}
	hosts := agentHosts(c)
	s.mu.Lock()
	s.reconf = c.Reconfigurer
	s.mu.Unlock()
	defer func() {
		if err != nil {
			err = errors.Join(err, s.restore(context.Background()))
		}
	}()
	if admin != nil {
		rt := &podRoutes{admin: admin, cp: opts.Placement.Host}
		s.mu.Lock()
		s.routes = rt
		s.mu.Unlock()
		if err := rt.add(ctx, hosts); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	sv, err := serving.Install(ctx, c, opts)
	if err != nil {
		return fmt.Errorf("%s: %w", s.name, err)
	}
	flags := []string{"--function-sandboxes"}
	if sv.PodNetns() != "" {
		flags = append(flags, "--pod-netns="+sv.PodNetns())
	}
	s.mu.Lock()
	s.serving, s.agentFlags = sv, flags
	s.mu.Unlock()
	for _, h := range hosts {
		s.mu.Lock()
		s.agentHosts = append(s.agentHosts, h) // restored, even if this restart fails halfway
		s.mu.Unlock()
		if err := c.Reconfigurer.Reconfigure(ctx, h, nodeAgent, flags, nil); err != nil {
			return fmt.Errorf("%s: restarting the cluster's node agent on %s with %q: %w", s.name, h.Name, flags, err)
		}
	}
	if err := s.inner.Prepare(ctx, s.innerEnv(env)); err != nil {
		return err
	}
	if env.Logf != nil {
		where := "in " + sv.PodNetns()
		if sv.PodNetns() == "" {
			where = fmt.Sprintf("on %d worker hosts; activator at %s", len(hosts), sv.ActivatorURL())
		}
		env.Logf("%s: real Knative Serving %s over %s; node agents serving Knative pods %s", s.name, serving.Version, s.inner.Name(), where)
	}
	return nil
}

// innerEnv is env with a Reconfigurer that adds the node-agent flags
// Knative needs to every restart of the node agent, restores included.
func (s *Real) innerEnv(env baselines.Env) baselines.Env {
	c := *env.Cluster
	c.Reconfigurer = keepFlags{inner: env.Cluster.Reconfigurer, component: nodeAgent, flags: s.agentFlags}
	env.Cluster = &c
	return env
}

// keepFlags is a Reconfigurer that keeps flags on component.
type keepFlags struct {
	inner     clusters.Reconfigurer
	component string
	flags     []string
}

func (k keepFlags) Reconfigure(ctx context.Context, h clusters.Host, component string, extra []string, files []clusters.File) error {
	if component == k.component {
		extra = append(slices.Clone(extra), k.flags...)
	}
	return k.inner.Reconfigure(ctx, h, component, extra, files)
}

// agentHosts are the hosts whose node agent serves Knative's pods: the
// workers of the cluster's placer (the local cluster's one host).
func agentHosts(c *clusters.Cluster) []clusters.Host {
	if c.Placer == nil {
		return []clusters.Host{local.Host}
	}
	return clusters.HostsWith(c.Placer, clusters.RoleWorker)
}

// Teardown deletes the Knative Services the front-ends made while
// Knative's controllers and the inner system still run (kd's tear-down
// restarts the controller-manager, whose garbage collector deletes the
// Services' Configurations and Revisions only once it has resynced), then
// tears down the inner system, restores the node agent and stops Serving.
func (s *Real) Teardown(ctx context.Context, env baselines.Env) error {
	var errs []error
	if env.Cluster != nil {
		dctx, cancel := leaveForRestore(ctx)
		err := s.deleteServices(dctx, env)
		cancel()
		if err != nil {
			errs = append(errs, err)
		}
	}
	if env.Cluster != nil && env.Cluster.Reconfigurer != nil {
		if err := s.inner.Teardown(ctx, s.innerEnv(env)); err != nil {
			errs = append(errs, err)
		}
	} else if err := s.inner.Teardown(ctx, env); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(append(errs, s.restore(ctx))...)
}

// leaveForRestore bounds the Services' deletion so that the tear-down's
// restarts and clean-up that follow keep 2 minutes, or half the time left:
// a deletion that ran to ctx's deadline left the node agent unrestored and
// Serving's network namespaces in place (500 functions, 2 cores).
func leaveForRestore(ctx context.Context) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	return context.WithDeadline(ctx, dl.Add(-min(2*time.Minute, time.Until(dl)/2)))
}

// restore restarts the node agents with their own flags, stops Serving
// and removes the pod routes.
func (s *Real) restore(ctx context.Context) error {
	s.mu.Lock()
	sv, reconf, hosts, routes := s.serving, s.reconf, s.agentHosts, s.routes
	s.serving, s.reconf, s.agentFlags, s.namespaces, s.agentHosts, s.services, s.routes = nil, nil, nil, nil, nil, 0, nil
	s.mu.Unlock()
	var errs []error
	for _, h := range hosts {
		if reconf == nil {
			break
		}
		if err := reconf.Reconfigure(ctx, h, nodeAgent, nil, nil); err != nil {
			errs = append(errs, fmt.Errorf("%s: restoring the cluster's node agent on %s: %w", s.name, h.Name, err))
		}
	}
	if sv != nil {
		if err := sv.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s.name, err))
		}
	}
	if routes != nil {
		if err := routes.remove(ctx); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s.name, err))
		}
	}
	return errors.Join(errs...)
}

// deleteServices deletes the Knative Services of the front-ends' namespaces
// and waits for Knative's objects to go: 30 s and 1 s per Service at most
// (100 took over 30 s on 2 cores; after a 500-function replay 318 of 500
// PodAutoscalers were still waiting for the controller-manager's garbage
// collector, at its 20 QPS, 3 min after the deletes). It returns as soon
// as they are gone.
func (s *Real) deleteServices(ctx context.Context, env baselines.Env) error {
	s.mu.Lock()
	nss := slices.Clone(s.namespaces)
	services := s.services
	s.mu.Unlock()
	if len(nss) == 0 {
		return nil
	}
	dc, err := knativeClient(env)
	if err != nil {
		return err
	}
	for _, ns := range nss {
		if err := serving.DeleteServices(ctx, dc, ns, 30*time.Second+time.Duration(services)*time.Second); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
	}
	return nil
}

// knativeClient is a dynamic client for Knative's objects above client-go's
// default 5 QPS, which would throttle a hundred Services' creation and the
// polling of their deletion.
func knativeClient(env baselines.Env) (dynamic.Interface, error) {
	rc := *env.Cluster.REST
	rc.QPS, rc.Burst = 200, 400
	return dynamic.NewForConfig(&rc)
}

// Endpoints are the inner system's components.
func (s *Real) Endpoints() map[string]string {
	if o, ok := s.inner.(baselines.Observable); ok {
		return o.Endpoints()
	}
	return nil
}

// NodeAgent is the inner system's node agent ("" for the cluster's).
func (s *Real) NodeAgent() string {
	if o, ok := s.inner.(baselines.Observable); ok {
		return o.NodeAgent()
	}
	return ""
}

// Dead is the inner system's (baselines.Live).
func (s *Real) Dead() error { return baselines.Dead(s.inner) }

// Processes are the inner system's own processes.
func (s *Real) Processes() map[string]int {
	if p, ok := s.inner.(baselines.Processes); ok {
		return p.Processes()
	}
	return nil
}

// StartFrontEnd creates a Knative Service per function in namespace (kn-kd:
// the inner system's Deployment labels on the revision template, as the
// artifact's kd.ksvc.template.yaml), waits until Knative's controllers have
// made each Ready (idle behind the activator), and returns a front-end that
// sends each invocation to the real activator, routed by revision.
func (s *Real) StartFrontEnd(ctx context.Context, env baselines.Env, namespace string, functions []string) (replay.FrontEnd, error) {
	s.mu.Lock()
	sv, in := s.serving, s.onCluster
	if sv != nil || in != nil {
		s.namespaces = append(s.namespaces, namespace)
		s.services += len(functions)
	}
	s.mu.Unlock()
	if in != nil {
		return s.startInstalled(ctx, env, in, namespace, functions)
	}
	if sv == nil {
		return nil, fmt.Errorf("%s: the front-end starts after Prepare, which installs Knative", s.name)
	}
	var labels map[string]string
	if d, ok := s.inner.(baselines.DeploymentDecorator); ok {
		var err error
		if labels, err = serving.DeploymentLabels(d.DecorateDeployment); err != nil {
			return nil, fmt.Errorf("%s: %s's Deployment labels for the revision template: %w", s.name, s.inner.Name(), err)
		}
	}
	dc, err := knativeClient(env)
	if err != nil {
		return nil, err
	}
	began := time.Now()
	for _, fn := range functions {
		if err := serving.CreateService(ctx, dc, serving.NewService(namespace, fn, labels)); err != nil {
			return nil, fmt.Errorf("%s: %w", s.name, err)
		}
	}
	// Seen here: ten Ready in 6–8 s, a hundred in about a minute.
	timeout := time.Minute + time.Duration(len(functions))*time.Second
	ready, err := serving.WaitAllReady(ctx, dc, namespace, functions, false, timeout)
	if err != nil {
		return nil, fmt.Errorf("%s: %w\ncomponent logs:\n%s%v", s.name, err, sv.Logs(), sv.Exited())
	}
	revisions := make(map[string]string, len(ready))
	for fn, r := range ready {
		revisions[fn] = r.Revision
	}
	if env.Logf != nil {
		env.Logf("%s: %d Knative Services Ready (idle behind the activator) %s after creation", s.name, len(functions), time.Since(began).Round(time.Millisecond))
	}
	return &replay.HTTPFrontEnd{URL: sv.ActivatorURL(),
		Headers: replay.ActivatorHeaders(namespace, func(fn string) string { return revisions[fn] }),
		Client:  replay.NewHTTPClient(),
	}, nil
}

// FrontEndFacts: what of Knative runs for real.
func (s *Real) FrontEndFacts() replay.FrontEndFacts {
	s.mu.Lock()
	in := s.onCluster
	s.mu.Unlock()
	if in != nil {
		return installedFacts(in, s.inner.Name())
	}
	return RealFacts(s.inner.Name())
}

// RealFacts are kn-k8s's and kn-kd's components, over the named system.
func RealFacts(over string) replay.FrontEndFacts {
	return replay.FrontEndFacts{
		Knative: serving.Version + " (Knative Serving " + serving.Release + ")",
		Over:    over,
		Real: []string{
			"controller: " + ServingModule + " cmd/controller (Service, Configuration, Revision, Route, PodAutoscaler, ServerlessService reconcilers)",
			"autoscaler: " + ServingModule + " cmd/autoscaler (KPA, the artifact's config-autoscaler), scraping each pod's queue-proxy on 9090",
			"activator: " + ServingModule + " cmd/activator, always in the path (target-burst-capacity -1); every invocation goes through it",
			"queue-proxy: " + ServingModule + " pkg/queue (ProxyHandler, breaker at containerConcurrency 1, ProtobufStatsReporter) hosted by kdbench's node-agent sandbox at each pod's IP in Serving's pods namespace",
		},
		Modelled: []string{
			"ingress: kdbench's KIngress status writer marks each KIngress Ready; Envoy/Kourier absent, requests go straight to the activator",
			"webhook: not run (no kube-proxy for its ClusterIP); each ksvc carries the autoscaling class annotation it would add",
			"user container: kdbench's sandbox executes each invocation's runtime (no image is pulled)",
		},
	}
}

// TimesColdStarts: the trace replay splits real Knative's cold starts into
// Knative's, the cluster manager's, the node's and the activator's time
// (replay.ColdStartTimer).
func (s *Real) TimesColdStarts() bool { return true }
