package failover

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
)

// ev is one scripted informer event: add, update or delete of pod name/uid.
type ev struct {
	op        byte // 'a', 'u', 'd', 't' (delete seen as a tombstone)
	name, uid string
	ready     bool
	deleting  bool
}

func pod(e ev) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: e.name, UID: types.UID(e.uid)}}
	if e.ready {
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
	}
	if e.deleting {
		now := metav1.Now()
		p.DeletionTimestamp = &now
	}
	return p
}

func play(c *Checker, evs []ev) {
	for _, e := range evs {
		switch e.op {
		case 'a':
			c.OnAdd(pod(e), false)
		case 'u':
			c.OnUpdate(nil, pod(e))
		case 'd':
			c.OnDelete(pod(e))
		case 't':
			c.OnDelete(cache.DeletedFinalStateUnknown{Key: "ns/" + e.name, Obj: pod(e)})
		}
	}
}

func kinds(vs []Violation) []string {
	var out []string
	for _, v := range vs {
		out = append(out, v.Kind)
	}
	return out
}

func TestCheckerInvariants(t *testing.T) {
	for _, tc := range []struct {
		name      string
		want      int
		events    []ev
		converged bool
		// violations seen while the events happen, then at the deadline
		seen, atEnd []string
		leak        bool
	}{
		{name: "clean burst", want: 2, converged: true, events: []ev{
			{op: 'a', name: "a", uid: "1"}, {op: 'a', name: "b", uid: "2"},
			{op: 'u', name: "a", uid: "1", ready: true}, {op: 'u', name: "b", uid: "2", ready: true}}, leak: true},
		{name: "short: one pod never Ready", want: 2, events: []ev{
			{op: 'a', name: "a", uid: "1", ready: true}, {op: 'a', name: "b", uid: "2"}},
			atEnd: []string{Short}, leak: true},
		{name: "excess: a third pod", want: 2, events: []ev{
			{op: 'a', name: "a", uid: "1", ready: true}, {op: 'a', name: "b", uid: "2", ready: true},
			{op: 'a', name: "c", uid: "3", ready: true}}, atEnd: []string{Excess}, leak: true},
		{name: "terminating pods do not count as Ready", want: 1, events: []ev{
			{op: 'a', name: "a", uid: "1", ready: true}, {op: 'a', name: "b", uid: "2", ready: true},
			{op: 'u', name: "b", uid: "2", ready: true, deleting: true}}, atEnd: []string{Excess}, leak: true},
		{name: "duplicate name under two UIDs", want: 2, converged: true, events: []ev{
			{op: 'a', name: "a", uid: "1", ready: true}, {op: 'a', name: "a", uid: "2", ready: true}},
			seen: []string{Duplicate}, leak: true},
		{name: "same UID added twice", want: 1, converged: true, events: []ev{
			{op: 'a', name: "a", uid: "1", ready: true}, {op: 'a', name: "a", uid: "1", ready: true}},
			seen: []string{Duplicate}, leak: true},
		{name: "tombstoned pod comes back", want: 1, converged: true, events: []ev{
			{op: 'a', name: "a", uid: "1", ready: true}, {op: 'a', name: "b", uid: "2", ready: true},
			{op: 't', name: "b", uid: "2"}, {op: 'a', name: "b", uid: "2", ready: true}, {op: 'd', name: "b", uid: "2"}},
			seen: []string{Resurrection}, leak: true},
		{name: "deleted name reused under a new UID", want: 1, converged: true, events: []ev{
			{op: 'a', name: "a", uid: "1", ready: true}, {op: 'd', name: "a", uid: "1"}, {op: 'a', name: "a", uid: "9", ready: true}},
			seen: []string{Resurrection}, leak: true},
		{name: "scaled to zero, nothing left", want: 0, converged: true, events: []ev{
			{op: 'a', name: "a", uid: "1", ready: true}, {op: 'u', name: "a", uid: "1", ready: true, deleting: true}, {op: 'd', name: "a", uid: "1"}}},
		{name: "scaled to zero, one leaked", want: 0, events: []ev{
			{op: 'a', name: "a", uid: "1", ready: true}, {op: 'a', name: "b", uid: "2", ready: true}, {op: 'd', name: "a", uid: "1"}},
			atEnd: []string{Excess}, leak: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := NewChecker(nil)
			c.Want(tc.want)
			play(c, tc.events)
			assert.Equal(t, tc.seen, kinds(c.Violations()))
			done := make(chan struct{})
			close(done)
			at, vs := c.WaitConverged(done)
			assert.Equal(t, tc.converged, !at.IsZero())
			assert.Equal(t, tc.atEnd, kinds(vs))
			assert.Equal(t, tc.leak, len(c.Leaked()) > 0)
		})
	}
}

// TestCheckerStampsConvergence: the converged time is the event that
// reached the count, and a later departure from it resets the stamp.
func TestCheckerStampsConvergence(t *testing.T) {
	clock := time.Unix(100, 0)
	c := NewChecker(func() time.Time { return clock })
	c.Want(1)
	clock = clock.Add(time.Second)
	play(c, []ev{{op: 'a', name: "a", uid: "1"}})
	clock = clock.Add(time.Second)
	play(c, []ev{{op: 'u', name: "a", uid: "1", ready: true}}) // converged at 102
	clock = clock.Add(time.Second)
	play(c, []ev{{op: 'a', name: "b", uid: "2"}}) // 2 pods: not converged
	clock = clock.Add(time.Second)
	play(c, []ev{{op: 'd', name: "b", uid: "2"}}) // converged again at 104
	at, vs := c.WaitConverged(make(chan struct{}))
	require.Empty(t, vs)
	assert.Equal(t, time.Unix(104, 0), at)
}
