// Package bench is "dashboard bench": it runs the real server as a child
// process and measures ingest throughput, the store's own ceiling,
// freshness, read latency at several database sizes, memory and bytes on
// disk, and prints one Markdown table.
package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/cmd/dashboard/cli"
	"github.com/stopscope/stopscope/query"
	"github.com/stopscope/stopscope/store"
)

// ChildEnv, set in the environment of a process, makes a test binary run
// the command line it was given as the dashboard command (TestMain), so
// that the bench can start its server as a child from tests too.
const ChildEnv = "STOPSCOPE_BENCH_CHILD"

// benchConfig is what "dashboard bench" runs.
type benchConfig struct {
	quick    bool
	sizes    []int
	out      string
	db       string // "" for SQLite files in dir
	dir      string
	phase    time.Duration // how long each throughput measurement runs
	sustain  time.Duration // how long the sustained ingest runs
	batches  []int
	clients  []int
	reads    int // requests per read measurement
	contentN int // records per bytes-on-disk measurement
	stdout   io.Writer
	cpuprof  string
	otelcol  string // an otelcorecol binary to compare OTLP ingest with, or ""
}

// sustainTarget is the target for sustained native ingest, in
// records/s.
const sustainTarget = 60000

// Run is "dashboard bench": it starts the real server as a child
// process on loopback with fresh stores, measures ingest throughput, the
// store's own insert ceiling, freshness, read latency at several database
// sizes, memory and bytes on disk, and prints one Markdown table.
func Run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stdout)
	quick := fs.Bool("quick", false, "a few seconds with tiny sizes: proves the bench works (CI), not the figures")
	sizes := fs.String("sizes", "10000,1000000,10000000", "database sizes, in records, for the read latencies")
	out := fs.String("out", "", "also write the table to this file")
	db := fs.String("db", "", "a postgres:// URL to bench PostgreSQL ingest and its store ceiling instead of SQLite's, in that one database (it must be empty and is filled); reads are measured on SQLite only")
	dir := fs.String("dir", "", "directory for the SQLite files (default: a new temporary directory, removed at the end)")
	phase := fs.Duration("phase", 8*time.Second, "how long each throughput measurement runs")
	cpuprof := fs.String("cpuprofile", "", "write a CPU profile of the server during the ingest phases to this file")
	sustain := fs.Duration("sustain", time.Minute, "how long the sustained native ingest runs")
	otelcol := fs.String("otelcorecol", "", "path of an OpenTelemetry Collector binary (otelcorecol, or any build with the otlp receiver, batch processor and nop exporter) to offer the same OTLP load in the same run, for a side-by-side row; off by default")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg := benchConfig{
		quick: *quick, out: *out, db: *db, phase: *phase, sustain: *sustain,
		batches: []int{100, 1000}, clients: []int{1, 4, 16}, reads: 40, contentN: 20000,
		stdout: stdout, cpuprof: *cpuprof, otelcol: *otelcol,
	}
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			return fmt.Errorf("--sizes: %q is not a positive whole number", s)
		}
		cfg.sizes = append(cfg.sizes, n)
	}
	if cfg.quick {
		cfg.sizes, cfg.phase, cfg.sustain = []int{1000, 3000}, 500*time.Millisecond, time.Second
		cfg.batches, cfg.clients, cfg.reads, cfg.contentN = []int{100}, []int{2}, 5, 500
	}
	if *dir == "" {
		d, err := os.MkdirTemp("", "stopscope-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		*dir = d
	}
	cfg.dir = *dir
	b := &bench{cfg: cfg, start: time.Now()}
	if err := b.run(ctx); err != nil {
		return err
	}
	table := b.table()
	fmt.Fprint(stdout, table)
	if cfg.out != "" {
		return os.WriteFile(cfg.out, []byte(table), 0o644)
	}
	return nil
}

// benchRow is one line of the table.
type benchRow struct {
	what, setting, result, detail string
}

type bench struct {
	cfg   benchConfig
	start time.Time
	rows  []benchRow
	seq   atomic.Uint64 // makes every request's ids new
	ndb   int           // numbers the fresh stores

	nativeBest, sustained float64  // records/s, for the ratio to the ceiling
	otlpLast              float64  // spans/s of the last OTLP row, for the collector's row
	bytesPerRec           [2]int64 // with and without content, for the 10 M estimate
	largest               struct{ n, size int64 }
	profiled              bool // the first server wrote the CPU profile
}

func (b *bench) add(what, setting, result, detail string) {
	b.rows = append(b.rows, benchRow{what, setting, result, detail})
	fmt.Fprintf(os.Stderr, "bench: %s | %s | %s | %s\n", what, setting, result, detail)
}

// freshDB returns the DB setting of a new, empty store.
func (b *bench) freshDB(name string) string {
	b.ndb++
	if b.cfg.db != "" {
		return b.cfg.db
	}
	return filepath.Join(b.cfg.dir, fmt.Sprintf("%02d-%s.db", b.ndb, name))
}

func (b *bench) run(ctx context.Context) error {
	now := time.Now().UTC()
	lines := benchEnvelopes(1, now, 4000)
	recs, err := decodeLines(lines, now)
	if err != nil {
		return err
	}
	if err := b.ingestPhases(ctx, lines, recs); err != nil {
		return err
	}
	if err := b.ceiling(ctx, recs); err != nil {
		return err
	}
	if err := b.diskPerRecord(ctx, recs); err != nil {
		return err
	}
	return b.readPhases(ctx)
}

// ingestPhases measures native and OTLP ingest against one fresh server,
// then freshness, then the sustained native ingest with its peak memory.
func (b *bench) ingestPhases(ctx context.Context, lines [][]byte, recs []*analytics.Record) error {
	srv, err := b.startServer(ctx, b.freshDB("ingest"))
	if err != nil {
		return err
	}
	defer srv.stop()
	for _, batch := range b.cfg.batches {
		tpls := nativeTemplates(lines, batch, max(4, 4000/batch))
		for _, clients := range b.cfg.clients {
			r, err := b.load(ctx, srv, "/v1/responses", "application/x-ndjson", tpls, clients, b.cfg.phase)
			if err != nil {
				return err
			}
			b.add("native ingest (NDJSON over HTTP)", fmt.Sprintf("batch %d, %d clients", batch, clients), r.rate("records"), r.latency())
			b.nativeBest = max(b.nativeBest, r.perSec())
		}
	}
	for _, batch := range b.cfg.batches {
		tpls, err := otlpTemplates(recs, batch, max(4, 4000/batch))
		if err != nil {
			return err
		}
		for _, clients := range b.cfg.clients {
			r, err := b.load(ctx, srv, "/v1/traces", "application/x-protobuf", tpls, clients, b.cfg.phase)
			if err != nil {
				return err
			}
			b.add("OTLP ingest (protobuf over HTTP)", fmt.Sprintf("batch %d spans, %d clients", batch, clients), r.rate("spans"), r.latency())
			b.otlpLast = r.perSec()
		}
	}
	if b.cfg.otelcol != "" {
		if err := b.collector(ctx, recs); err != nil {
			return err
		}
	}
	if err := b.freshness(ctx, srv, lines); err != nil {
		return err
	}
	// Sustained: the largest batch and most clients, for longer.
	batch, clients := b.cfg.batches[len(b.cfg.batches)-1], b.cfg.clients[len(b.cfg.clients)-1]
	tpls := nativeTemplates(lines, batch, max(4, 4000/batch))
	r, err := b.load(ctx, srv, "/v1/responses", "application/x-ndjson", tpls, clients, b.cfg.sustain)
	if err != nil {
		return err
	}
	b.sustained = r.perSec()
	b.add("native ingest, sustained", fmt.Sprintf("batch %d, %d clients, %s", batch, clients, b.cfg.sustain),
		fmt.Sprintf("%s, %.2f× the %s target", r.rate("records"), r.perSec()/sustainTarget, count(sustainTarget)), r.latency())
	n, err := srv.count(ctx)
	if err != nil {
		return err
	}
	b.add("peak server memory (VmHWM) during ingest", fmt.Sprintf("all ingest phases, %s records stored", count(n)), mib(srv.peakRSS()), "")
	return nil
}

// loadResult is what one load run measured.
type loadResult struct {
	items   int64
	elapsed time.Duration
	lat     []time.Duration
	busy    int64 // 503 answers, retried
}

func (r loadResult) perSec() float64 { return float64(r.items) / r.elapsed.Seconds() }

func (r loadResult) rate(unit string) string {
	return fmt.Sprintf("**%s %s/s**", count(int64(r.perSec())), unit)
}

func (r loadResult) latency() string {
	s := fmt.Sprintf("request p50 %s, p95 %s", ms(pct(r.lat, 50)), ms(pct(r.lat, 95)))
	if r.busy > 0 {
		s += fmt.Sprintf(", %d answered 503 and retried", r.busy)
	}
	return s
}

// load sends the templates, each with new ids, from clients goroutines for
// d, and counts the items the server acknowledged.
func (b *bench) load(ctx context.Context, srv *benchServer, path, ctype string, tpls []template, clients int, d time.Duration) (loadResult, error) {
	var (
		mu    sync.Mutex
		res   loadResult
		first error
		wg    sync.WaitGroup
	)
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients, DisableCompression: true}}
	defer hc.CloseIdleConnections()
	deadline := time.Now().Add(d)
	start := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte
			var lat []time.Duration
			var items, busy int64
			for time.Now().Before(deadline) && ctx.Err() == nil {
				n := b.seq.Add(1)
				t := tpls[n%uint64(len(tpls))]
				buf = t.stamp(buf, n)
				t0 := time.Now()
				code, body, err := srv.post(ctx, hc, path, ctype, buf)
				if err != nil || (code != http.StatusOK && code != http.StatusServiceUnavailable) {
					mu.Lock()
					if first == nil {
						first = fmt.Errorf("POST %s: %d %s %v", path, code, clip(string(body), 300), err)
					}
					mu.Unlock()
					return
				}
				if code == http.StatusServiceUnavailable {
					busy++
					time.Sleep(10 * time.Millisecond)
					continue
				}
				lat = append(lat, time.Since(t0))
				items += int64(t.records)
			}
			mu.Lock()
			res.items += items
			res.busy += busy
			res.lat = append(res.lat, lat...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	return res, first
}

// freshness checks that a record is counted by the summary API as soon as
// its ingest request is answered: one record at a time, the summary read
// right after the answer.
func (b *bench) freshness(ctx context.Context, srv *benchServer, lines [][]byte) error {
	tpls := nativeTemplates(lines, 1, 64)
	hc := &http.Client{}
	defer hc.CloseIdleConnections()
	trials := 50
	if b.cfg.quick {
		trials = 10
	}
	prev, err := srv.count(ctx)
	if err != nil {
		return err
	}
	fresh := 0
	var lat, sumLat []time.Duration
	for i := range trials {
		n := b.seq.Add(1)
		t0 := time.Now()
		code, body, err := srv.post(ctx, hc, "/v1/responses", "application/x-ndjson", tpls[i%len(tpls)].stamp(nil, n))
		if err != nil || code != http.StatusOK {
			return fmt.Errorf("freshness: POST: %d %s %v", code, clip(string(body), 300), err)
		}
		lat = append(lat, time.Since(t0))
		t1 := time.Now()
		got, err := srv.count(ctx)
		if err != nil {
			return err
		}
		sumLat = append(sumLat, time.Since(t1))
		if got == prev+1 {
			fresh++
		}
		prev = got
	}
	b.add("freshness", "one record, then GET /api/v1/summary", fmt.Sprintf("**%d/%d** counted at once", fresh, trials),
		fmt.Sprintf("single-record request p50 %s (one durable commit); summary of all stored, right after ingest, p50 %s", ms(pct(lat, 50)), ms(pct(sumLat, 50))))
	if fresh != trials {
		return fmt.Errorf("freshness: only %d of %d records were in the summary once acknowledged", fresh, trials)
	}
	return nil
}

// ceiling inserts the same records straight into a fresh store, in the
// batches group commit makes, from one goroutine: what the store can do on
// this machine without HTTP, decoding or queueing.
func (b *bench) ceiling(ctx context.Context, recs []*analytics.Record) error {
	st, err := cli.OpenStore(ctx, b.freshDB("ceiling"))
	if err != nil {
		return err
	}
	defer st.Close()
	batch := store.DefaultMaxBatch
	if b.cfg.quick {
		batch = 500
	}
	var n int64
	start := time.Now()
	deadline := start.Add(b.cfg.phase * 2)
	for time.Now().Before(deadline) {
		k := b.seq.Add(1)
		sfx := "~" + strconv.FormatUint(k, 36)
		at := time.Now().UTC()
		chunk := make([]*analytics.Record, batch)
		for i := range chunk {
			r := *recs[(int(k)*batch+i)%len(recs)]
			r.ID, r.Time = 0, at
			r.MessageID = suffixed(r.MessageID, sfx)
			r.RequestID = suffixed(r.RequestID, sfx)
			chunk[i] = &r
		}
		if err := st.Insert(ctx, chunk); err != nil {
			return fmt.Errorf("direct insert: %w", err)
		}
		n += int64(batch)
	}
	rate := float64(n) / time.Since(start).Seconds()
	b.add("store ceiling (direct Insert, same rows)", fmt.Sprintf("batch %d, 1 writer", batch), fmt.Sprintf("**%s records/s**", count(int64(rate))), "")
	b.add("native ingest ÷ store ceiling", "best native row, sustained row", fmt.Sprintf("**%.0f%%**, %.0f%%", 100*b.nativeBest/rate, 100*b.sustained/rate), "")
	return nil
}

func suffixed(s, sfx string) string {
	if s == "" {
		return ""
	}
	return s + sfx
}

// diskPerRecord stores the same records in two fresh stores, with and
// without content, and divides each file's size by the record count.
func (b *bench) diskPerRecord(ctx context.Context, recs []*analytics.Record) error {
	if b.cfg.db != "" {
		return nil // PostgreSQL's size is not one file
	}
	for _, withContent := range []bool{true, false} {
		name := "with-content"
		if !withContent {
			name = "metadata-only"
		}
		path := b.freshDB(name)
		st, err := cli.OpenStore(ctx, path)
		if err != nil {
			return err
		}
		for lo := 0; lo < b.cfg.contentN; lo += 1000 {
			chunk := make([]*analytics.Record, 0, 1000)
			for i := lo; i < min(lo+1000, b.cfg.contentN); i++ {
				r := *recs[i%len(recs)]
				r.ID = 0
				sfx := "~" + strconv.Itoa(i/len(recs))
				r.MessageID, r.RequestID = suffixed(r.MessageID, sfx), suffixed(r.RequestID, sfx)
				if !withContent {
					r.Content = slices.Clone(r.Content)
					if r.Req != nil {
						req := *r.Req
						req.Messages = nil
						r.Req = &req
					}
					analytics.StripContent(&r)
				}
				chunk = append(chunk, &r)
			}
			if err := st.Insert(ctx, chunk); err != nil {
				st.Close()
				return err
			}
		}
		if err := st.Close(); err != nil {
			return err
		}
		size, err := fileSize(path)
		if err != nil {
			return err
		}
		label := "with content (bodies, text)"
		if !withContent {
			label = "without content (--metadata-only)"
		}
		per := size / int64(b.cfg.contentN)
		if withContent {
			b.bytesPerRec[0] = per
		} else {
			b.bytesPerRec[1] = per
		}
		b.add("bytes on disk per record", label, fmt.Sprintf("**%s B**", count(per)),
			fmt.Sprintf("%s records, all indexes and rollups included; at 10 M records %s", count(int64(b.cfg.contentN)), gb(per*10_000_000)))
	}
	return nil
}

// fileSize is the size of a SQLite database with its WAL.
func fileSize(path string) (int64, error) {
	var total int64
	for _, p := range []string{path, path + "-wal"} {
		fi, err := os.Stat(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, err
		}
		total += fi.Size()
	}
	return total, nil
}

// readPhases fills a store with each size in turn, starts a server on it
// and times the summary, a time series and the overview page.
func (b *bench) readPhases(ctx context.Context) error {
	if b.cfg.db != "" {
		// The bulk loader builds SQLite files; PostgreSQL's ingest is
		// measured above, against the same database.
		b.add("read latency", "PostgreSQL", "not measured", "the bulk loader writes SQLite files: run the bench without --db for reads")
		return nil
	}
	sizes := slices.Clone(b.cfg.sizes)
	slices.Sort(sizes)
	for i, n := range sizes {
		path := b.freshDB(fmt.Sprintf("read-%d", n))
		t0 := time.Now()
		n, err := bulkLoad(ctx, path, n, time.Now().UTC())
		if err != nil {
			return fmt.Errorf("bulk load %d: %w", n, err)
		}
		loaded := time.Since(t0)
		size, err := fileSize(path)
		if err != nil {
			return err
		}
		last := i == len(sizes)-1
		srv, err := b.startServer(ctx, path)
		if err != nil {
			return err
		}
		got, err := srv.count(ctx)
		if err != nil {
			srv.stop()
			return err
		}
		if got != int64(n) {
			srv.stop()
			return fmt.Errorf("bulk load: the summary counts %d records, not %d", got, n)
		}
		b.add("bulk load (30 days)", count(int64(n))+" records", loaded.Round(time.Second/10).String(),
			fmt.Sprintf("%s (%s) on disk, %s B/record", mib(size), gb(size), count(size/int64(n))))
		b.largest.n, b.largest.size = int64(n), size
		for _, q := range []struct{ name, path string }{
			{"summary API, 30 days", "/api/v1/summary?range=30d"},
			{"time series API, 30 days by hour", "/api/v1/timeseries?range=30d&bucket=1h&metric=refusal"},
			{"overview page, 24 hours", "/"},
			{"overview page, 30 days", "/?range=30d"},
			// The overview's fragments, loaded after the page.
			{"overview spikes fragment, 24 hours", "/ui/overview/spikes?range=24h"},
			{"overview patterns fragment, 24 hours", "/ui/overview/patterns?range=24h"},
			{"overview chart data, 24 hours", "/ui/chart/volume?range=24h"},
			// Percentiles and cost from the latency and usage rollups.
			{"latency and cost API, 24 hours", "/api/v1/latency-cost?range=24h"},
			{"latency and cost API, 30 days", "/api/v1/latency-cost?range=30d"},
			// Comparisons: two cohorts from rollups, each a grouped read, a
			// bucketed read (hours over 30 and 7 days, minutes over 24 hours)
			// and a latency histogram read.
			{"compare API, two models over 30 days", "/api/v1/compare?a.range=30d&a.model=claude-sonnet-4-5&b.range=30d&b.model=claude-sonnet-4-6"},
			{"compare API, 7 days vs the 7 before", "/api/v1/compare?a.range=7d&a.ago=7d&b.range=7d"},
			{"compare API, 24 hours vs the day before", "/api/v1/compare?a.range=24h&a.ago=24h&b.range=24h"},
		} {
			lat, err := srv.timeGets(ctx, q.path, b.cfg.reads)
			if err != nil {
				srv.stop()
				return err
			}
			b.add(q.name, count(int64(n))+" records", fmt.Sprintf("**p50 %s**, p95 %s", ms(pct(lat, 50)), ms(pct(lat, 95))), fmt.Sprintf("%d requests, one at a time", len(lat)))
		}
		if err := b.recordReads(ctx, srv, n); err != nil {
			srv.stop()
			return err
		}
		if last {
			// Ingest into the largest store: memory and throughput do not
			// depend on how much is stored.
			lines := benchEnvelopes(2, time.Now(), 4000)
			batch, clients := b.cfg.batches[len(b.cfg.batches)-1], b.cfg.clients[len(b.cfg.clients)-1]
			r, err := b.load(ctx, srv, "/v1/responses", "application/x-ndjson", nativeTemplates(lines, batch, max(4, 4000/batch)), clients, b.cfg.phase*2)
			if err != nil {
				srv.stop()
				return err
			}
			b.add("native ingest into the largest store", fmt.Sprintf("%s records stored, batch %d, %d clients", count(int64(n)), batch, clients), r.rate("records"), r.latency())
			b.add("peak server memory (VmHWM), largest store", fmt.Sprintf("%s records: reads above, then ingest", count(int64(n))), mib(srv.peakRSS()), "")
		}
		srv.stop()
		if last {
			b.sizeAt10M()
		}
		if b.cfg.db == "" && !b.cfg.quick {
			os.Remove(path)
			os.Remove(path + "-wal")
			os.Remove(path + "-shm")
		}
	}
	return nil
}

// benchServer is a dashboard serve child process.
type benchServer struct {
	cmd  *exec.Cmd
	url  string
	done chan struct{}
}

// startServer runs "dashboard serve" on a free loopback port over db.
func (b *bench) startServer(ctx context.Context, db string) (*benchServer, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, exe, "serve", "--addr", "127.0.0.1:0", "--otlp-grpc-addr=",
		"--db", db, "--retention-days", "0", "--rollup-retention-days", "0")
	cmd.Env = append(os.Environ(), ChildEnv+"=1")
	if b.cfg.cpuprof != "" && !b.profiled {
		b.profiled = true
		cmd.Env = append(cmd.Env, "STOPSCOPE_BENCH_CPUPROFILE="+b.cfg.cpuprof)
	}
	cmd.Stderr = io.Discard
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &benchServer{cmd: cmd, done: make(chan struct{})}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		if _, rest, ok := strings.Cut(line, "listening on "); ok {
			s.url, _, _ = strings.Cut(rest, " ")
			break
		}
	}
	go func() { io.Copy(io.Discard, out); close(s.done) }()
	if s.url == "" {
		s.stop()
		return nil, fmt.Errorf("the bench server did not start on %s", db)
	}
	return s, nil
}

// stop ends the server with SIGTERM, as an operator would, and waits.
func (s *benchServer) stop() {
	s.cmd.Process.Signal(syscall.SIGTERM)
	<-s.done
	s.cmd.Wait()
}

func (s *benchServer) post(ctx context.Context, hc *http.Client, path, ctype string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", ctype)
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

func (s *benchServer) get(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %s: %s", path, resp.Status, clip(string(b), 300))
	}
	return b, err
}

// count is the summary API's total over everything stored: the bench's
// records are of the last day, well within the longest range the API
// takes (query.MaxRange).
func (s *benchServer) count(ctx context.Context) (int64, error) {
	from := time.Now().Add(-query.MaxRange + time.Hour).UTC().Format(time.RFC3339)
	b, err := s.get(ctx, "/api/v1/summary?from="+from)
	if err != nil {
		return 0, err
	}
	// The total is the first "total" of the answer.
	_, rest, ok := bytes.Cut(b, []byte(`"total":`))
	if !ok {
		return 0, fmt.Errorf("summary without a total: %s", clip(string(b), 200))
	}
	end := bytes.IndexAny(rest, ",}")
	return strconv.ParseInt(string(bytes.TrimSpace(rest[:end])), 10, 64)
}

// timeGets times n GETs of path one after another, after one warm-up.
func (s *benchServer) timeGets(ctx context.Context, path string, n int) ([]time.Duration, error) {
	if _, err := s.get(ctx, path); err != nil {
		return nil, err
	}
	var lat []time.Duration
	for range n {
		t0 := time.Now()
		if _, err := s.get(ctx, path); err != nil {
			return nil, err
		}
		lat = append(lat, time.Since(t0))
	}
	return lat, nil
}

// peakRSS is the server's peak resident set (VmHWM), in bytes.
func (s *benchServer) peakRSS() int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb * 1024
		}
	}
	return -1
}

// table is the Markdown table of the run.
func (b *bench) table() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "stopscope bench, %s, %s/%s, %d CPUs, %s RAM, %s store, run %s in %s\n\n",
		runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), memTotal(), b.engine(),
		b.start.UTC().Format("2006-01-02"), time.Since(b.start).Round(time.Second))
	sb.WriteString("| measurement | setting | result | detail |\n| --- | --- | --- | --- |\n")
	for _, r := range b.rows {
		fmt.Fprintf(&sb, "| %s | %s | %s | %s |\n", r.what, r.setting, r.result, r.detail)
	}
	return sb.String()
}

func (b *bench) engine() string {
	if b.cfg.db != "" {
		return "PostgreSQL"
	}
	return "SQLite (WAL, synchronous=FULL)"
}

func memTotal() string {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return "?"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return fmt.Sprintf("%.0f GB", float64(kb)/(1<<20))
		}
	}
	return "?"
}

func pct(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, (len(s)*p+99)/100-1)]
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/1e6, 'f', 1, 64) + " ms"
}

func mib(n int64) string { return fmt.Sprintf("**%.0f MiB**", float64(n)/(1<<20)) }

// gb writes n bytes in decimal gigabytes, as disks are sold.
func gb(n int64) string { return fmt.Sprintf("%.1f GB", float64(n)/1e9) }

// count writes n with thin spaces between thousands.
func count(n int64) string {
	s := strconv.FormatInt(n, 10)
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 && s[i-1] != '-' {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// Profile starts a CPU profile of this process when the bench asked
// for one (a server it started with --cpuprofile), and returns what stops
// it.
func Profile() func() {
	path := os.Getenv("STOPSCOPE_BENCH_CPUPROFILE")
	if path == "" || os.Getenv(ChildEnv) == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
