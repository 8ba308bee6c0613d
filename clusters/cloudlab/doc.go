// Package cloudlab sets up kdbench's clusters on CloudLab bare metal: it
// writes the geni-lib profile that requests the machines, reads the running
// experiment's manifest, and bootstraps Kubernetes (the Kubedirect
// artifact's large-cluster kubeadm setup; versions.go says what is pinned
// and what is left out) and kdbench over SSH as named, idempotent steps
// (each a check, and an apply run only when the check fails), recorded in a
// state file so that a re-run resumes. Once the kubeconfig is back,
// experiments run through the existing provider.
package cloudlab
