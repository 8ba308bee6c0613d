package main

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kdbench/kdbench/baselines"
	"github.com/kdbench/kdbench/collectors/results"
	"github.com/kdbench/kdbench/workloads/failover"
)

func TestExitCode(t *testing.T) {
	require.Equal(t, 1, exitCode(fmt.Errorf("gate: %w", &results.RegressionError{})))
	require.Equal(t, 2, exitCode(errors.New(`unknown system "borg"`)))
	require.Equal(t, 1, exitCode(errors.Join(failover.ErrViolations, errors.New("kd/10/burst: duplicated pod"))))
	require.Equal(t, 4, exitCode(fmt.Errorf("scale-pods: %w", baselines.AsRefusal(errors.New("dirigent runs no pods")))))
}
