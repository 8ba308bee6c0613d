package main

import (
	"io"
	"os"
	"sync"

	"google.golang.org/grpc/grpclog"
)

// quietGRPC keeps gRPC's errors and drops its warnings for the harness's
// own commands (run, ae): a hop restarted on purpose by the failover
// experiment makes the in-process autoscaler's link log a reconnect warning
// per attempt, which buried the results on the terminal. The hop processes
// (internal kd-*) keep their warnings, in their logs.
func quietGRPC() {
	quietOnce.Do(func() { grpclog.SetLoggerV2(grpclog.NewLoggerV2(io.Discard, io.Discard, os.Stderr)) })
}

// quietOnce: gRPC's logger is a plain global, to be set once, before use.
var quietOnce sync.Once
