package existing

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kdbench/kdbench/clusters"
)

func TestHostsFile(t *testing.T) {
	saved := hostsAttacher
	defer func() { hostsAttacher = saved }()
	for _, tc := range []struct {
		name        string
		file        string // "" : none
		attach      error
		wantProfile string
		wantErr     string
		wantRefusal string
		attached    bool
	}{
		{name: "none", wantRefusal: "no hosts.json beside the kubeconfig"},
		{name: "attached", file: `{"cluster":"c","qpsProfile":"tuned"}`, wantProfile: "tuned", attached: true},
		{name: "attach fails", file: `{}`, attach: errors.New("no such host w9"), wantErr: "the hosts of "},
		{name: "not JSON", file: `{`, wantErr: "hosts.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			kc := filepath.Join(dir, "kubeconfig")
			if tc.file != "" {
				if err := os.WriteFile(filepath.Join(dir, HostsFile), []byte(tc.file), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			attached := false
			hostsAttacher = func(_ context.Context, path string, c *clusters.Cluster) error {
				attached = path == filepath.Join(dir, HostsFile)
				return tc.attach
			}
			c := &clusters.Cluster{Kubeconfig: kc}
			prof, perr := recordedProfile(kc)
			err := errors.Join(perr, attachHosts(context.Background(), c))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want an error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if prof != tc.wantProfile || attached != tc.attached || !strings.Contains(c.ReconfigureRefusal, tc.wantRefusal) {
				t.Errorf("profile %q attached %v refusal %q; want %q %v %q", prof, attached, c.ReconfigureRefusal, tc.wantProfile, tc.attached, tc.wantRefusal)
			}
		})
	}
}

// TestCrashRefusal: only a hosts file recording a process control plane
// lets failover crash the cluster's components.
func TestCrashRefusal(t *testing.T) {
	for _, tc := range []struct {
		name, file, want string // want: in the refusal; "" none
	}{
		{"no hosts file", "", "no hosts.json beside the kubeconfig"},
		{"kubeadm", `{"controlPlane":"kubeadm"}`, `records a "kubeadm" control plane`},
		{"processes", `{"controlPlane":"processes"}`, ""},
		{"not JSON", `{`, "hosts.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.file != "" {
				if err := os.WriteFile(filepath.Join(dir, HostsFile), []byte(tc.file), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			got := Provider{}.CrashRefusal(clusters.Spec{Kubeconfig: filepath.Join(dir, "kubeconfig")})
			if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
				t.Errorf("CrashRefusal = %q, want %q", got, tc.want)
			}
		})
	}
}
