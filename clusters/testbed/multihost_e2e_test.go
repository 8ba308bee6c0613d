//go:build e2e

package testbed

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"text/tabwriter"
	"time"
)

// TestMultihost is `make e2e-multihost`: it builds the testbed and, from its
// control-plane host, drives kdbench the way a CloudLab user does (the
// inventory and SSH), then prints system × experiment → ok / refused
// (reason) / failed (reason). Tear-down must leave no namespace and no sshd.
//
//	KDBENCH_BIN=$PWD/bin/kdbench go test -tags e2e -run TestMultihost -v ./clusters/testbed/
func TestMultihost(t *testing.T) {
	bin := os.Getenv("KDBENCH_BIN")
	if bin == "" {
		t.Fatal("KDBENCH_BIN: the kdbench binary to drive (make e2e-multihost sets it)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 80*time.Minute)
	defer cancel()
	const name = "kdtbe2e"
	dir := filepath.Join(os.TempDir(), "kdbench-testbed-"+name)
	tb, err := Up(ctx, Options{Name: name, Dir: dir, Workers: 3})
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
	cl := []string{"--provider", "cloudlab", "--name", "testbed", "--inventory", tb.Inventory(), "--key", tb.Key()}

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

	// The control plane, without the internet the kubeadm path needs.
	// Down always runs: a half-made control plane is stopped by it too.
	defer func() {
		if _, err := kd(append([]string{"cluster", "down"}, cl...)...); err != nil {
			t.Errorf("cluster down: %v", err)
		}
	}()
	var refused string
	if out, err := kd(append([]string{"cluster", "up", "--control-plane", "processes", "--nodes", "6"}, cl...)...); err != nil {
		refused = "no control plane on the testbed: `cluster up --provider cloudlab --control-plane processes`: " + reason(out)
		t.Errorf("%s", refused)
	}

	trace := filepath.Join(tb.Dir, "trace")
	if refused == "" {
		if _, err := kd("trace", "synth", "-o", trace, "--functions", "20", "--minutes", "2"); err != nil {
			t.Fatalf("trace synth: %v", err)
		}
	}
	kubeconfig := filepath.Join(home, "clusters", "testbed", "kubeconfig")
	// KDBENCH_E2E_CELLS, a regular expression, limits the cells run (by
	// "system experiment", e.g. "^kd\\+ " or "scale-pods"); the others are
	// listed as not run.
	only, err := regexp.Compile(os.Getenv("KDBENCH_E2E_CELLS"))
	if err != nil {
		t.Fatalf("KDBENCH_E2E_CELLS: %v", err)
	}
	var rows [][3]string
	for _, c := range matrix() {
		if !only.MatchString(c.system + " " + c.label) {
			rows = append(rows, [3]string{c.system, c.label, "not run (KDBENCH_E2E_CELLS)"})
			continue
		}
		status := "refused: " + refused
		if refused == "" {
			args := append([]string{"run", c.experiment, "--provider", "existing", "--kubeconfig", kubeconfig,
				"--system", c.system, "--no-plots", "--results", filepath.Join(tb.Dir, "results")}, c.args...)
			if c.experiment == "azure-trace" {
				args = append(args, "--trace", trace)
			}
			if out, err := kd(args...); err != nil && refusal(out) {
				status = "refused: " + reason(out)
			} else if err != nil {
				status = "failed: " + reason(out)
			} else {
				status = "ok"
			}
		}
		rows = append(rows, [3]string{c.system, c.label, status})
	}
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SYSTEM\tEXPERIMENT\tRESULT")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r[0], r[1], r[2])
	}
	tw.Flush()
	fmt.Print("\nmulti-host testbed: system × experiment\n" + b.String())
	for _, r := range rows {
		if strings.HasPrefix(r[2], "failed") {
			t.Errorf("%s %s %s", r[0], r[1], r[2])
		}
	}
}

type cell struct {
	system, experiment, label string
	args                      []string
}

// matrix is issue 15's: every system on scale-pods at 100 pods, the FaaS
// systems on a 2-minute azure-trace clip, one failover case per hop on kd+.
func matrix() []cell {
	var out []cell
	for _, s := range []string{"k8s", "k8s+", "kd", "kd+", "kd-insecure", "kn-model", "kn-model-kd", "dirigent", "dr-k8s+", "dr-kd+"} {
		out = append(out, cell{s, "scale-pods", "scale-pods 100", []string{"--sizes", "100", "--reps", "1", "--warmup", "0"}})
	}
	for _, s := range []string{"kn-model", "kn-model-kd", "dirigent", "dr-k8s+", "dr-kd+"} {
		out = append(out, cell{s, "azure-trace", "azure-trace 2 min", []string{"--functions", "20", "--minutes", "2", "--warmup", "0"}})
	}
	for _, hop := range []string{"autoscaler", "deployment", "replicaset", "scheduler", "nodeagent"} {
		out = append(out, cell{"kd+", "failover", "failover " + hop, []string{"--targets", hop, "--sizes", "100", "--reps", "1", "--kinds", "crash"}})
	}
	return out
}

// refusals are kdbench's own messages for a system that does not do an
// experiment at all (not a failure of the cluster).
var refusals = []string{"runs no Kubernetes pods", "has no FaaS front-end", "cannot place components on its hosts"}

func refusal(out string) bool {
	for _, r := range refusals {
		if strings.Contains(out, r) {
			return true
		}
	}
	return false
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
