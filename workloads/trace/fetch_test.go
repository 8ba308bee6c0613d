package trace

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kdbench/kdbench/internal/supervisor"
)

// writeRaw writes a day of the raw Azure dataset: the loader trace's rows
// plus the given extra lines, memory per app (taken from each app's first
// function, multiplied by the app's function count so FromAzure's even split
// gives it back).
func writeRaw(t *testing.T, dir string, day int, tr *Trace, extraInv, extraDur []string) {
	t.Helper()
	var inv, dur, mem strings.Builder
	inv.WriteString("HashOwner,HashApp,HashFunction,Trigger")
	for m := 1; m <= tr.Minutes(); m++ {
		fmt.Fprintf(&inv, ",%d", m)
	}
	inv.WriteString("\n")
	dur.WriteString(strings.Join(append(append(append([]string{}, hashColumns...), durationStatColumns...), DurationPercentileColumns...), ",") + "\n")
	mem.WriteString("HashOwner,HashApp," + strings.Join(append(append([]string{}, memoryStatColumns...), MemoryPercentileColumns...), ",") + "\n")
	perApp := map[string]int{}
	for _, f := range tr.Functions {
		perApp[f.HashApp]++
	}
	for _, f := range tr.Functions {
		fmt.Fprintf(&inv, "%s,%s,%s,%s", f.HashOwner, f.HashApp, f.HashFunction, f.Trigger)
		for _, n := range f.Invocations {
			fmt.Fprintf(&inv, ",%d", n)
		}
		inv.WriteString("\n")
		d := f.Duration
		fmt.Fprintf(&dur, "%s,%s,%s,%v,%v,%v,%v", f.HashOwner, f.HashApp, f.HashFunction, d.Average, d.Count, d.Minimum, d.Maximum)
		for _, p := range d.Percentiles {
			fmt.Fprintf(&dur, ",%v", p)
		}
		dur.WriteString("\n")
		if n := perApp[f.HashApp]; n > 0 {
			k := float64(n)
			fmt.Fprintf(&mem, "%s,%s,%v,%v", f.HashOwner, f.HashApp, f.Memory.SampleCount, f.Memory.Average*k)
			for _, p := range f.Memory.Percentiles {
				fmt.Fprintf(&mem, ",%v", p*k)
			}
			mem.WriteString("\n")
			perApp[f.HashApp] = 0
		}
	}
	for _, l := range extraInv {
		inv.WriteString(l + "\n")
	}
	for _, l := range extraDur {
		dur.WriteString(l + "\n")
	}
	for name, s := range map[string]string{AzureInvocationsFile(day): inv.String(), AzureDurationsFile(day): dur.String(), AzureMemoryFile(day): mem.String()} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestFromAzure(t *testing.T) {
	tr := mustLoad(t, exampleDir)
	// Give two functions the same app, so memory is split between them.
	tr.Functions[1].HashApp, tr.Functions[1].Memory = tr.Functions[0].HashApp, tr.Functions[0].Memory
	tr.Functions[1].Duration.HashApp = tr.Functions[0].HashApp
	dir := t.TempDir()
	zeros := strings.Repeat(",0", 1440)
	ones := strings.Repeat(",1", 1440)
	f0 := tr.Functions[0]
	writeRaw(t, dir, 1, tr,
		[]string{
			fmt.Sprintf("%s,%s,%s,http%s", f0.HashOwner, f0.HashApp, f0.HashFunction, ones), // duplicate
			"o,a,idle,http" + zeros,                            // never invoked
			fmt.Sprintf("o,%s,nodur,http%s", f0.HashApp, ones), // no durations row
			fmt.Sprintf("o,%s,zerodur,http%s", f0.HashApp, ones),
		},
		[]string{fmt.Sprintf("o,%s,zerodur,0,5,0,0,0,0,0,0,0,0,0", f0.HashApp)})
	got, rep, err := FromAzure(dir, AzureOptions{Day: 1})
	if err != nil {
		t.Fatal(err)
	}
	want := AzureReport{Rows: 8, Kept: 4, Duplicates: 1, Uninvoked: 1, ZeroDuration: 1, NoJoin: 1}
	if rep != want {
		t.Errorf("report %+v, want %+v", rep, want)
	}
	if len(got.Functions) != 4 {
		t.Fatalf("%d functions", len(got.Functions))
	}
	for i := range got.Functions {
		g, w := got.Functions[i], tr.Functions[i]
		if g.HashFunction != w.HashFunction || g.Memory.Percentiles != w.Memory.Percentiles || g.Duration.Percentiles != w.Duration.Percentiles {
			t.Errorf("function %d: got %+v\nwant %+v", i, g.Memory, w.Memory)
		}
	}
	// An excerpt keeps only its columns.
	ex, _, err := FromAzure(dir, AzureOptions{Day: 1, StartMinute: 225, Minutes: 10})
	if err != nil {
		t.Fatal(err)
	}
	if ex.Minutes() != 10 || ex.Functions[0].Invocations[4] != 5 || ex.Functions[0].Invocations[5] != 0 {
		t.Errorf("excerpt columns %v", ex.Functions[0].Invocations)
	}
	for _, o := range []AzureOptions{{Day: 13}, {Day: 1, StartMinute: 1435, Minutes: 10}} {
		if _, _, err := FromAzure(dir, o); err == nil {
			t.Errorf("FromAzure(%+v) accepted", o)
		}
	}
}

func TestFetchFromServer(t *testing.T) {
	if _, err := supervisor.LookPath("xz"); err != nil {
		t.Skip("xz not installed; Fetch reports this itself")
	}
	src := t.TempDir()
	tr, err := Synth(SynthOptions{Functions: 30, Minutes: 1440, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	writeRaw(t, src, 1, tr, nil, nil)
	writeRaw(t, src, 2, tr, nil, nil)
	archive := filepath.Join(t.TempDir(), datasetArchive)
	if _, err := supervisor.Output(context.Background(), supervisor.Command{Path: "tar", Args: []string{"-cJf", archive, "-C", src, "."}}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, archive)
	}))
	defer srv.Close()

	out := t.TempDir()
	var log strings.Builder
	res, err := Fetch(context.Background(), FetchOptions{Dir: out, URL: srv.URL + "/" + datasetArchive, Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	if res.Days != 2 || len(res.SHA256) != 64 || res.Converted.Kept != 30 {
		t.Errorf("result %+v", res)
	}
	back := mustLoad(t, res.TraceDir)
	if len(back.Functions) != 30 || back.Functions[7].HashFunction != tr.Functions[7].HashFunction {
		t.Errorf("converted trace has %d functions", len(back.Functions))
	}
	if !strings.Contains(log.String(), "sha256 "+res.SHA256) {
		t.Errorf("log does not show the checksum:\n%s", log.String())
	}
	// A second run reuses the archive instead of downloading.
	srv.Close()
	if _, err := Fetch(context.Background(), FetchOptions{Dir: out, URL: srv.URL}); err != nil {
		t.Fatalf("rerun with the archive present: %v", err)
	}
	// Something that is not the dataset is rejected.
	bad := filepath.Join(t.TempDir(), "bad.tar.xz")
	os.WriteFile(filepath.Join(src, "README"), []byte("x"), 0o644)
	if _, err := supervisor.Output(context.Background(), supervisor.Command{Path: "tar", Args: []string{"-cJf", bad, "-C", src, "README"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := Fetch(context.Background(), FetchOptions{Dir: t.TempDir(), Archive: bad}); err == nil || !strings.Contains(err.Error(), "not the Azure Functions 2019 dataset") {
		t.Errorf("bad archive: %v", err)
	}
}

func TestFetchUnreachableFailsFast(t *testing.T) {
	// Port 1 on loopback refuses connections at once; no retries.
	dir := t.TempDir()
	_, err := Fetch(context.Background(), FetchOptions{Dir: dir, URL: "http://127.0.0.1:1/azurefunctions-dataset2019.tar.xz", ConnectTimeout: 5 * time.Second})
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Fatalf("err = %v, want ErrUnreachable naming the host", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("left %d files behind", len(entries))
	}
}
