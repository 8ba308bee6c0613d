package plots

import (
	"bytes"
	"flag"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
)

var update = flag.Bool("update", false, "rewrite the golden images under testdata")

// Rendering is deterministic (pure-Go rasteriser, embedded fonts), but
// anti-aliasing may move with gonum or Go versions: allow a few pixels.
const (
	pixelTolerance   = 48    // per channel, of 255
	maxChangedPixels = 0.002 // fraction of the image
)

// checkGolden renders p as PNG and compares it with testdata/<name>.png.
func checkGolden(t *testing.T, p *plot.Plot, name string) {
	t.Helper()
	wt, err := p.WriterTo(5*vg.Inch, 3.5*vg.Inch, "png")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := wt.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", name+".png")
	if *update {
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./plots -update to create it)", err)
	}
	changed, total, err := pixelDiff(buf.Bytes(), want)
	if err == nil && float64(changed) <= maxChangedPixels*float64(total) {
		return
	}
	dir, derr := os.MkdirTemp("", "kdbench-plots-")
	got := filepath.Join(dir, name+".png")
	if derr == nil {
		os.WriteFile(got, buf.Bytes(), 0o644)
	}
	if err != nil {
		t.Errorf("%s: %v; got image: %s", path, err, got)
		return
	}
	t.Errorf("%s: %d of %d pixels differ (more than %.1f%%); got image: %s (go test ./plots -update accepts it)",
		path, changed, total, 100*maxChangedPixels, got)
}

// pixelDiff counts pixels whose colour differs by more than pixelTolerance
// in any channel.
func pixelDiff(a, b []byte) (changed, total int, err error) {
	ia, err := png.Decode(bytes.NewReader(a))
	if err != nil {
		return 0, 0, err
	}
	ib, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		return 0, 0, err
	}
	if ia.Bounds() != ib.Bounds() {
		return 0, 0, errSize{ia.Bounds(), ib.Bounds()}
	}
	r := ia.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			total++
			r1, g1, b1, a1 := ia.At(x, y).RGBA()
			r2, g2, b2, a2 := ib.At(x, y).RGBA()
			if far(r1, r2) || far(g1, g2) || far(b1, b2) || far(a1, a2) {
				changed++
			}
		}
	}
	return changed, total, nil
}

func far(a, b uint32) bool {
	d := int(a>>8) - int(b>>8)
	return d > pixelTolerance || -d > pixelTolerance
}

type errSize struct{ got, want image.Rectangle }

func (e errSize) Error() string {
	return "image size " + e.got.String() + ", golden " + e.want.String()
}
