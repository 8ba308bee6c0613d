// Package procid lets the harness tell the process it started from another
// that took the same port meanwhile. Ports are picked free before a child
// starts, so a parallel run can grab one first; the child then exits, and
// without this its readiness probe could be answered by the other process.
// Every component HTTP endpoint the harness probes names its process in a
// response header.
package procid

import (
	"fmt"
	"net/http"
	"os"
	"strconv"
)

// Header carries the serving process's pid.
const Header = "Kdbench-Pid"

// Handler sets Header on every response of h.
func Handler(h http.Handler) http.Handler {
	pid := strconv.Itoa(os.Getpid())
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(Header, pid)
		h.ServeHTTP(w, r)
	})
}

// Check returns an error unless resp came from process pid.
func Check(resp *http.Response, pid int) error {
	got := resp.Header.Get(Header)
	if got != strconv.Itoa(pid) {
		if got == "" {
			got = "a process that does not say"
		} else {
			got = "process " + got
		}
		return fmt.Errorf("answered by %s, not by process %d (its port was taken?)", got, pid)
	}
	return nil
}
