package wire

import (
	"reflect"
	"testing"
)

// FuzzDecodeFrame: arbitrary input yields a frame or an error, never a panic,
// and whatever decodes re-encodes to an equal frame.
func FuzzDecodeFrame(f *testing.F) {
	for _, fr := range sampleFrames() {
		b := AppendFrame(nil, fr)
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	f.Add([]byte{})
	f.Add([]byte{version, byte(FrameBatch), 1, 1, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, data []byte) {
		var fr Frame
		if err := DecodeFrame(data, &fr); err != nil {
			if !reflect.DeepEqual(fr, Frame{}) {
				t.Fatalf("error %v left partial frame %+v", err, fr)
			}
			return
		}
		var again Frame
		if err := DecodeFrame(AppendFrame(nil, &fr), &again); err != nil {
			t.Fatalf("re-encoded frame does not decode: %v", err)
		}
		if !reflect.DeepEqual(fr, again) {
			t.Fatalf("re-encode changed frame:\n%+v\n%+v", fr, again)
		}
	})
}
