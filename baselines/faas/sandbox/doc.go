// Package sandbox is the function runtime of the local cluster's pods: a small
// HTTP server per Ready pod, listening on the loopback address mapped from the
// pod's (non-loopback, simulated) IP, that executes invocations for their
// requested duration and reports what it measured.
//
// Linux routes all of 127.0.0.0/8 to the loopback interface, so every pod of
// every simulated node can have an address of its own without any network
// setup: pod IP a.b.c.d serves on 127.b.c.d (Addr). The mapping is unique as
// long as the pod CIDR lies within one /8, which the node agent's default
// (10.128.0.0/9) does.
//
// An invocation sleeps by default (the papers' workload pods sleep); Spin
// busy-waits instead, burning a CPU. Memory is recorded, not allocated, unless
// Allocate asks for it.
package sandbox
