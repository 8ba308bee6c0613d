package selfcheck

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kdbench/kdbench/collectors/results"
)

var id = results.RepID{System: "k8s", Size: 3}

const csvBody = "namespace,name,uid,node,bound_unix_ns,ready_unix_ns\n" +
	"ns,a,u1,n0,1000000000,1200000000\n" +
	"ns,b,u2,n1,1000000000,1210000000\n"

func TestFetchNodeAgentTimings(t *testing.T) {
	var gotSince string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotSince = r.URL.Query().Get("since")
		w.Write([]byte(csvBody))
	}))
	defer srv.Close()
	ts, err := FetchNodeAgentTimings(context.Background(), srv.URL, time.Unix(0, 42))
	require.NoError(t, err)
	require.Equal(t, "42", gotSince)
	require.Equal(t, []PodTiming{{"ns", "a", "n0", 1e9, 1.2e9}, {"ns", "b", "n1", 1e9, 1.21e9}}, ts)
}

func TestParseTimingsErrors(t *testing.T) {
	for name, tc := range map[string]struct{ body, want string }{
		"empty":      {"", "src: reading header"},
		"wrong head": {"namespace,name,uid,node,bound,ready\n", `header column 5 is "bound", want "bound_unix_ns"`},
		"short head": {"namespace,name\n", "header [namespace name]"},
		"bad number": {"namespace,name,uid,node,bound_unix_ns,ready_unix_ns\nns,a,u,n,12x,5\n", "src: line 2"},
		"ragged row": {"namespace,name,uid,node,bound_unix_ns,ready_unix_ns\nns,a,u\n", "src: line 2"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseTimings(strings.NewReader(tc.body), "src")
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestLagChecks(t *testing.T) {
	timings, err := ParseTimings(strings.NewReader(csvBody), "x")
	require.NoError(t, err)
	for _, tc := range []struct {
		name    string
		delay   time.Duration
		verdict results.Verdict
	}{
		{"agent as configured", 200 * time.Millisecond, results.VerdictOK}, // lags 0 and 10 ms
		{"agent slower than its delay", 100 * time.Millisecond, results.VerdictWarn},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cs := NodeAgentLag(id, timings, tc.delay)
			require.Len(t, cs, 1)
			require.Equal(t, results.CheckNodeAgentLag, cs[0].Name)
			require.Equal(t, tc.verdict, cs[0].Verdict, "%v", cs[0])
		})
	}
	recs := []results.PodRecord{
		{Namespace: "ns", Pod: "a", Ready: 1.205e9},
		{Namespace: "ns", Pod: "b", Ready: 1.51e9}, // seen 300 ms after the write
		{Namespace: "ns", Pod: "c", Ready: 2e9},    // unknown to the agent: ignored
	}
	cs := WatchLag(id, recs, timings)
	require.Len(t, cs, 1)
	require.InDelta(t, 0.3, cs[0].Value, 1e-9)
	require.Equal(t, results.VerdictWarn, cs[0].Verdict)
	require.Nil(t, WatchLag(id, nil, timings))
}

func TestDroppedFrom(t *testing.T) {
	ready := func(name string) corev1.Pod {
		return corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name},
			Status: corev1.PodStatus{Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}}
	}
	pods := []corev1.Pod{ready("a"), ready("b"), ready("c"), {ObjectMeta: metav1.ObjectMeta{Name: "pending"}}}
	c := DroppedFrom(pods, map[string]bool{"a": true, "b": false}, id)
	require.Equal(t, 2.0, c.Value) // c missed, b only relisted
	require.Equal(t, results.VerdictWarn, c.Verdict)
	c = DroppedFrom(pods[:1], map[string]bool{"a": true}, id)
	require.Equal(t, results.VerdictOK, c.Verdict)
}

func TestThrottleWindow(t *testing.T) {
	w := StartThrottleWindow()
	rateLimiterHook{}.Observe(context.Background(), "GET", url.URL{}, 30*time.Millisecond)
	c := w.Check(id)
	require.Equal(t, results.CheckClientThrottle, c.Name)
	require.InDelta(t, 0.03, c.Value, 1e-9)
	require.Equal(t, results.VerdictWarn, c.Verdict)
	w = StartThrottleWindow() // a new window forgets the last one's waits
	require.Equal(t, results.VerdictOK, w.Check(id).Verdict)
}
