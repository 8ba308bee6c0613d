// Package failover is the failover experiment: during a burst and at steady
// state it crash-restarts, stalls or cuts the link of each hop on the
// scale-out path (autoscaler, Deployment controller, ReplicaSet controller,
// scheduler, node agent), then times recovery — from injection until the
// API server shows exactly the desired Ready pods — and checks the
// invariants after every fault: the desired count reached, no pod
// duplicated, nothing leaked after scaling to zero, no deleted pod back.
//
// The experiment is data (Plan: cases of system × size × phase × target ×
// kind × rep); an Executor runs one case on a cluster. Each finished case
// is one fsync'd row of recovery.csv, so a run killed with -9 resumes
// (Config.Resume) without losing or repeating a finished measurement.
package failover
