package kd

import (
	"errors"
	"testing"
)

// TestPortTaken: only a process that exited on a taken port makes Prepare
// retry; a process that fails otherwise or never gets ready does not.
func TestPortTaken(t *testing.T) {
	for _, tc := range []struct {
		err   error
		retry bool
	}{
		{errors.New("kd-scheduler exited during start-up (exit status 1); see s.log:\n    listen tcp 127.0.0.1:41234: bind: address already in use"), true},
		{errors.New("kd-scheduler exited during start-up (exit status 1); see s.log:\n    unknown flag: --bogus"), false},
		{errors.New("kd-scheduler not ready (last check: dial tcp: address already in use); see s.log"), false},
		{errors.New("kd: restarting the kube-controller-manager with --controllers=*,-deployment,-replicaset: forbidden"), false},
	} {
		if got := portTaken(tc.err); got != tc.retry {
			t.Errorf("portTaken(%q) = %v, want %v", tc.err, got, tc.retry)
		}
	}
}
