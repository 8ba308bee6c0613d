//go:build e2e

package testbed

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/kdbench/kdbench/baselines"
	"github.com/kdbench/kdbench/clusters"

	// The systems kdbench registers (as cmd/kdbench imports them): the
	// matrix is the registry's, so renamed or refusing systems show up.
	_ "github.com/kdbench/kdbench/baselines/dirigent"
	_ "github.com/kdbench/kdbench/baselines/drfaas"
	_ "github.com/kdbench/kdbench/baselines/k8s"
	_ "github.com/kdbench/kdbench/baselines/kd"
	_ "github.com/kdbench/kdbench/baselines/knative"
)

// TestMultihost is `make e2e-multihost`: it builds the testbed and, from its
// control-plane host, drives kdbench the way a CloudLab user does (the
// inventory and SSH), then prints system × experiment → ok / refused
// (reason) / failed (reason). Tear-down must leave no namespace and no sshd.
//
//	KDBENCH_BIN=$PWD/bin/kdbench go test -tags e2e -run TestMultihost -v ./clusters/testbed/
//
// KDBENCH_TESTBED_NAME and KDBENCH_TESTBED_SUBNET (default kdtbe2e and
// 10.77.1.0/24) let a second run share the machine.
func TestMultihost(t *testing.T) {
	bin := os.Getenv("KDBENCH_BIN")
	if bin == "" {
		t.Fatal("KDBENCH_BIN: the kdbench binary to drive (make e2e-multihost sets it)")
	}
	// SIGTERM or Ctrl-C ends the cells (each kdbench run gets SIGTERM and
	// stops what it started), then the testbed is torn down as usual.
	sctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(sctx, 80*time.Minute)
	defer cancel()
	// Up removes namespaces a crashed run of the same name left, so two
	// runs at once need their own names and LANs.
	// The hosts share this machine's file system, so the cluster's name,
	// which names the placed components' directory on each host, differs too.
	name, cluster, subnet := "kdtbe2e", "testbed", os.Getenv("KDBENCH_TESTBED_SUBNET")
	if n := os.Getenv("KDBENCH_TESTBED_NAME"); n != "" {
		name, cluster = n, n
	}
	dir := filepath.Join(os.TempDir(), "kdbench-testbed-"+name)
	tb, err := Up(ctx, Options{Name: name, Dir: dir, Subnet: subnet, Workers: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := tb.Down(context.Background()); err != nil {
			t.Errorf("tear-down: %v", err)
		}
		left, err := Leftovers(context.Background(), name, dir)
		if err != nil || len(left) > 0 {
			t.Errorf("after tear-down (%v): %v", err, left)
		} else {
			t.Logf("tear-down left no namespace %s-*, no sshd and no %s", name, dir)
		}
	}()
	home := filepath.Join(tb.Dir, "home")
	kd := func(args ...string) (string, error) {
		cmd := tb.Command(ctx, "cp", append([]string{bin}, args...)...)
		// HOME: not this machine's ~/.ssh/config; the login is the flags'.
		cmd.Env = append(os.Environ(), "KDBENCH_HOME="+home, "HOME="+home)
		out, err := cmd.CombinedOutput()
		shown := string(out)
		if err == nil {
			shown = head(shown, 40)
		}
		t.Logf("cp$ kdbench %s (%v)\n%s", strings.Join(args, " "), err, indent(shown))
		return string(out), err
	}
	cl := []string{"--provider", "cloudlab", "--name", cluster, "--inventory", tb.Inventory(), "--key", tb.Key()}

	// Every host answers over SSH through clusters/cloudlab's client.
	if _, err := kd(append([]string{"cluster", "check"}, cl...)...); err != nil {
		t.Fatalf("cluster check: %v", err)
	}
	out, err := kd(append([]string{"cluster", "up", "--dry-run"}, cl...)...)
	if err != nil {
		t.Fatalf("cluster up --dry-run: %v", err)
	}
	for _, h := range tb.Hosts {
		if !strings.Contains(out, "\n"+h.Name+":") {
			t.Errorf("the dry-run plan has no steps for %s", h.Name)
		}
	}

	// KDBENCH_E2E_CELLS, a regular expression, limits the cells run (by
	// "system experiment", e.g. "^kd\\+ " or "scale-pods"); the others are
	// listed as not run.
	only, err := regexp.Compile(os.Getenv("KDBENCH_E2E_CELLS"))
	if err != nil {
		t.Fatalf("KDBENCH_E2E_CELLS: %v", err)
	}
	trace := filepath.Join(tb.Dir, "trace")
	if _, err := kd("trace", "synth", "-o", trace, "--functions", "20", "--minutes", "2"); err != nil {
		t.Fatalf("trace synth: %v", err)
	}
	// cluster up leaves hosts.json beside the kubeconfig: --provider
	// existing attaches through the cloudlab provider's SSH placer and
	// reconfigurer.
	kubeconfig := filepath.Join(home, "clusters", cluster, "kubeconfig")
	var workers []string
	for _, h := range tb.Hosts {
		if h.Role == "worker" {
			workers = append(workers, h.Name)
		}
	}
	cells := matrix(baselines.Names())
	rows := make([][4]string, len(cells))
	start := time.Now()
	// The node agents' sandbox delay is the cluster's (k8s at 0, the "+"
	// systems at 200 ms: existing refuses a run whose delay the agents do
	// not run), so the control plane is brought up once per delay the
	// cells ask, and torn down after them.
	for _, delay := range delays(cells) {
		var todo []int
		for i, c := range cells {
			if c.delay != delay {
				continue
			}
			if !only.MatchString(c.system + " " + c.label) {
				rows[i] = [4]string{c.system, c.label, "not run (KDBENCH_E2E_CELLS)", ""}
				continue
			}
			todo = append(todo, i)
		}
		if len(todo) == 0 {
			continue
		}
		// Without the internet the kubeadm path needs. Down always runs:
		// a half-made control plane is stopped by it too; then no process
		// but the testbed's sshd may be left on any host.
		var upFailed string
		up := append([]string{"cluster", "up", "--control-plane", "processes", "--nodes", "6", "--sandbox-delay", delay.String()}, cl...)
		if out, err := kd(up...); err != nil {
			upFailed = fmt.Sprintf("no control plane at sandbox delay %s on the testbed: `cluster up --provider cloudlab --control-plane processes`: %s", delay, reason(out))
			t.Errorf("%s", upFailed)
		}
		for _, i := range todo {
			c := cells[i]
			rows[i] = [4]string{c.system, c.label, "refused: " + upFailed, ""}
			if upFailed == "" {
				status, detail := runCell(kd, c, filepath.Join(tb.Dir, "results", fmt.Sprintf("%02d-%s-%s", i, baselines.Slug(c.system), c.experiment)),
					cluster, kubeconfig, trace, workers)
				rows[i] = [4]string{c.system, c.label, status, detail}
			}
		}
		if _, err := kd(append([]string{"cluster", "down"}, cl...)...); err != nil {
			t.Errorf("cluster down: %v", err)
		}
		if left := hostProcesses(context.Background(), tb); len(left) > 0 {
			t.Errorf("after cluster down, processes other than sshd are left on the hosts:\n  %s", strings.Join(left, "\n  "))
		} else {
			t.Logf("cluster down left no process but sshd on %d hosts", len(tb.Hosts))
		}
	}
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SYSTEM\tEXPERIMENT\tRESULT\tPODS PER HOST; LINKS; TIME")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r[0], r[1], r[2], r[3])
	}
	fmt.Fprintln(tw, "(sizes as issue 15 asks: 100 pods, a 2-minute trace clip, one burst-phase case per failover hop)")
	tw.Flush()
	fmt.Printf("\nmulti-host testbed: system × experiment (%d hosts, %d worker hosts, 6 simulated nodes; matrix took %s)\n%s",
		len(tb.Hosts), len(workers), time.Since(start).Round(time.Second), b.String())
	for _, r := range rows {
		if strings.HasPrefix(r[2], "failed") {
			t.Errorf("%s %s %s", r[0], r[1], r[2])
		}
	}
}

// runCell runs one cell from cp into results dir res and says how it went:
// ok / refused (reason) / failed (reason), and for runs with pods which
// host served them and the links' latency.
func runCell(kd func(...string) (string, error), c cell, res, cluster, kubeconfig, trace string, workers []string) (status, detail string) {
	t0 := time.Now()
	attach := []string{"--provider", "existing", "--kubeconfig", kubeconfig}
	if c.viaCloudlab {
		attach = []string{"--provider", "cloudlab", "--cluster-name", cluster}
	}
	args := append(append([]string{"run", c.experiment}, attach...), append([]string{"--system", c.system, "--no-plots", "--results", res}, c.args...)...)
	if c.experiment == "azure-trace" {
		args = append(args, "--trace", trace)
	}
	out, err := kd(args...)
	switch {
	case refused(err):
		return "refused: " + reason(out), ""
	case err != nil:
		status = "failed: " + reason(out)
	default:
		status = "ok"
	}
	// Every pod on a worker host's agent (kd's binds at that host's agent
	// over the link), recorded in the results.
	hosts, herr := servedBy(res, workers)
	if herr != nil && status == "ok" {
		status = "failed: " + herr.Error()
	}
	detail = perHost(hosts, workers)
	if links, lerr := linkLatency(res); lerr != nil {
		detail += "; links: " + lerr.Error()
	} else if len(links) > 0 {
		detail += "; link p50 " + linkSummary(links)
	}
	return status, detail + fmt.Sprintf("; %s", time.Since(t0).Round(time.Second))
}

// delays lists the sandbox delays the cells ask, in order.
func delays(cells []cell) []time.Duration {
	var out []time.Duration
	for _, c := range cells {
		if !slices.Contains(out, c.delay) {
			out = append(out, c.delay)
		}
	}
	slices.Sort(out)
	return out
}

// perHost says how many pods each worker host's agent served.
func perHost(counts map[string]int, workers []string) string {
	var parts []string
	for _, w := range workers {
		parts = append(parts, fmt.Sprintf("%s %d", w, counts[w]))
	}
	if n := counts[""]; n > 0 {
		parts = append(parts, fmt.Sprintf("elsewhere %d", n))
	}
	return strings.Join(parts, ", ")
}

// linkSummary lists each link's median latency.
func linkSummary(links map[string]time.Duration) string {
	var parts []string
	for _, l := range sortedKeys(links) {
		parts = append(parts, fmt.Sprintf("%s %s", l, links[l].Round(10*time.Microsecond)))
	}
	return strings.Join(parts, ", ")
}

// hostProcesses lists the processes in the hosts' namespaces other than
// sshd (the daemon and its sessions).
func hostProcesses(ctx context.Context, tb *Testbed) []string {
	var out []string
	for _, h := range tb.Hosts {
		pids, err := namespacePIDs(ctx, tb.Namespace(h.Name))
		if err != nil {
			out = append(out, fmt.Sprintf("%s: %v", h.Name, err))
			continue
		}
		for _, pid := range pids {
			exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
			if strings.HasPrefix(filepath.Base(exe), "sshd") {
				continue
			}
			cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
			if len(cmd) == 0 && exe == "" {
				continue // exited meanwhile
			}
			out = append(out, fmt.Sprintf("%s: pid %d %s", h.Name, pid, strings.ReplaceAll(strings.TrimRight(string(cmd), "\x00"), "\x00", " ")))
		}
	}
	return out
}

type cell struct {
	system, experiment, label string
	args                      []string
	// viaCloudlab runs the cell as a CloudLab user does, `run --provider
	// cloudlab --cluster-name` (the cluster as its last up recorded it,
	// logged in as that up was), not attached with --provider existing.
	viaCloudlab bool
	// delay is the sandbox delay the system asks of the cluster's agents.
	delay time.Duration
}

// matrix is issue 15's: every registered system on scale-pods at 100 pods
// and on a 2-minute azure-trace clip (systems without a FaaS front-end, or
// without pods, are refused by kdbench itself), one failover case per hop
// on kd+.
func matrix(systems []string) []cell {
	var out []cell
	add := func(system, experiment, label string, args ...string) {
		var delay time.Duration
		if s, err := baselines.Get(system); err == nil {
			delay = s.Cluster(clusters.Spec{}).SandboxDelay
		}
		out = append(out, cell{system: system, experiment: experiment, label: label, args: args, delay: delay})
	}
	for _, s := range systems {
		add(s, "scale-pods", "scale-pods 100", "--sizes", "100", "--reps", "1", "--warmup", "0", "--floor=false")
		if s == "kd" {
			out[len(out)-1].viaCloudlab, out[len(out)-1].label = true, "scale-pods 100 (--provider cloudlab)"
		}
	}
	for _, s := range systems {
		add(s, "azure-trace", "azure-trace 2 min", "--functions", "20", "--minutes", "2", "--warmup", "0")
	}
	// One case per hop: a crash in the burst. The node agents are the
	// cluster's (one per worker host): the cluster's Crasher kills the
	// first worker's over SSH and starts it again in direct mode; the link
	// into it is cut too (kd's proxy of that agent's link).
	for _, hop := range []string{"autoscaler", "deployment", "replicaset", "scheduler", "nodeagent"} {
		add("kd+", "failover", "failover "+hop+" crash", "--targets", hop, "--sizes", "100", "--reps", "1", "--kinds", "crash", "--phases", "burst")
	}
	add("kd+", "failover", "failover nodeagent cut", "--targets", "nodeagent", "--sizes", "100", "--reps", "1", "--kinds", "cut", "--phases", "burst")
	return out
}

// refused tells a run kdbench refused (exit status 4: a system or provider
// that cannot do the experiment at all, nothing measured) from one that
// failed.
func refused(err error) bool {
	var ee *exec.ExitError
	return errors.As(err, &ee) && ee.ExitCode() == 4
}

// reason is the gist of a failed kdbench command's output: from its error
// ("kdbench: ..."), the line naming a node and step if there is one,
// else the error's first line.
func reason(out string) string {
	_, msg, ok := strings.Cut(out, "kdbench: ")
	if !ok {
		lines := strings.Split(strings.TrimSpace(out), "\n")
		return strings.TrimSpace(lines[len(lines)-1])
	}
	lines := strings.Split(msg, "\n")
	for i, l := range lines {
		if !strings.HasPrefix(l, "node ") || !strings.Contains(l, ": step ") {
			continue
		}
		for j := i + 1; j+1 < len(lines) && strings.HasPrefix(lines[j], " "); j++ {
			if strings.Contains(lines[j], "output (last lines):") {
				return l + ": " + strings.TrimSpace(lines[j+1])
			}
		}
		return l
	}
	return strings.TrimSpace(lines[0])
}

// head keeps the first n lines of s.
func head(s string, n int) string {
	lines := strings.SplitAfter(s, "\n")
	if len(lines) <= n {
		return s
	}
	return strings.Join(lines[:n], "") + fmt.Sprintf("... (%d more lines)\n", len(lines)-n)
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n  ")
}
