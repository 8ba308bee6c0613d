package selfcheck

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/kdbench/kdbench/collectors/results"
)

func pod(name string, ready bool) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns"}}
	if ready {
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
	}
	return p
}

type seenMap map[string]bool

func (s seenMap) ReadyObserved() map[string]bool { return s }

func TestDropped(t *testing.T) {
	terminating := pod("t", true)
	terminating.DeletionTimestamp = &metav1.Time{}
	for _, tc := range []struct {
		name    string
		pods    []runtime.Object
		seen    seenMap
		want    float64
		verdict results.Verdict
		detail  string
	}{
		{"every Ready seen through the watch", []runtime.Object{pod("a", true), pod("b", true)}, seenMap{"a": true, "b": true},
			0, results.VerdictOK, "of 2 pods Ready in the API server, 0 never seen"},
		{"one never seen, one only relisted", []runtime.Object{pod("a", true), pod("b", true), pod("c", true)}, seenMap{"a": true, "b": false},
			2, results.VerdictWarn, "1 never seen Ready by the harness, 1 seen Ready only through a relist"},
		{"pods not Ready do not count", []runtime.Object{pod("a", false), terminating}, seenMap{},
			0, results.VerdictOK, "of 0 pods Ready"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cs := Dropped(context.Background(), fake.NewClientset(tc.pods...), "ns", tc.seen, id)
			require.Len(t, cs, 1)
			c := cs[0]
			require.Equal(t, results.CheckDroppedEvents, c.Name)
			require.Equal(t, tc.want, c.Value)
			require.Equal(t, tc.verdict, c.Verdict)
			require.Contains(t, c.Detail, tc.detail)
		})
	}

	broken := fake.NewClientset()
	broken.PrependReactor("list", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("etcd is down")
	})
	cs := Dropped(context.Background(), broken, "ns", seenMap{}, id)
	require.Len(t, cs, 1)
	require.Equal(t, results.VerdictWarn, cs[0].Verdict, "a check that could not be made warns")
	require.Contains(t, cs[0].Detail, "not measured: listing the pods of ns: etcd is down")
}
