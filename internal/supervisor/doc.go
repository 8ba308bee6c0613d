// Package supervisor is the one place kdbench starts OS processes: the
// local cluster's components, Kubedirect's hops, node agents, and on a
// remote host the components `kdbench internal supervise` runs there
// (docs/placement.md).
//
// A supervised process runs in its own process group (a terminal's Ctrl-C
// reaches only kdbench, which then stops the group, and stopping the group
// reaches whatever the process forked), writes to a log file that starts
// with a banner, and with Attached dies with kdbench (Pdeathsig), even when
// kdbench is killed. It is identified by pid and start time, so that a pid
// read back from a state file is not mistaken for a recycled one. Health
// checks count only the process's own answer (internal/procid), and errors
// name the process and quote its log.
package supervisor
