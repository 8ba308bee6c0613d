package cloudlab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/kdbench/kdbench/clusters"
	"github.com/kdbench/kdbench/clusters/existing"
	"github.com/kdbench/kdbench/clusters/local"
)

// ProviderName is the provider's name on the command line.
const ProviderName = "cloudlab"

// defaultClusterName names a cluster brought up without a name.
const defaultClusterName = "kdbench"

func init() {
	clusters.Register(ProviderName, func() clusters.Provider { return New(Options{}) })
}

// Options configure the CloudLab provider beyond the generic Spec.
type Options struct {
	// Root holds one work directory per cluster (default $KDBENCH_HOME or
	// ./.kdbench), as for the local provider.
	Root string
	// Inventory is the experiment's manifest or a hosts file; a re-run may
	// omit it and use the one state.json recorded.
	Inventory string
	Login     Login
	// Parallel bounds how many nodes are worked on at once (default 16).
	Parallel int
	// KdbenchBinary is the linux/amd64 kdbench copied to the nodes (default:
	// this executable, when it is one).
	KdbenchBinary string
	// Progress receives one line per step applied or failed (default: none).
	Progress io.Writer
	// RetryDelay is the first backoff between attempts (default 5s).
	RetryDelay time.Duration
	// ControlPlane is how the control plane is made: ControlPlaneKubeadm
	// (default: kubeadm, containerd and add-ons from the internet) or
	// ControlPlaneProcesses (kdbench's own control plane and node agents,
	// uploaded over SSH; for hosts without the internet, such as the
	// multi-host testbed).
	ControlPlane string
	// K8sBinDir holds the Kubernetes binaries uploaded in processes mode
	// (default: the local provider's).
	K8sBinDir string
	// ResetOnDown makes Down reset the nodes. Only `kdbench cluster down`
	// sets it: experiment runners call Down after each group of runs, and a
	// bare-metal cluster must not be wiped (and rebuilt) between them.
	ResetOnDown bool
	// Systems are the systems the cluster is to serve: they decide the
	// add-ons (Knative Serving for kn-k8s and kn-kd). Add-ons an earlier
	// up installed (state.json) stay checked.
	Systems []string
	// Attach is set by experiment runners: a process control plane that
	// state.json records is checked with the node count, sandbox delay and
	// (unless the spec names one) QPS profile its last `cluster up` gave,
	// not the run's, and the run's spec is then checked against the live
	// cluster (a sandbox delay the agents do not run is refused). A run
	// never restarts a cluster's processes with its own settings.
	Attach bool
}

// Provider implements clusters.Provider on CloudLab machines.
type Provider struct {
	opts Options
	// dial and attach are replaced by tests.
	dial   func(l Login, knownHosts string, warn func(string)) (func(context.Context, Node) (conn, error), func() error, error)
	attach func(context.Context, clusters.Spec) (*clusters.Cluster, error)
}

// New returns a CloudLab provider.
func New(o Options) *Provider {
	if o.Root == "" {
		o.Root = os.Getenv("KDBENCH_HOME")
	}
	if o.Root == "" {
		o.Root = ".kdbench"
	}
	if o.Parallel <= 0 {
		o.Parallel = 16
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	if o.RetryDelay <= 0 {
		o.RetryDelay = 5 * time.Second
	}
	return &Provider{opts: o, dial: sshDial, attach: existing.Provider{}.Up}
}

func sshDial(l Login, knownHosts string, warn func(string)) (func(context.Context, Node) (conn, error), func() error, error) {
	d, err := newDialer(l, knownHosts, warn)
	if err != nil {
		return nil, nil, err
	}
	return d.dial, d.Close, nil
}

func (p *Provider) Name() string { return ProviderName }

func (p *Provider) workDir(name string) (workDir, error) {
	if name == "" {
		return workDir{}, errors.New("cluster name is empty")
	}
	if !validNodeName(name) {
		return workDir{}, fmt.Errorf("cluster name %q: use letters, digits and '-'", name)
	}
	root, err := filepath.Abs(filepath.Join(p.opts.Root, "clusters", name))
	return workDir{root: root}, err
}

// Plan builds the bootstrap for spec without touching a node (--dry-run).
func (p *Provider) Plan(spec clusters.Spec) (*Plan, error) {
	inv, err := p.inventory(spec.Name)
	if err != nil {
		return nil, err
	}
	bin, err := p.binary()
	if err != nil {
		return nil, err
	}
	addons, err := p.addons(spec.Name)
	if err != nil {
		return nil, err
	}
	d, err := p.workDir(spec.Name)
	if err != nil {
		return nil, err
	}
	// Without --control-plane (as `run` and `ae` call it) a cluster keeps
	// the mode its last up recorded: a processes cluster must not be
	// re-planned with kubeadm.
	mode := p.controlPlane(d)
	switch mode {
	case ControlPlaneKubeadm:
		return NewPlan(inv, PlanOptions{QPSProfile: spec.QPSProfile, KdbenchBinary: bin, Addons: addons})
	case ControlPlaneProcesses:
		if len(addons) > 0 && p.opts.Progress != nil {
			// Made for hosts without the internet, which the add-ons need.
			fmt.Fprintf(p.opts.Progress, "warning: --control-plane %s installs no add-ons: not %v (for %v; --control-plane %s installs them)\n",
				ControlPlaneProcesses, addons, p.opts.Systems, ControlPlaneKubeadm)
		}
		// Certificates and kubeconfigs for the hosts are made here, once:
		// only this machine's work dir is written, even with --dry-run.
		if err := d.mkdirs(); err != nil {
			return nil, err
		}
		k8s := p.opts.K8sBinDir
		if k8s == "" {
			k8s = local.DefaultBinDir()
		}
		return processPlan(inv, spec, bin, k8s, d.File("hosts"), d.Kubeconfig())
	}
	return nil, fmt.Errorf("--control-plane %q: want %s or %s", mode, ControlPlaneKubeadm, ControlPlaneProcesses)
}

// addons are those the systems need plus those an earlier up installed.
func (p *Provider) addons(name string) ([]string, error) {
	out := addonsFor(p.opts.Systems)
	d, err := p.workDir(name)
	if err != nil {
		return nil, err
	}
	s, err := readState(d.State())
	if err != nil {
		return nil, err
	}
	if s != nil {
		for _, a := range s.Addons {
			if !slices.Contains(out, a) {
				out = append(out, a)
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

func (p *Provider) inventory(name string) (Inventory, error) {
	if p.opts.Inventory != "" {
		return LoadInventory(p.opts.Inventory)
	}
	d, err := p.workDir(name)
	if err != nil {
		return Inventory{}, err
	}
	s, err := readState(d.State())
	if err != nil {
		return Inventory{}, err
	}
	if s == nil {
		return Inventory{}, fmt.Errorf("cloudlab cluster %q: no --inventory given and none recorded in %s", name, d.State())
	}
	return s.Inventory, nil
}

func (p *Provider) binary() (string, error) {
	if p.opts.KdbenchBinary != "" {
		return p.opts.KdbenchBinary, nil
	}
	if runtime.GOOS == "linux" && runtime.GOARCH == "amd64" {
		return os.Executable()
	}
	return "", fmt.Errorf("this kdbench is %s/%s; build one for the nodes (GOOS=linux GOARCH=amd64 go build -o kdbench-linux-amd64 ./cmd/kdbench) and pass --kdbench-binary", runtime.GOOS, runtime.GOARCH)
}

// Up bootstraps the nodes (resuming where a previous run stopped), then
// attaches to the cluster as the existing provider does.
func (p *Provider) Up(ctx context.Context, spec clusters.Spec) (*clusters.Cluster, error) {
	start := time.Now()
	if spec.Name == "" {
		spec.Name = defaultClusterName
	}
	d, err := p.workDir(spec.Name)
	if err != nil {
		return nil, err
	}
	planSpec, err := p.planSpec(d, spec)
	if err != nil {
		return nil, err
	}
	if p.opts.Attach && p.opts.Login == (Login{}) {
		// A run has no SSH flags: it logs in as the last up did.
		p.opts.Login = recordedLogin(d)
	}
	plan, err := p.Plan(planSpec)
	if err != nil {
		return nil, err
	}
	if err := p.run(ctx, d, spec.Name, plan); err != nil {
		return nil, err
	}
	bootstrapped := time.Since(start)
	// The hosts file lets later runs attached with --provider existing (from
	// the control-plane host) place and reconfigure as this one does.
	hf := HostsFile{Cluster: spec.Name, ControlPlane: plan.ControlPlane, Inventory: plan.Inventory,
		Login: p.opts.Login, KnownHosts: d.KnownHosts(), Nodes: planSpec.Nodes, QPSProfile: plan.QPSProfile}
	if hf.ControlPlane == "" {
		hf.ControlPlane = ControlPlaneKubeadm
	}
	if err := writeHostsFile(d.Kubeconfig(), hf); err != nil {
		return nil, fmt.Errorf("cloudlab cluster %q: %w", spec.Name, err)
	}
	// The attach checks the running cluster against what was asked: the
	// profile the bootstrap set, read back from the control plane's flags,
	// the workers' sandbox delay and, for scale-nodes, their number.
	c, err := p.attach(ctx, clusters.Spec{Name: spec.Name, Kubeconfig: d.Kubeconfig(), QPSProfile: plan.QPSProfile,
		SandboxDelay: spec.SandboxDelay, Nodes: spec.Nodes, NodesExact: spec.NodesExact})
	if err != nil {
		return nil, fmt.Errorf("cloudlab cluster %q is bootstrapped but does not answer or does not give what was asked: %w", spec.Name, err)
	}
	c.Provider = ProviderName
	c.QPSProfile = plan.QPSProfile
	c.QPSProfileSource = "set by the cloudlab bootstrap (its kubeadm configuration)"
	if plan.ControlPlane == ControlPlaneProcesses {
		// The simulated kubelets are the node agents this provider started.
		c.SandboxDelay = spec.SandboxDelay
	}
	if c.Components == nil {
		c.Components = map[string]string{}
	}
	versions := Versions()
	if slices.Contains(plan.Addons, AddonKnative) {
		for k, v := range knativeVersions() {
			versions[k] = v
		}
	}
	for k, v := range versions {
		if _, ok := c.Components[k]; !ok {
			c.Components[k] = v
		}
	}
	c.Startup = map[string]time.Duration{"bootstrapped": bootstrapped, "usable": time.Since(start)}
	// Systems place their components on the nodes over SSH. The dialer
	// lives as long as the harness: its connections are the lifelines.
	warn := func(msg string) { fmt.Fprintf(p.opts.Progress, "warning: %s\n", msg) }
	dial, _, err := p.dial(p.opts.Login, d.KnownHosts(), warn)
	if err != nil {
		return nil, err
	}
	if err := hf.attach(c, dial); err != nil {
		return nil, err
	}
	return c, nil
}

// planSpec is the spec the bootstrap is planned with: spec itself, or for
// an Attach to a recorded process control plane its recorded settings.
func (p *Provider) planSpec(d workDir, spec clusters.Spec) (clusters.Spec, error) {
	if !p.opts.Attach || p.opts.ControlPlane != "" {
		return spec, nil
	}
	s, err := readState(d.State())
	if err != nil || s == nil || s.ControlPlane != ControlPlaneProcesses {
		return spec, err
	}
	if s.Nodes == 0 {
		return spec, fmt.Errorf("cloudlab cluster %q: its state.json (%s) does not record how many nodes its agents serve (an up by an older kdbench): run `kdbench cluster up --provider cloudlab --name %s --control-plane processes --nodes N` again", spec.Name, d.State(), spec.Name)
	}
	spec.Nodes, spec.SandboxDelay = s.Nodes, s.SandboxDelay
	if spec.QPSProfile == "" {
		spec.QPSProfile = s.QPSProfile
	}
	return spec, nil
}

// run executes plan against the nodes under the cluster's work dir lock.
func (p *Provider) run(ctx context.Context, d workDir, name string, plan *Plan) error {
	if err := d.mkdirs(); err != nil {
		return err
	}
	unlock, err := d.lock()
	if err != nil {
		return err
	}
	defer unlock()
	sec, err := loadSecrets(d.Secrets())
	if err != nil {
		return err
	}
	prev, err := readState(d.State())
	if err != nil {
		return err
	}
	st := &State{Name: name, QPSProfile: plan.QPSProfile, ControlPlane: plan.ControlPlane, Inventory: plan.Inventory, Addons: plan.Addons,
		Nodes: plan.Nodes, SandboxDelay: plan.SandboxDelay}
	if prev != nil {
		st.Steps = prev.Steps
		if failed := failedSteps(prev); len(failed) > 0 {
			fmt.Fprintf(p.opts.Progress, "resuming: last run failed at %v\n", failed)
		}
	}
	sf := &stateFile{path: d.State(), s: st}
	if err := sf.write(); err != nil {
		return err
	}
	warn := func(msg string) { fmt.Fprintf(p.opts.Progress, "warning: %s\n", msg) }
	dial, closeDialer, err := p.dial(p.opts.Login, d.KnownHosts(), warn)
	if err != nil {
		return err
	}
	defer closeDialer()
	redact := NewRedactor(sec.JoinToken)
	r := &runner{
		plan: plan, dir: d, dial: dial, parallel: p.opts.Parallel,
		secrets: map[string]string{envJoinToken: sec.JoinToken},
		redact:  redact, state: sf, progress: p.opts.Progress,
		backoff: wait.Backoff{Duration: p.opts.RetryDelay, Factor: 2, Jitter: 0.2, Steps: 10, Cap: 2 * time.Minute},
		conns:   map[string]conn{},
	}
	return r.run(ctx)
}

func failedSteps(s *State) []string {
	var out []string
	for node, steps := range s.Steps {
		for step, st := range steps {
			if st.Status == statusFailed {
				out = append(out, node+"/"+step)
			}
		}
	}
	sort.Strings(out)
	return out
}
