// Package cloudlab sets up kdbench's clusters on CloudLab bare metal: it
// writes the geni-lib profile that requests the machines, reads the running
// experiment's manifest, and bootstraps Kubernetes and the systems under test
// over SSH as named, idempotent steps (each a check, and an apply run only when
// the check fails), recorded in a state file so that a re-run resumes. Once
// the kubeconfig is back, experiments run through the existing provider.
package cloudlab
