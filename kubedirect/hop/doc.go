// Package hop implements one hop of a Kubedirect chain.
//
// Core is the protocol state machine of a hop. It is deterministic and not safe
// for concurrent use: a driver feeds it events (handshakes, frames,
// disconnections, local writes) one at a time and ships the frames it returns.
// Runtime is the concurrent driver used in processes (gRPC or in-memory links);
// the model tests drive Cores from a seeded discrete-event simulator.
//
// Protocol, per link between an upstream U (client) and a downstream D (server):
//
//   - Handshake: U sends Hello proposing an epoch above any it used; D picks
//     max(proposal, its last epoch+1, its clock), which supersedes every older
//     stream even across restarts, and replies with its truth: every record it
//     reports upstream (a reply's Seq counts the batches that continue the
//     truth; U treats it as complete only after the last). Frames carry the
//     epoch and a sequence number; frames of any other epoch are rejected and
//     their stream dropped.
//   - Resync: U merges D's truth, then re-forwards every record routed to D that
//     D's truth does not already dominate. Both sides then track what the other
//     is known to hold (the pairwise agreement) and send only what it lacks.
//   - Invalidation: on disconnect each side discards its view of the other; on
//     the next handshake a changed incarnation tells a crash from a link break.
//     A hop restarted empty rebuilds from its neighbours' resyncs; it runs no
//     control logic until every downstream peer has resynced (Synced), so it
//     never re-creates or re-binds what already exists below it.
//   - Merge: records join as a semilattice (wire.Record.Merge), so duplicates,
//     replays and crossing resyncs are harmless and phases never go back.
//   - Tombstones: termination intent (PhaseTerminating) is forwarded towards
//     the tail like any state; the tail confirms it (PhaseTerminated), and the
//     confirmation flows back up to the hop where the record's segment starts
//     (the hop that does not report it upstream). That hop releases it: it
//     drops the record and sends Release downstream, each hop dropping and
//     forwarding it. A tombstone is thus only collected once the tail and every
//     hop that could hold the object live have seen it, so nothing can bring the
//     object back; a lost Release is recovered by the next resync, which shows
//     the head the confirmed tombstone again.
package hop
