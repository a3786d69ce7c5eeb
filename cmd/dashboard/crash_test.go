package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stopscope/stopscope/store/sqlite"
	"github.com/stopscope/stopscope/store/sqlstore"
)

// buildBinary builds this command once per test binary run.
var buildBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "stopscope-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "dashboard")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

// proc is the real service running as a child process.
type proc struct {
	cmd    *exec.Cmd
	url    string
	stderr *syncBuffer
	exited chan error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startProc runs "dashboard serve" on a free port over the SQLite file db
// and waits until it listens.
func startProc(t *testing.T, db string, extra ...string) *proc {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the real binary")
	}
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--db", db, "--otlp-grpc-addr="}, extra...)
	p := &proc{cmd: exec.Command(bin, args...), stderr: &syncBuffer{}, exited: make(chan error, 1)}
	p.cmd.Env = append(os.Environ(), "STOPSCOPE_ADDR=", "STOPSCOPE_DB=")
	p.cmd.Stderr = p.stderr
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "stopscope is listening on "); ok {
				urls <- strings.Fields(rest)[0]
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	go func() { p.exited <- p.cmd.Wait() }()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.exited
		p.exited <- nil // for a second cleanup
	})
	select {
	case p.url = <-urls:
	case err := <-p.exited:
		t.Fatalf("dashboard exited before listening: %v\n%s", err, p.stderr)
	case <-time.After(30 * time.Second):
		t.Fatalf("dashboard did not listen within 30s\n%s", p.stderr)
	}
	return p
}

// wait waits for the process to exit and returns its exit code.
func (p *proc) wait(t *testing.T) int {
	t.Helper()
	select {
	case err := <-p.exited:
		p.exited <- err
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				return -int(ws.Signal())
			}
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(30 * time.Second):
		t.Fatalf("dashboard did not exit within 30s\n%s", p.stderr)
		return 0
	}
}

// ingestLoad posts batches of batchSize records with unique message ids
// from several clients until stop is closed or the server goes away, and
// returns the ids of the records acknowledged (200 with every record
// accepted), by batch.
type ingestLoad struct {
	mu    sync.Mutex
	acked map[string][]string // batch prefix -> ids
	sent  int
	wg    sync.WaitGroup
}

const batchSize = 20

func startLoad(url, app string, clients int, stop <-chan struct{}) *ingestLoad {
	l := &ingestLoad{acked: map[string][]string{}}
	hc := &http.Client{Timeout: 20 * time.Second}
	for c := range clients {
		l.wg.Go(func() {
			for k := 0; ; k++ {
				select {
				case <-stop:
					return
				default:
				}
				prefix := fmt.Sprintf("%s-c%d-k%d-", app, c, k)
				body, ids := batchBody(app, prefix)
				l.mu.Lock()
				l.sent++
				l.mu.Unlock()
				resp, err := hc.Post(url+"/v1/responses", "application/json", bytes.NewReader(body))
				if err != nil {
					return // the server is gone
				}
				var ans struct {
					Accepted int `json:"accepted"`
				}
				err = json.NewDecoder(resp.Body).Decode(&ans)
				resp.Body.Close()
				if resp.StatusCode == 200 && err == nil && ans.Accepted == len(ids) {
					l.mu.Lock()
					l.acked[prefix] = ids
					l.mu.Unlock()
				}
			}
		})
	}
	return l
}

func (l *ingestLoad) ackedCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acked) * batchSize
}

// batchBody returns a JSON array of batchSize message records.
func batchBody(app, prefix string) ([]byte, []string) {
	var b bytes.Buffer
	ids := make([]string, batchSize)
	b.WriteByte('[')
	for i := range ids {
		ids[i] = fmt.Sprintf("%s%d", prefix, i)
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"app":%q,"environment":"test","response":{"id":%q,"type":"message","role":"assistant","model":"claude-sonnet-4-6","content":[{"type":"text","text":"hello"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":3,"output_tokens":1}}}`, app, ids[i])
	}
	b.WriteByte(']')
	return b.Bytes(), ids
}

// checkStored opens the SQLite file directly and checks that every
// acknowledged record is there, that every batch is there whole or not at
// all, and that every rollup level counts exactly the raw records.
func checkStored(t *testing.T, db string, l *ingestLoad) {
	t.Helper()
	st, err := sqlite.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	stored := map[string]bool{}
	rows, err := st.Reader().Query("SELECT message_id FROM records")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		stored[id] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()

	l.mu.Lock()
	defer l.mu.Unlock()
	lost := 0
	for _, ids := range l.acked {
		for _, id := range ids {
			if !stored[id] {
				lost++
				if lost <= 5 {
					t.Errorf("acknowledged record %s is not stored", id)
				}
			}
		}
	}
	if lost > 0 {
		t.Errorf("%d acknowledged records lost", lost)
	}
	perBatch := map[string]int{}
	for id := range stored {
		perBatch[id[:strings.LastIndexByte(id, '-')+1]]++
	}
	for prefix, n := range perBatch {
		if n != batchSize {
			t.Errorf("batch %s is stored with %d of its %d records", prefix, n, batchSize)
		}
	}
	checkRollups(t, st, int64(len(stored)))
	t.Logf("%d batches sent, %d acknowledged, %d stored", l.sent, len(l.acked), len(perBatch))
}

// checkRollups checks that every rollup level counts want records, and so
// does the records table.
func checkRollups(t *testing.T, st *sqlstore.Store, want int64) {
	t.Helper()
	for _, table := range []string{"records", "rollups_1m", "rollups_1h", "rollups_1d"} {
		q := "SELECT COALESCE(SUM(n), 0) FROM " + table
		if table == "records" {
			q = "SELECT COUNT(*) FROM records"
		}
		var n int64
		if err := st.Reader().QueryRowContext(context.Background(), q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != want {
			t.Errorf("%s counts %d records, want %d", table, n, want)
		}
	}
}

// TestSIGKILLLosesNothingAcknowledged kills the service in the middle of a
// steady ingest, restarts it, and finds every acknowledged record, no half
// batch, and rollups that agree with the records.
func TestSIGKILLLosesNothingAcknowledged(t *testing.T) {
	db := filepath.Join(t.TempDir(), "stopscope.db")
	p := startProc(t, db)
	stop := make(chan struct{})
	load := startLoad(p.url, "crash", 8, stop)
	deadline := time.Now().Add(20 * time.Second)
	for load.ackedCount() < 2000 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t); code != -int(syscall.SIGKILL) {
		t.Errorf("exit code %d, want death by SIGKILL", code)
	}
	close(stop)
	load.wg.Wait()
	if load.ackedCount() == 0 {
		t.Fatal("nothing was acknowledged before the kill")
	}

	// Restart the real service on the same file: it must come up and count
	// exactly what the file holds.
	p2 := startProc(t, db)
	resp, err := http.Get(p2.url + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GET /readyz after restart: %d", resp.StatusCode)
	}
	var sum summary
	getJSON(t, p2.url+"/api/v1/summary", &sum)
	if err := p2.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p2.wait(t); code != 0 {
		t.Errorf("restarted service exit code %d after SIGTERM\n%s", code, p2.stderr)
	}
	checkStored(t, db, load)
	if int(sum.Total) < load.ackedCount() {
		t.Errorf("summary after restart counts %d records, %d were acknowledged", sum.Total, load.ackedCount())
	}
}

// TestSIGTERMDrains stops the service with SIGTERM in the middle of a
// steady ingest: it must exit 0 with everything it acknowledged stored.
func TestSIGTERMDrains(t *testing.T) {
	db := filepath.Join(t.TempDir(), "stopscope.db")
	p := startProc(t, db)
	stop := make(chan struct{})
	load := startLoad(p.url, "term", 8, stop)
	deadline := time.Now().Add(20 * time.Second)
	for load.ackedCount() < 1000 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t); code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0\n%s", code, p.stderr)
	}
	close(stop)
	load.wg.Wait()
	checkStored(t, db, load)
}
