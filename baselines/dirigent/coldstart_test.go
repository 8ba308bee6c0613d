package dirigent

import (
	"context"
	"testing"
	"time"
)

func TestRunColdStarts(t *testing.T) {
	cfg := fastConfig(4)
	cfg.CreationCost = 40 * time.Millisecond
	res, err := RunColdStarts(context.Background(), cfg, 100, 30)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(res)
	if res.Completed != 30 || res.Failed != 0 || res.Creations != 30 {
		t.Fatalf("%+v: want 30 completed cold starts, one creation each", res)
	}
	// 30 issued over 0.29 s plus one creation: the rate is followed.
	if res.PerSecond < 30 || res.PerSecond > 110 {
		t.Errorf("%.1f creations/s at 100 requests/s", res.PerSecond)
	}
	if res.P50 < cfg.CreationCost {
		t.Errorf("median cold start %v faster than a sandbox creation (%v)", res.P50, cfg.CreationCost)
	}
	if _, err := RunColdStarts(context.Background(), cfg, 0, 1); err == nil {
		t.Error("rate 0 accepted")
	}
}
