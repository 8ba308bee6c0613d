package dirigent

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/kdbench/kdbench/workloads/trace"
)

// Invoke runs one call and returns its record in the loader's result
// format, with the error that failed it, if any. The record's Instance is
// the function's name; metrics.FunctionOf groups instances by their part
// before the first '-', so a replay names functions without one (or sets
// Instance itself). A request that found no
// sandbox in time, or could not reach the data plane, is a connection
// timeout; one that failed in its sandbox is a function timeout, as the
// loader classifies them.
func (d *Deployment) Invoke(ctx context.Context, function string, c Call) (trace.Record, error) {
	start := time.Now()
	rep, err := d.Call(ctx, function, c)
	return newRecord(function, c, start, time.Since(start), rep, err), err
}

// newRecord is the record of call c of function that started at start,
// took rt and ended in rep or err.
func newRecord(function string, c Call, start time.Time, rt time.Duration, rep Reply, err error) trace.Record {
	r := trace.Record{
		Phase:               2,
		Instance:            function,
		InvocationID:        c.ID,
		StartTime:           start.UnixMicro(),
		RequestedDurationUs: c.RuntimeUs,
		ResponseTimeUs:      rt.Microseconds(),
	}
	if err != nil {
		var se *StatusError
		if errors.As(err, &se) && se.Status == http.StatusBadGateway {
			r.FunctionTimeout = true
		} else {
			r.ConnectionTimeout = true
		}
		return r
	}
	r.ActualDurationUs = rep.DurationUs
	r.UserCodeExecutionUs = rep.DurationUs
	r.ActualMemoryUsageMiB = rep.MemoryMiB
	r.TimeToSubmitUs = rep.QueueUs
	r.TimeToGetResponseUs = max(0, r.ResponseTimeUs-rep.QueueUs-rep.DurationUs)
	return r
}
