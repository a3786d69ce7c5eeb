package config

import (
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/cmd/dashboard/cli"
	"github.com/stopscope/stopscope/ingest"
	"github.com/stopscope/stopscope/ingest/receiver"
	"github.com/stopscope/stopscope/store"
)

// Operations holds the settings of serve that keep ingest safe under load
// and keep data as long, and as private, as wanted.
type Operations struct {
	// Limits bounds each ingest request, native and OTLP/HTTP alike.
	Limits ingest.Limits
	// Batch tunes group commit: how many records one commit carries and
	// how many may wait before ingest answers 503.
	Batch store.BatcherConfig
	// MaxConcurrentIngest is how many ingest requests (HTTP and gRPC) are
	// read, decoded and stored at once; past it they are answered 503 (or
	// gRPC Unavailable) at once, before their body is read, which is what
	// keeps memory bounded whatever the offered load.
	MaxConcurrentIngest int
	// IngestBodyTimeout and IngestMinBodyRate bound the time an ingest
	// request's body takes to arrive, so that a client sending it slowly
	// cannot hold an ingest slot: the body must be read within
	// IngestBodyTimeout plus one second per IngestMinBodyRate bytes
	// received (a zero rate gives the timeout alone), or the request fails
	// and its slot is freed. A zero IngestBodyTimeout turns the bound off.
	IngestBodyTimeout time.Duration
	IngestMinBodyRate int64
	// HeaderTimeout bounds the reading of a request's line and headers, on
	// every route; IdleTimeout is how long a kept-alive connection may wait
	// for its next request. Zero takes the defaults.
	HeaderTimeout time.Duration
	IdleTimeout   time.Duration
	// GCPercent is the garbage collector's target heap growth, in percent
	// of the live heap (runtime/debug.SetGCPercent, as GOGC), set by the
	// serve command when the environment does not set GOGC; 0 leaves Go's
	// default of 100. Under sustained ingest the requests keep their
	// records live until their commit, and at Go's default the heap grows
	// to twice that between collections; at 50 it grows to one and a half
	// times, at the cost of collecting twice as often.
	GCPercent int
	// MetadataOnly stores records without their content (see
	// analytics.StripContent).
	MetadataOnly bool
	// Redact lists regular expressions whose matches are replaced before
	// storage (see analytics.Redact).
	Redact []string
	// RetentionDays is how long raw records are kept; 0 keeps them forever.
	RetentionDays int
	// RollupRetentionDays is how long rollups are kept; 0 keeps them forever.
	RollupRetentionDays int
}

// The defaults of Operations not taken from other packages.
const (
	DefaultMaxConcurrentIngest = 64
	DefaultRetentionDays       = 30
	DefaultRollupRetentionDays = 400
	// DefaultGCPercent keeps the bench's sustained ingest under 256 MB of
	// resident memory (docs/performance.md).
	DefaultGCPercent = 50
)

// DefaultOperations returns the defaults.
func DefaultOperations() Operations {
	return Operations{
		Limits:              ingest.DefaultLimits(),
		Batch:               store.BatcherConfig{MaxBatch: store.DefaultMaxBatch, MaxQueued: store.DefaultMaxQueued},
		MaxConcurrentIngest: DefaultMaxConcurrentIngest,
		IngestBodyTimeout:   receiver.DefaultIngestBodyTimeout,
		IngestMinBodyRate:   receiver.DefaultIngestMinBodyRate,
		HeaderTimeout:       receiver.DefaultHeaderTimeout,
		IdleTimeout:         receiver.DefaultIdleTimeout,
		RetentionDays:       DefaultRetentionDays,
		RollupRetentionDays: DefaultRollupRetentionDays,
		GCPercent:           DefaultGCPercent,
	}
}

// Register adds the flags of o to fs, with STOPSCOPE_* defaults.
func (o *Operations) Register(fs *flag.FlagSet, getenv func(string) string) *cli.EnvFlags {
	e := &cli.EnvFlags{FS: fs, Getenv: getenv}
	l := &o.Limits
	e.Int(&l.MaxRecords, ingest.FlagMaxRecords, "STOPSCOPE_INGEST_MAX_RECORDS", "most records one ingest request may hold")
	e.Int(&l.MaxFieldBytes, ingest.FlagMaxFieldBytes, "STOPSCOPE_INGEST_MAX_FIELD_BYTES", "largest body one record may carry, in bytes")
	e.Int(&l.MaxIDBytes, ingest.FlagMaxIDBytes, "STOPSCOPE_INGEST_MAX_ID_BYTES", "longest app, id, model or similar short string, in bytes")
	e.Int64(&l.MaxBodyBytes, ingest.FlagMaxBodyBytes, "STOPSCOPE_INGEST_MAX_BODY_BYTES", "largest ingest request body as sent, in bytes (native and OTLP/HTTP)")
	e.Int64(&l.MaxDecompressedBytes, ingest.FlagMaxDecompressedBytes, "STOPSCOPE_INGEST_MAX_DECOMPRESSED_BYTES", "largest ingest request body once decompressed, in bytes (native and OTLP/HTTP)")
	e.Int(&o.MaxConcurrentIngest, "ingest-max-concurrent", "STOPSCOPE_INGEST_MAX_CONCURRENT", "ingest requests handled at once; more are answered 503 with Retry-After")
	e.Duration(&o.IngestBodyTimeout, receiver.FlagIngestBodyTimeout, "STOPSCOPE_INGEST_BODY_TIMEOUT", "time an ingest request body may take to arrive, plus one second per -"+receiver.FlagIngestMinBodyRate+" bytes received; 0 turns the bound off")
	e.Int64(&o.IngestMinBodyRate, receiver.FlagIngestMinBodyRate, "STOPSCOPE_INGEST_MIN_BODY_RATE", "bytes per second an ingest body must arrive at, past -"+receiver.FlagIngestBodyTimeout+", for its deadline to move on")
	e.Int(&o.Batch.MaxQueued, "ingest-max-queued-records", "STOPSCOPE_INGEST_MAX_QUEUED_RECORDS", "records waiting to be committed before ingest answers 503 with Retry-After")
	e.Int(&o.Batch.MaxBatch, "ingest-max-batch-records", "STOPSCOPE_INGEST_MAX_BATCH_RECORDS", "most records one group commit carries")
	e.Int(&o.GCPercent, "gc-percent", "STOPSCOPE_GC_PERCENT", "heap growth, in percent of the live heap, at which garbage is collected (as GOGC); 0 takes Go's default of 100; GOGC, when set, wins")
	e.Bool(&o.MetadataOnly, "metadata-only", "STOPSCOPE_METADATA_ONLY", "store no request or response content: no bodies, no text")
	if v := getenv("STOPSCOPE_REDACT"); v != "" {
		for _, line := range strings.Split(v, "\n") {
			if line = strings.TrimRight(line, "\r"); line != "" {
				o.Redact = append(o.Redact, line)
			}
		}
	}
	fs.Var(cli.Regexps{P: &o.Redact}, "redact", "regular expression whose matches are stored as [REDACTED]; repeatable (env STOPSCOPE_REDACT, one per line)")
	e.Int(&o.RetentionDays, "retention-days", "STOPSCOPE_RETENTION_DAYS", "days raw records are kept; 0 keeps them forever")
	e.Int(&o.RollupRetentionDays, "rollup-retention-days", "STOPSCOPE_ROLLUP_RETENTION_DAYS", "days rollups (the counts behind charts and summaries) are kept; 0 keeps them forever")
	return e
}

// Validate checks o once flags are parsed.
func (o *Operations) Validate() error {
	if _, err := analytics.CompileRedactions(o.Redact); err != nil {
		return err
	}
	for _, c := range []struct {
		name string
		v    int
	}{
		{"retention-days", o.RetentionDays},
		{"rollup-retention-days", o.RollupRetentionDays},
		{"ingest-max-concurrent", o.MaxConcurrentIngest},
		{"ingest-max-queued-records", o.Batch.MaxQueued},
		{"ingest-max-batch-records", o.Batch.MaxBatch},
		{"gc-percent", o.GCPercent},
	} {
		if c.v < 0 {
			return fmt.Errorf("-%s must not be negative", c.name)
		}
	}
	if o.IngestBodyTimeout < 0 || o.IngestMinBodyRate < 0 {
		return fmt.Errorf("-%s and -%s must not be negative", receiver.FlagIngestBodyTimeout, receiver.FlagIngestMinBodyRate)
	}
	if o.RetentionDays > 0 && o.RollupRetentionDays > 0 && o.RollupRetentionDays < o.RetentionDays {
		return fmt.Errorf("-rollup-retention-days (%d) must not be shorter than -retention-days (%d)", o.RollupRetentionDays, o.RetentionDays)
	}
	return nil
}
