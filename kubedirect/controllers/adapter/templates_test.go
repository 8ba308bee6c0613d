package adapter

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	appslisters "k8s.io/client-go/listers/apps/v1"
	toolscache "k8s.io/client-go/tools/cache"
)

func ownedPod(name, owner string, deleting bool) *corev1.Pod {
	p := pod(name, true)
	t := true
	p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: owner, Controller: &t}}
	if deleting {
		now := metav1.Now()
		p.DeletionTimestamp = &now
	}
	return p
}

// TestTemplatesLookups: Decorate fills a pod from the lister without API
// calls, reads an owner the lister lacks from the API server once, and
// does not ask the API server again and again for an owner it does not
// have, nor for a pod being deleted (a deleted namespace's pods).
func TestTemplatesLookups(t *testing.T) {
	idx := toolscache.NewIndexer(toolscache.MetaNamespaceKeyFunc, nsIndexers())
	inLister := rs("listed", true, 1, "1")
	inLister.UID = types.UID("uid-listed")
	require.NoError(t, idx.Add(inLister))
	onlyAPI := rs("lagging", true, 1, "1")
	onlyAPI.UID = types.UID("uid-lagging")
	api := fake.NewClientset(onlyAPI)
	clock := time.Unix(1000, 0)
	tm := &Templates{Lister: appslisters.NewReplicaSetLister(idx), Client: api, now: func() time.Time { return clock }}
	gets := func() int { return len(api.Actions()) }
	uid := func(p *corev1.Pod) types.UID { return p.OwnerReferences[0].UID }

	tests := []struct {
		name     string
		pod      *corev1.Pod
		advance  time.Duration
		wantUID  types.UID
		wantGets int // API lookups so far
	}{
		{"in the lister", ownedPod("p1", "listed", false), 0, "uid-listed", 0},
		{"lister lags: one lookup", ownedPod("p2", "lagging", false), 0, "uid-lagging", 1},
		{"looked up before: cached", ownedPod("p3", "lagging", false), 0, "uid-lagging", 1},
		{"owner gone: one lookup", ownedPod("p4", "gone", false), 0, "", 2},
		{"owner gone: not asked again", ownedPod("p5", "gone", false), missTTL / 2, "", 2},
		{"owner gone: asked again later", ownedPod("p6", "gone", false), missTTL, "", 3},
		{"being deleted: never looked up", ownedPod("p7", "deleted", true), 0, "", 3},
		{"being deleted, owner listed", ownedPod("p8", "listed", true), 0, "uid-listed", 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock = clock.Add(tc.advance)
			require.NoError(t, tm.Decorate(tc.pod))
			require.Equal(t, tc.wantUID, uid(tc.pod))
			require.Equal(t, tc.wantGets, gets())
		})
	}

	// Once the informer has it, the looked-up copy is dropped.
	require.NoError(t, idx.Add(onlyAPI))
	require.NoError(t, tm.Decorate(ownedPod("p9", "lagging", false)))
	require.NotContains(t, tm.cache, "ns/lagging")
}
