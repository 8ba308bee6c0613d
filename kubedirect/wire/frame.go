package wire

import "fmt"

// FrameType says what a frame is for.
type FrameType uint8

const (
	// FrameHello opens a new epoch: the upstream (client) proposes an epoch.
	FrameHello FrameType = 1
	// FrameHelloReply accepts it: the downstream (server) states the chosen
	// epoch and carries its truth (every record it reports upstream).
	FrameHelloReply FrameType = 2
	// FrameBatch carries operations within an established epoch.
	FrameBatch FrameType = 3
)

func (t FrameType) String() string {
	switch t {
	case FrameHello:
		return "Hello"
	case FrameHelloReply:
		return "HelloReply"
	case FrameBatch:
		return "Batch"
	}
	return fmt.Sprintf("FrameType(%d)", uint8(t))
}

// OpType is the operation applied to a record.
type OpType uint8

const (
	// OpUpsert merges the record into the receiver's cache.
	OpUpsert OpType = 1
	// OpRelease garbage-collects a confirmed tombstone: the receiver drops the
	// record and forwards the release towards the tail.
	OpRelease OpType = 2
)

func (t OpType) String() string {
	switch t {
	case OpUpsert:
		return "Upsert"
	case OpRelease:
		return "Release"
	}
	return fmt.Sprintf("OpType(%d)", uint8(t))
}

// Op is one operation in a frame.
type Op struct {
	Type   OpType
	Record Record
}

// Frame is one message on a link.
type Frame struct {
	Type  FrameType
	Epoch uint64
	// Seq numbers batches within an epoch from 1; a gap means a broken stream.
	Seq uint64
	// SentNs is the sender's clock (ns since the Unix epoch) when the frame was
	// handed to the transport; receivers stamp their own receive time.
	SentNs int64
	// Incarnation identifies the sender's process lifetime; a new value on a
	// handshake tells the peer it crashed and restarted.
	Incarnation uint64
	From, To    string // hop names (Hello and HelloReply)
	Ops         []Op
}

// Limits on decoded input; they bound the memory a bad or hostile frame can
// make the receiver allocate.
const (
	MaxStringLen = 1024
	MaxOps       = 1 << 16
	MaxFrameSize = 16 << 20
	version      = 1
)

// Validate checks the frame's structure beyond what decoding enforces.
func (f *Frame) Validate() error {
	switch f.Type {
	case FrameHello:
		if f.From == "" || f.To == "" {
			return fmt.Errorf("hello frame: empty from/to (%q → %q)", f.From, f.To)
		}
		if len(f.Ops) != 0 {
			return fmt.Errorf("hello frame: carries %d ops", len(f.Ops))
		}
	case FrameHelloReply, FrameBatch:
	default:
		return fmt.Errorf("frame: unknown type %d", f.Type)
	}
	if f.Epoch == 0 {
		return fmt.Errorf("%s frame: epoch 0", f.Type)
	}
	for i := range f.Ops {
		op := &f.Ops[i]
		if op.Type != OpUpsert && op.Type != OpRelease {
			return fmt.Errorf("%s frame op %d: unknown op type %d", f.Type, i, op.Type)
		}
		if f.Type == FrameHelloReply && op.Type != OpUpsert {
			return fmt.Errorf("hello reply op %d: %s not allowed", i, op.Type)
		}
		if err := op.Record.Validate(); err != nil {
			return fmt.Errorf("%s frame op %d: %w", f.Type, i, err)
		}
	}
	return nil
}
