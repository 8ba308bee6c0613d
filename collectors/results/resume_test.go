package results

import (
	"errors"
	"testing"
)

func TestResume(t *testing.T) {
	r, err := Create(t.TempDir(), Manifest{Experiment: "failover", Systems: []string{"kd"}, Sizes: []int{10}, Reps: 1})
	if err != nil {
		t.Fatal(err)
	}
	// r's process "dies" here: no Finish.
	back, err := Resume(r.Dir)
	if err != nil {
		t.Fatalf("resuming a crashed run: %v", err)
	}
	if err := back.Finish(errors.New("interrupted")); err != nil {
		t.Fatalf("a resumed run is writable: %v", err)
	}
	again, err := Resume(r.Dir)
	if err != nil {
		t.Fatalf("resuming a failed run: %v", err)
	}
	if m := again.Manifest(); m.Status != RunRunning || m.Error != "" || m.End != nil {
		t.Errorf("resumed manifest: status %s, error %q, end %v; want running again", m.Status, m.Error, m.End)
	}
	if err := again.Finish(nil); err != nil {
		t.Fatal(err)
	}
	if _, err := Resume(r.Dir); err == nil {
		t.Error("a complete run must not be resumed")
	}
	if _, err := Resume(t.TempDir()); err == nil {
		t.Error("a directory without a manifest must not be resumed")
	}
}
