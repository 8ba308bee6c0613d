package main

import (
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// TestSandboxFlags: --pod-netns takes a name under /run/netns or a path,
// needs --function-sandboxes, and names a namespace that exists.
func TestSandboxFlags(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		path    string
		sandbox bool
		err     string
	}{
		{nil, "", false, ""},
		{[]string{"--function-sandboxes"}, "", true, ""},
		{[]string{"--function-sandboxes", "--pod-netns=/proc/self/ns/net"}, "/proc/self/ns/net", true, ""},
		{[]string{"--pod-netns=x"}, "/run/netns/x", false, "--pod-netns needs --function-sandboxes"},
		{[]string{"--function-sandboxes", "--pod-netns=kdbench-no-such-ns"}, "/run/netns/kdbench-no-such-ns", false, "--pod-netns=kdbench-no-such-ns"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var f sandboxFlag
			fs := pflag.NewFlagSet("nodeagent", pflag.ContinueOnError)
			f.add(fs)
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			if got := f.podNetns(); got != tc.path {
				t.Errorf("namespace path %q, want %q", got, tc.path)
			}
			opts, closeFn, err := f.options()
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer closeFn()
			if (len(opts) > 0) != tc.sandbox {
				t.Errorf("%d agent options, want sandboxes %v", len(opts), tc.sandbox)
			}
		})
	}
}
