//go:build tools

// Package k8sbin pins the upstream Kubernetes commands that the local cluster
// runs (built by the Makefile with `go build k8s.io/kubernetes/cmd/...`) and
// libraries that later packages use, so that `go mod tidy` keeps them.
package k8sbin

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"

	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/spf13/cobra"
	_ "github.com/stretchr/testify/require"
	_ "go.etcd.io/etcd/server/v3/embed"
	_ "gonum.org/v1/plot"
	_ "google.golang.org/grpc"
	_ "k8s.io/client-go/kubernetes"
)
