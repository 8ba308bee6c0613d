package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrTruncated is wrapped by decode errors for input that ends early.
var ErrTruncated = errors.New("truncated")

// minOpSize is the encoding size of an op whose strings are empty and whose
// integers are zero.
const minOpSize = 12

// Encoding, all integers as varints:
//
//	frame  := version:u8 type:u8 epoch:uv seq:uv sentNs:v incarnation:uv from:str to:str nops:uv op*
//	op     := type:u8 record
//	record := kind:u8 phase:u8 ns:str name:str uid:str owner:str node:str template:str
//	          replicas:v generation:uv createdNs:v
//	str    := len:uv bytes

// AppendFrame appends f's encoding to b.
func AppendFrame(b []byte, f *Frame) []byte {
	b = append(b, version, byte(f.Type))
	b = binary.AppendUvarint(b, f.Epoch)
	b = binary.AppendUvarint(b, f.Seq)
	b = binary.AppendVarint(b, f.SentNs)
	b = binary.AppendUvarint(b, f.Incarnation)
	b = appendString(b, f.From)
	b = appendString(b, f.To)
	b = binary.AppendUvarint(b, uint64(len(f.Ops)))
	for i := range f.Ops {
		b = append(b, byte(f.Ops[i].Type))
		b = AppendRecord(b, &f.Ops[i].Record)
	}
	return b
}

// AppendRecord appends r's encoding to b.
func AppendRecord(b []byte, r *Record) []byte {
	b = append(b, byte(r.Kind), byte(r.Phase))
	b = appendString(b, r.Namespace)
	b = appendString(b, r.Name)
	b = appendString(b, r.UID)
	b = appendString(b, r.Owner)
	b = appendString(b, r.Node)
	b = appendString(b, r.Template)
	b = binary.AppendVarint(b, int64(r.Replicas))
	b = binary.AppendUvarint(b, r.Generation)
	b = binary.AppendVarint(b, r.CreatedNs)
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// DecodeFrame decodes and validates one frame. On error f is left zeroed, so a
// bad frame can never leak partial state to the caller.
func DecodeFrame(data []byte, f *Frame) error {
	*f = Frame{}
	if len(data) > MaxFrameSize {
		return fmt.Errorf("frame: %d bytes exceeds limit %d", len(data), MaxFrameSize)
	}
	d := decoder{b: data}
	if v := d.u8("version"); d.err == nil && v != version {
		return fmt.Errorf("frame: unsupported version %d", v)
	}
	var g Frame
	g.Type = FrameType(d.u8("type"))
	g.Epoch = d.uvarint("epoch")
	g.Seq = d.uvarint("seq")
	g.SentNs = d.varint("sentNs")
	g.Incarnation = d.uvarint("incarnation")
	g.From = d.str("from")
	g.To = d.str("to")
	n := d.uvarint("op count")
	if d.err == nil && n > MaxOps {
		return fmt.Errorf("frame: %d ops exceeds limit %d", n, MaxOps)
	}
	// Each op takes at least minOpSize bytes, so a count larger than the remaining
	// input is a lie; do not allocate for it.
	if d.err == nil && n > uint64(len(d.b)-d.off)/minOpSize {
		return fmt.Errorf("frame: %d ops in %d remaining bytes: %w", n, len(d.b)-d.off, ErrTruncated)
	}
	if d.err == nil && n > 0 {
		g.Ops = make([]Op, n)
		for i := range g.Ops {
			d.where = fmt.Sprintf("op %d ", i)
			g.Ops[i].Type = OpType(d.u8("type"))
			d.record(&g.Ops[i].Record)
			if d.err != nil {
				break
			}
		}
	}
	if d.err != nil {
		return fmt.Errorf("frame: %w", d.err)
	}
	if d.off != len(d.b) {
		return fmt.Errorf("frame: %d trailing bytes", len(d.b)-d.off)
	}
	if err := g.Validate(); err != nil {
		return err
	}
	*f = g
	return nil
}

type decoder struct {
	b     []byte
	off   int
	err   error
	where string
}

func (d *decoder) fail(field string, err error) {
	if d.err == nil {
		d.err = fmt.Errorf("%s%s at byte %d: %w", d.where, field, d.off, err)
	}
}

func (d *decoder) u8(field string) uint8 {
	if d.err != nil {
		return 0
	}
	if d.off >= len(d.b) {
		d.fail(field, ErrTruncated)
		return 0
	}
	v := d.b[d.off]
	d.off++
	return v
}

func (d *decoder) uvarint(field string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b[d.off:])
	if n == 0 {
		d.fail(field, ErrTruncated)
		return 0
	}
	if n < 0 {
		d.fail(field, errors.New("varint overflows 64 bits"))
		return 0
	}
	d.off += n
	return v
}

func (d *decoder) varint(field string) int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b[d.off:])
	if n == 0 {
		d.fail(field, ErrTruncated)
		return 0
	}
	if n < 0 {
		d.fail(field, errors.New("varint overflows 64 bits"))
		return 0
	}
	d.off += n
	return v
}

func (d *decoder) str(field string) string {
	n := d.uvarint(field + " length")
	if d.err != nil {
		return ""
	}
	if n > MaxStringLen {
		d.fail(field, fmt.Errorf("length %d exceeds limit %d", n, MaxStringLen))
		return ""
	}
	if uint64(len(d.b)-d.off) < n {
		d.fail(field, ErrTruncated)
		return ""
	}
	s := string(d.b[d.off : d.off+int(n)])
	d.off += int(n)
	return s
}

func (d *decoder) record(r *Record) {
	r.Kind = Kind(d.u8("kind"))
	r.Phase = Phase(d.u8("phase"))
	r.Namespace = d.str("namespace")
	r.Name = d.str("name")
	r.UID = d.str("uid")
	r.Owner = d.str("owner")
	r.Node = d.str("node")
	r.Template = d.str("template")
	rep := d.varint("replicas")
	if d.err == nil && (rep < -1<<31 || rep > 1<<31-1) {
		d.fail("replicas", fmt.Errorf("%d out of int32 range", rep))
	}
	r.Replicas = int32(rep)
	r.Generation = d.uvarint("generation")
	r.CreatedNs = d.varint("createdNs")
}
