package trace

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kdbench/kdbench/internal/supervisor"
)

// DatasetURL is the public Azure Functions 2019 dataset archive (~150 MB).
const DatasetURL = "https://azurepublicdatasettraces.blob.core.windows.net/azurepublicdatasetv2/azurefunctions_dataset2019/azurefunctions-dataset2019.tar.xz"

const datasetArchive = "azurefunctions-dataset2019.tar.xz"

// FetchOptions control Fetch.
type FetchOptions struct {
	// Dir receives the archive, the unpacked CSVs (Dir/raw) and the loader
	// trace of Day (Dir/loader-dNN).
	Dir string
	// URL defaults to DatasetURL.
	URL string
	// Archive, if set, is a local copy of the archive to use instead of
	// downloading (for machines without network access).
	Archive string
	// Day to convert into a loader trace (default 1).
	Day int
	// ConnectTimeout bounds DNS, TCP and TLS setup and the wait for response
	// headers (default 15 s). There are no retries: an unreachable host fails
	// at once.
	ConnectTimeout time.Duration
	// Log receives progress lines; nil discards them.
	Log io.Writer
}

// FetchResult describes what Fetch produced.
type FetchResult struct {
	Archive   string
	SHA256    string
	RawDir    string
	Days      int
	TraceDir  string
	Converted AzureReport
}

// ErrUnreachable marks a download that could not connect to the host.
var ErrUnreachable = errors.New("cannot reach the dataset host")

// Fetch downloads (or takes) the Azure Functions 2019 archive, unpacks it
// with tar/xz, checks that every day has its three files with the expected
// headers, and converts one day into a loader trace with FromAzure.
func Fetch(ctx context.Context, o FetchOptions) (*FetchResult, error) {
	if o.URL == "" {
		o.URL = DatasetURL
	}
	if o.Day == 0 {
		o.Day = 1
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 15 * time.Second
	}
	logf := func(format string, a ...any) {
		if o.Log != nil {
			fmt.Fprintf(o.Log, format+"\n", a...)
		}
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, err
	}
	res := &FetchResult{Archive: o.Archive}
	if res.Archive == "" {
		res.Archive = filepath.Join(o.Dir, datasetArchive)
		if _, err := os.Stat(res.Archive); err == nil {
			logf("reusing %s", res.Archive)
		} else {
			logf("downloading %s", o.URL)
			if err := download(ctx, o.URL, res.Archive, o.ConnectTimeout); err != nil {
				return nil, err
			}
		}
	}
	sum, err := sha256File(res.Archive)
	if err != nil {
		return nil, err
	}
	res.SHA256 = sum
	logf("sha256 %s", sum)

	res.RawDir = filepath.Join(o.Dir, "raw")
	if err := unpack(ctx, res.Archive, res.RawDir); err != nil {
		return nil, err
	}
	if res.Days, err = verifyRaw(res.RawDir); err != nil {
		return nil, err
	}
	logf("unpacked %d days into %s", res.Days, res.RawDir)

	tr, rep, err := FromAzure(res.RawDir, AzureOptions{Day: o.Day})
	if err != nil {
		return nil, err
	}
	res.Converted = rep
	res.TraceDir = filepath.Join(o.Dir, fmt.Sprintf("loader-d%02d", o.Day))
	if err := tr.Write(res.TraceDir); err != nil {
		return nil, err
	}
	logf("day %d: %d of %d functions kept, loader trace in %s", o.Day, rep.Kept, rep.Rows, res.TraceDir)
	return res, nil
}

func download(ctx context.Context, rawURL, dst string, timeout time.Duration) (err error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return err
	}
	client := &http.Client{Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: timeout}).DialContext,
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
	}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("%w %s (no network here? download %s elsewhere and pass it with --archive): %v",
			ErrUnreachable, u.Host, rawURL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("download %s: HTTP %s", rawURL, resp.Status)
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	n, err := io.Copy(tmp, resp.Body)
	if err != nil {
		return fmt.Errorf("download %s: %w after %d bytes", rawURL, err, n)
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return fmt.Errorf("download %s: got %d of %d bytes", rawURL, n, resp.ContentLength)
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}

func sha256File(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// unpack extracts the archive into dir (through a temporary directory, so a
// failed extraction leaves nothing half-written). The Go standard library
// has no xz decoder, so this uses tar with xz, present on CloudLab images.
func unpack(ctx context.Context, archive, dir string) error {
	if _, err := supervisor.LookPath("xz"); err != nil {
		return fmt.Errorf("unpacking %s needs xz (apt-get install xz-utils): %w", archive, err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".raw-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if _, err := supervisor.Output(ctx, supervisor.Command{Path: "tar", Args: []string{"--no-same-owner", "-xJf", archive, "-C", tmp}}); err != nil {
		return err
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	return os.Rename(tmp, dir)
}

// verifyRaw checks the unpacked dataset: days numbered from 1 without gaps,
// each with its invocation and duration files (memory files exist for days
// 1-12 only), all with the dataset's headers. It returns the number of days.
func verifyRaw(dir string) (int, error) {
	checks := []struct {
		name    func(int) string
		header  string
		lastDay int
	}{
		{AzureInvocationsFile, "HashOwner,HashApp,HashFunction,Trigger,1,2,", 14},
		{AzureDurationsFile, "HashOwner,HashApp,HashFunction,Average,Count,Minimum,Maximum,percentile_Average_0,", 14},
		{AzureMemoryFile, "HashOwner,HashApp,SampleCount,AverageAllocatedMb,AverageAllocatedMb_pct1,", azureMemoryDays},
	}
	days := 0
	for day := 1; day <= 14; day++ {
		if _, err := os.Stat(filepath.Join(dir, checks[0].name(day))); err != nil {
			break
		}
		for _, c := range checks {
			if day > c.lastDay {
				continue
			}
			path := filepath.Join(dir, c.name(day))
			head, err := firstLine(path)
			if err != nil {
				return days, fmt.Errorf("dataset day %d incomplete: %w", day, err)
			}
			if !strings.HasPrefix(head, c.header) {
				return days, fmt.Errorf("%s: unexpected header %.80q", path, head)
			}
		}
		days++
	}
	if days == 0 {
		return 0, fmt.Errorf("%s: no %s: not the Azure Functions 2019 dataset", dir, AzureInvocationsFile(1))
	}
	return days, nil
}

func firstLine(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	line, err := bufio.NewReader(f).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}
