package egress

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kdbench/kdbench/kubedirect/wire"
)

func TestPodRecord(t *testing.T) {
	yes := true
	created := metav1.NewTime(time.Unix(0, 1700000000000000000))
	now := metav1.Now()
	base := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p", UID: "u", CreationTimestamp: created,
		Labels:          map[string]string{ManagedLabel: "true", TemplateLabel: "h1"},
		OwnerReferences: []metav1.OwnerReference{{Kind: "ReplicaSet", Name: "rs", Controller: &yes}}}}
	cases := []struct {
		name    string
		mutate  func(p *corev1.Pod)
		phase   wire.Phase
		node    string
		wantErr string
	}{
		{"pending", func(*corev1.Pod) {}, wire.PhasePending, "", ""},
		{"bound", func(p *corev1.Pod) { p.Spec.NodeName = "n1" }, wire.PhaseBound, "n1", ""},
		{"deleting", func(p *corev1.Pod) { p.DeletionTimestamp = &now }, wire.PhaseTerminating, "", ""},
		{"no name", func(p *corev1.Pod) { p.Name = "" }, 0, "", "empty name"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := base.DeepCopy()
			tc.mutate(p)
			r, err := PodRecord(p)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want error with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := wire.Record{Kind: wire.KindPod, Phase: tc.phase, Namespace: "ns", Name: "p", UID: "u", Owner: "rs",
				Node: tc.node, Template: "h1", CreatedNs: created.UnixNano()}
			if r != want {
				t.Fatalf("got %+v\nwant %+v", r, want)
			}
		})
	}
}

func TestRandomNames(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		s := randomSuffix()
		if len(s) != 5 || strings.Trim(s, suffixChars) != "" {
			t.Fatalf("bad suffix %q", s)
		}
		u := randomUID()
		if len(u) != 36 || seen[u] {
			t.Fatalf("bad or repeated uid %q", u)
		}
		seen[u] = true
	}
}
