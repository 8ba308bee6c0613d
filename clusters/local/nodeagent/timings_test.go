package nodeagent

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

func timing(i int) PodTiming {
	bound := epoch.Add(time.Duration(i) * time.Second)
	t := PodTiming{Namespace: "default", Name: fmt.Sprintf("web-%d", i), UID: types.UID(fmt.Sprintf("uid-%d", i)),
		Node: "kd-node-" + fmt.Sprint(i%2), Bound: bound, Ready: bound.Add(200*time.Millisecond + time.Duration(i)*time.Microsecond),
		SandboxDone: bound.Add(150 * time.Millisecond), WriteSent: bound.Add(190 * time.Millisecond), WritesInFlight: 2 + i,
		WriteThrottled: time.Duration(i) * time.Millisecond}
	if i%2 == 1 { // created by a direct source; the others have no create
		t.CreateSent, t.Created = bound.Add(time.Millisecond), bound.Add(120*time.Millisecond)
		t.CreatesInFlight, t.CreateThrottled = 7, 3*time.Millisecond
	}
	return t
}

func TestTimingLogCSV(t *testing.T) {
	l := NewTimingLog(10)
	for i := range 3 {
		l.PodReady(timing(i))
	}
	var buf bytes.Buffer
	if err := l.WriteCSV(&buf, time.Time{}); err != nil {
		t.Fatal(err)
	}
	golden(t, "timings.golden.csv", buf.Bytes())
}

func TestTimingLogBoundAndSince(t *testing.T) {
	l := NewTimingLog(3)
	for i := range 5 {
		l.PodReady(timing(i))
	}
	tests := []struct {
		query     string
		status    int
		wantNames []string
	}{
		{"", http.StatusOK, []string{"web-2", "web-3", "web-4"}}, // the oldest two were pushed out
		{"?since=" + fmt.Sprint(timing(3).Ready.UnixNano()), http.StatusOK, []string{"web-3", "web-4"}},
		{"?since=" + fmt.Sprint(timing(9).Ready.UnixNano()), http.StatusOK, nil},
		{"?since=yesterday", http.StatusBadRequest, nil},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		l.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/timings"+tt.query, nil))
		if rec.Code != tt.status {
			t.Errorf("%q: status %d, want %d", tt.query, rec.Code, tt.status)
			continue
		}
		if tt.status != http.StatusOK {
			continue
		}
		if got := rec.Header().Get("X-Kdbench-Timings-Dropped"); got != "2" {
			t.Errorf("%q: dropped header %q, want 2", tt.query, got)
		}
		lines := strings.Split(strings.TrimSpace(rec.Body.String()), "\n")
		var names []string
		for _, line := range lines[1:] {
			names = append(names, strings.Split(line, ",")[1])
		}
		if fmt.Sprint(names) != fmt.Sprint(tt.wantNames) {
			t.Errorf("%q: pods %v, want %v", tt.query, names, tt.wantNames)
		}
	}
}
