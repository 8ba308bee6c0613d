package cloudlab

import (
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kdbench/kdbench/clusters"
	"github.com/kdbench/kdbench/clusters/local"
	"github.com/kdbench/kdbench/internal/supervisor"
)

// TestCrashAndSignalScripts runs the scripts with bash against a real
// process started as cluster up starts one (setsid, pid file): the crash
// kills its whole process group and starts the same command line again in
// the same directory under a new pid; SIGSTOP and SIGCONT take effect
// before the script returns; a component that is not running is named.
func TestCrashAndSignalScripts(t *testing.T) {
	sleep, err := exec.LookPath("sleep")
	require.NoError(t, err)
	sleep, err = filepath.EvalSymlinks(sleep)
	require.NoError(t, err)
	healthy := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer healthy.Close()
	run, cwd := t.TempDir(), t.TempDir()
	pr := local.Process{Name: "nodeagent", Path: sleep, Log: filepath.Join(run, "nodeagent.log"), HealthURL: healthy.URL}
	bash := func(script string) (string, error) {
		out, err := exec.Command("bash", "-c", script).CombinedOutput()
		return string(out), err
	}
	pidOf := func() int {
		b, err := os.ReadFile(filepath.Join(run, "nodeagent.pid"))
		require.NoError(t, err)
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		require.NoError(t, err)
		return pid
	}
	out, err := bash(crashScript(pr, local.HostPlan{}, run))
	require.Error(t, err)
	require.Contains(t, out, "nodeagent is not running (pid file "+run+"/nodeagent.pid)")

	// Started as startStep starts it, with a child in its group.
	start := exec.Command("bash", "-c", "cd "+cwd+"; setsid "+sleep+" 300 7 >/dev/null 2>&1 < /dev/null & echo $! > "+run+"/nodeagent.pid")
	require.NoError(t, start.Run())
	old := pidOf()
	t.Cleanup(func() {
		_ = syscall.Kill(-pidOf(), syscall.SIGKILL)
		_ = syscall.Kill(-old, syscall.SIGKILL)
	})
	require.Eventually(t, func() bool { return !supervisor.Gone(old) }, 5*time.Second, 10*time.Millisecond)

	out, err = bash(crashScript(pr, local.HostPlan{}, run))
	require.NoError(t, err, out)
	require.Eventually(t, func() bool { return supervisor.Gone(old) }, 5*time.Second, 10*time.Millisecond, "the old process died")
	now := pidOf()
	require.NotEqual(t, old, now)
	// setsid forks, then execs: until the exec the new pid's command line
	// is setsid's (seen under load).
	var cmdline []byte
	require.Eventually(t, func() bool {
		cmdline, err = os.ReadFile("/proc/" + strconv.Itoa(now) + "/cmdline")
		return err == nil && string(cmdline) == sleep+"\x00300\x007\x00"
	}, 5*time.Second, 10*time.Millisecond, "the same command line")
	dir, err := os.Readlink("/proc/" + strconv.Itoa(now) + "/cwd")
	require.NoError(t, err)
	require.Equal(t, cwd, dir, "the same directory")
	log, err := os.ReadFile(pr.Log)
	require.NoError(t, err)
	require.Contains(t, string(log), "crashed (SIGKILL) by kdbench failover")

	out, err = bash(signalScript(pr, syscall.SIGSTOP, run))
	require.NoError(t, err, out)
	st, _ := supervisor.State(now)
	require.Equal(t, byte('T'), st, "stopped when the script returned")
	out, err = bash(signalScript(pr, syscall.SIGCONT, run))
	require.NoError(t, err, out)
	st, _ = supervisor.State(now)
	require.NotEqual(t, byte('T'), st, "resumed when the script returned")
}

// TestCrashRefusal: a cluster's components are kdbench's to crash (and
// real Knative's to place beside) when its control plane is processes:
// --control-plane if given, else the mode its last up recorded, as `run`
// has no --control-plane flag.
func TestCrashRefusal(t *testing.T) {
	for _, tc := range []struct {
		name, flag, recorded string // recorded: "" no state.json
		refused              bool
	}{
		{"flag processes", ControlPlaneProcesses, "", false},
		{"recorded processes", "", ControlPlaneProcesses, false},
		{"recorded kubeadm", "", ControlPlaneKubeadm, true},
		{"nothing recorded: kubeadm, the default", "", "", true},
		{"the flag wins", ControlPlaneKubeadm, ControlPlaneProcesses, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := New(Options{Root: t.TempDir(), ControlPlane: tc.flag})
			if tc.recorded != "" {
				d, err := p.workDir("c")
				if err != nil {
					t.Fatal(err)
				}
				if err := d.mkdirs(); err != nil {
					t.Fatal(err)
				}
				if err := (&stateFile{path: d.State(), s: &State{Name: "c", ControlPlane: tc.recorded}}).write(); err != nil {
					t.Fatal(err)
				}
			}
			why := p.CrashRefusal(clusters.Spec{Name: "c"})
			if (why != "") != tc.refused || tc.refused && !strings.Contains(why, "use --control-plane processes") {
				t.Errorf("CrashRefusal = %q, want refused %v", why, tc.refused)
			}
		})
	}
}
