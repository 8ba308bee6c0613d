package adapter

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kdbench/kdbench/kubedirect/egress"
)

// TestStatusWritesSkipTheLastWritten drives a managed ReplicaSet's and
// Deployment's status writes through the client and counts those that
// reach the API server: a status equal to the last written is skipped,
// unless the object was recreated (new UID) or the last write failed.
func TestStatusWritesSkipTheLastWritten(t *testing.T) {
	type step struct {
		uid      types.UID
		replicas int32
		fail     bool // the API server refuses this write
		written  bool // the write reaches the API server
	}
	cases := []struct {
		name  string
		steps []step
	}{
		{"equal status once", []step{{"a", 3, false, true}, {"a", 3, false, false}, {"a", 3, false, false}}},
		{"changed status", []step{{"a", 3, false, true}, {"a", 4, false, true}, {"a", 3, false, true}}},
		{"recreated object", []step{{"a", 0, false, true}, {"b", 0, false, true}, {"b", 0, false, false}}},
		{"failed write is retried", []step{{"a", 3, true, true}, {"a", 3, false, true}, {"a", 3, false, false}}},
	}
	for _, kind := range []string{"replicasets", "deployments"} {
		for _, tc := range cases {
			t.Run(kind+"/"+tc.name, func(t *testing.T) {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				rt := headHop(t, ctx)
				labels := map[string]string{egress.ManagedLabel: "true"}
				api := fake.NewClientset(
					&appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "o", Labels: labels}},
					&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "o", Labels: labels}})
				fail, calls := false, 0
				api.PrependReactor("update", kind, func(a k8stesting.Action) (bool, runtime.Object, error) {
					if a.GetSubresource() != "status" {
						return false, nil, nil
					}
					calls++
					if fail {
						return true, nil, errors.New("refused")
					}
					return false, nil, nil
				})
				c := NewClient(api, egress.New(rt), rt.Store())
				c.Background = func(f func()) { f() }
				for i, s := range tc.steps {
					fail = s.fail
					before := calls
					meta := metav1.ObjectMeta{Namespace: "ns", Name: "o", UID: s.uid, Labels: labels}
					var err error
					if kind == "replicasets" {
						_, err = c.AppsV1().ReplicaSets("ns").UpdateStatus(ctx,
							&appsv1.ReplicaSet{ObjectMeta: meta, Status: appsv1.ReplicaSetStatus{Replicas: s.replicas}}, metav1.UpdateOptions{})
					} else {
						_, err = c.AppsV1().Deployments("ns").UpdateStatus(ctx,
							&appsv1.Deployment{ObjectMeta: meta, Status: appsv1.DeploymentStatus{Replicas: s.replicas}}, metav1.UpdateOptions{})
					}
					require.NoError(t, err, "step %d: a managed status write is reported done", i)
					require.Equal(t, s.written, calls > before, "step %d: written to the API server", i)
				}
			})
		}
	}
}
