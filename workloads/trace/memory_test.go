package trace

import (
	"errors"
	"strings"
	"testing"
)

// A trace whose one minute asks for 2·10⁹ invocations is refused with an
// error naming the function and the count, before any allocation (the
// allocation itself would abort the process).
func TestGeneratorRefusesScheduleTooLargeForMemory(t *testing.T) {
	tr := &Trace{Functions: []Function{
		{HashFunction: "small", Invocations: []int32{3}},
		{HashFunction: "huge", Invocations: []int32{2_000_000_000}},
	}}
	opts := DefaultOptions()
	opts.Minutes = 1
	opts.MemoryLimit = 1 << 30
	_, err := NewGenerator(tr, opts)
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "function huge (row 1) has 2000000000 invocations") {
		t.Fatalf("NewGenerator: %v; want ErrTooLarge naming function huge and its count", err)
	}
	// Streaming holds one function at a time; the whole schedule holds all.
	tr.Functions[1].Invocations[0] = 40_000_000 // 640 MB
	tr.Functions = append(tr.Functions, Function{HashFunction: "also", Invocations: []int32{40_000_000}})
	if _, err := NewGenerator(tr, opts); err != nil {
		t.Fatalf("NewGenerator of functions that fit one at a time: %v", err)
	}
	if _, err := Generate(tr, opts); !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "the first 3 functions 80000003 together") {
		t.Fatalf("Generate: %v; want ErrTooLarge naming the total", err)
	}
}
