package serving

import (
	"strings"
	"testing"
)

// TestPlacedComponent: on the control-plane host each component runs from
// a launcher script in its directory: the controller in its own network
// namespace, the autoscaler with its metrics and profiling ports off the
// activator's, the activator seeing the hosts file that names the
// autoscaler at the host's address; all with the harness's kubeconfig.
func TestPlacedComponent(t *testing.T) {
	byName := map[string]component{}
	for _, c := range components {
		byName[c.name] = c
	}
	for _, tc := range []struct {
		name    string
		want    []string // in run.sh
		notWant []string
		files   []string
	}{
		{name: "controller",
			want:    []string{"ns=" + ControllerNetns + "-$(stat -L -c %i /proc/self/ns/net)\nexec ip netns exec \"$ns\" " + RemoteBinDir + "/controller", `export KUBECONFIG="$PWD/kubeconfig"`, "export SYSTEM_NAMESPACE='knative-serving'"},
			notWant: []string{"POD_IP", "METRICS_PROMETHEUS_PORT"},
			files:   []string{"kubeconfig", "run.sh"}},
		{name: "autoscaler",
			want:  []string{"exec " + RemoteBinDir + "/autoscaler", "export POD_IP='10.77.1.10'", "export METRICS_PROMETHEUS_PORT='9091'", "export PROFILING_PORT='8009'"},
			files: []string{"kubeconfig", "run.sh"}},
		{name: "activator",
			want:    []string{"export POD_IP='10.77.1.10'", `exec unshare $u --mount sh -c 'mount --bind "$0" /etc/hosts && exec "$@"' "$PWD/hosts" ` + RemoteBinDir + "/activator"},
			notWant: []string{"METRICS_PROMETHEUS_PORT", "netns"},
			files:   []string{"kubeconfig", "hosts", "run.sh"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pc := placedComponent(byName[tc.name], "10.77.1.10", []byte("KUBECONFIG"))
			if pc.Name != "knative-"+tc.name || pc.Path != "/bin/sh" || strings.Join(pc.Args, " ") != "run.sh" {
				t.Errorf("component %+v, want knative-%s running /bin/sh run.sh", pc, tc.name)
			}
			var names []string
			files := map[string]string{}
			for _, f := range pc.Files {
				names = append(names, f.Path)
				files[f.Path] = string(f.Data)
			}
			if strings.Join(names, " ") != strings.Join(tc.files, " ") {
				t.Errorf("files %q, want %q", names, tc.files)
			}
			for _, w := range tc.want {
				if !strings.Contains(files["run.sh"], w) {
					t.Errorf("run.sh lacks %q:\n%s", w, files["run.sh"])
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(files["run.sh"], w) {
					t.Errorf("run.sh has %q:\n%s", w, files["run.sh"])
				}
			}
			if files["kubeconfig"] != "KUBECONFIG" {
				t.Errorf("kubeconfig %q", files["kubeconfig"])
			}
			if h, ok := files["hosts"]; ok && !strings.Contains(h, "10.77.1.10 autoscaler.knative-serving.svc.cluster.local") {
				t.Errorf("hosts file %q does not name the autoscaler at the host's address", h)
			}
		})
	}
}
