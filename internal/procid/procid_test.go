package procid

import (
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
)

func TestCheck(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {})
	for _, c := range []struct {
		name    string
		handler http.Handler
		pid     int
		wantErr bool
	}{
		{"this process", Handler(ok), os.Getpid(), false},
		{"another process", Handler(ok), os.Getpid() + 1, true},
		{"no header", ok, os.Getpid(), true},
	} {
		rec := httptest.NewRecorder()
		c.handler.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
		if err := Check(rec.Result(), c.pid); (err != nil) != c.wantErr {
			t.Errorf("%s: Check = %v, want error %v", c.name, err, c.wantErr)
		}
	}
}
