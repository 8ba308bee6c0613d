package adapter

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestWritesCoalesce: while a key's write runs, later writes of that key
// wait and only the latest of them runs; other keys are not held up.
func TestWritesCoalesce(t *testing.T) {
	var w writes
	var started []func() // writes handed to run, not yet run
	run := func(f func()) { started = append(started, f) }
	var ran []string
	write := func(s string) func() { return func() { ran = append(ran, s) } }

	w.do("a", write("a1"), run)
	w.do("a", write("a2"), run)
	w.do("a", write("a3"), run)
	w.do("b", write("b1"), run)
	require.Len(t, started, 2, "one runner per key")
	started[0]() // a1, then the latest waiting write of a
	require.Equal(t, []string{"a1", "a3"}, ran, "a2 was superseded by a3")
	started[1]()
	require.Equal(t, []string{"a1", "a3", "b1"}, ran)

	// Idle again: the next write of a starts its own runner.
	w.do("a", write("a4"), run)
	require.Len(t, started, 3)
	started[2]()
	require.Equal(t, "a4", ran[len(ran)-1])
	require.Empty(t, w.running)
	require.Empty(t, w.pending)
}
