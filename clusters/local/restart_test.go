package local

import (
	"context"
	"strings"
	"testing"
)

func TestRestartErrors(t *testing.T) {
	p := New(Options{Root: t.TempDir()})
	p.plans["mine"] = &plan{}
	p.procs["mine"] = []*proc{{Name: etcdComponent, PID: 0}}
	for _, tc := range []struct {
		cluster, component, want string
	}{
		{"other", apiserverComponent, "not started by this kdbench process"},
		{"mine", "kubelet", `no component "kubelet"`},
		{"mine", apiserverComponent, "not running"},
	} {
		t.Run(tc.cluster+"/"+tc.component, func(t *testing.T) {
			err := p.Restart(context.Background(), tc.cluster, tc.component)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
	if pid := p.PID("other", apiserverComponent); pid != 0 {
		t.Fatalf("PID of a cluster not started here: %d", pid)
	}
}
