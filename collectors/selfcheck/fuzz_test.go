package selfcheck

import (
	"bytes"
	"testing"
)

// FuzzParseTimings: the node agent's timings CSV parses to valid records or
// fails with an error, never a panic. `make fuzz` fuzzes it briefly.
func FuzzParseTimings(f *testing.F) {
	for _, s := range []string{
		"uid,namespace,name,node,bound_unix_ns,ready_unix_ns\nu1,ns,p1,n1,1700000000000000000,1700000000200000000\n",
		"namespace,name,node,bound_unix_ns,ready_unix_ns\nns,p,n,0,1\n",
		"namespace,name,node,bound_unix_ns,ready_unix_ns\nns,p,n,1\n",
		"namespace,name\n",
		"",
		"\"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ts, err := ParseTimings(bytes.NewReader(data), "fuzz")
		if err != nil {
			return
		}
		for _, tm := range ts {
			if err := tm.validate(); err != nil {
				t.Fatalf("accepted an invalid record: %v", err)
			}
		}
	})
}
