package main

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/stopscope/stopscope/auth"
	"github.com/stopscope/stopscope/cmd/dashboard/cli"
	"github.com/stopscope/stopscope/cmd/dashboard/config"
	"github.com/stopscope/stopscope/cmd/dashboard/maint"
	"github.com/stopscope/stopscope/cmd/dashboard/telemetry"
	"github.com/stopscope/stopscope/ingest"
	"github.com/stopscope/stopscope/ingest/otlp"
	"github.com/stopscope/stopscope/ingest/receiver"
	"github.com/stopscope/stopscope/query"
	"github.com/stopscope/stopscope/store"
	"github.com/stopscope/stopscope/store/sqlstore"
	"github.com/stopscope/stopscope/web"
)

// Main is the running service. End-to-end tests build one with NewMain,
// set fields or call ParseFlags, then Run it on port 0 and Close it.
type Main struct {
	// Addr is where HTTP listens (ingest, OTLP/HTTP, API, dashboard).
	Addr string
	// DB is a SQLite file path or a postgres:// URL.
	DB string
	// OTLPGRPCAddr is where OTLP/gRPC listens; empty turns it off.
	OTLPGRPCAddr string
	// TLS, when set, serves HTTPS and OTLP/gRPC over TLS.
	TLS receiver.TLSFiles
	// Now is the clock; time.Now when nil.
	Now func() time.Time

	Stdout io.Writer
	Logger *slog.Logger
	// Getenv reads the environment (OTEL_* variables); os.Getenv when nil.
	Getenv func(string) string

	// Ops holds the ingest limits, overload, privacy and retention
	// settings (operations.go; applied by package maint).
	Ops config.Operations

	// Alerts holds the alerting settings (alerts.go).
	Alerts config.AlertSettings
	alerts *alerting

	// Auth holds the authentication settings (auth.go).
	Auth config.AuthSettings

	Store     store.Store
	tel       *telemetry.Telemetry
	httpLn    net.Listener
	tlsConfig *tls.Config
	httpSrv   *http.Server
	grpcLn    net.Listener
	grpcSrv   *grpc.Server
	shutdown  time.Duration

	// batcher commits ingest in groups; retain deletes old data;
	// ingestSlots bounds the ingest requests in flight.
	batcher     *store.Batcher
	retain      *maint.Retention
	ingestSlots chan struct{}
	// seen remembers which producer last sent what; Close flushes it.
	seen *receiver.Seen
	// liveEvery is how often pages refresh their live parts
	// (web.DefaultLiveEvery when zero); tests shorten it.
	liveEvery time.Duration
}

// NewMain returns a Main with the defaults.
func NewMain(stdout, stderr io.Writer) *Main {
	return &Main{
		Addr:         "127.0.0.1:8080",
		DB:           cli.DefaultDB,
		OTLPGRPCAddr: "127.0.0.1:4317",
		Ops:          config.DefaultOperations(),
		Stdout:       stdout,
		Logger:       slog.New(slog.NewTextHandler(stderr, nil)),
		shutdown:     10 * time.Second,
	}
}

// ParseFlags reads the flags of serve, with the environment's
// STOPSCOPE_* variables as defaults.
func (m *Main) ParseFlags(args []string, getenv func(string) string) error {
	m.Getenv = getenv
	envOr := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(m.Stdout)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), commands+"\nFlags of serve:\n")
		fs.PrintDefaults()
	}
	fs.StringVar(&m.Addr, "addr", envOr("STOPSCOPE_ADDR", m.Addr), "HTTP listen address (env STOPSCOPE_ADDR)")
	fs.StringVar(&m.DB, "db", envOr("STOPSCOPE_DB", m.DB), "SQLite file path, or a postgres:// URL (env STOPSCOPE_DB)")
	fs.StringVar(&m.OTLPGRPCAddr, "otlp-grpc-addr", envOr("STOPSCOPE_OTLP_GRPC_ADDR", m.OTLPGRPCAddr), "OTLP/gRPC listen address; empty turns it off (env STOPSCOPE_OTLP_GRPC_ADDR)")
	fs.StringVar(&m.TLS.CertFile, "tls-cert", envOr("STOPSCOPE_TLS_CERT", ""), "PEM certificate to serve HTTPS and gRPC over TLS with, with -tls-key (env STOPSCOPE_TLS_CERT)")
	fs.StringVar(&m.TLS.KeyFile, "tls-key", envOr("STOPSCOPE_TLS_KEY", ""), "PEM private key of -tls-cert (env STOPSCOPE_TLS_KEY)")
	ops := m.Ops.Register(fs, getenv)
	if err := m.Alerts.Register(fs, getenv); err != nil {
		return err
	}
	if err := m.Auth.Register(fs, getenv); err != nil {
		return err
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if ops.Err != nil {
		return ops.Err
	}
	if err := m.Alerts.Validate(); err != nil {
		return err
	}
	if err := m.Auth.Validate(); err != nil {
		return err
	}
	if m.TLS.Enabled() && (m.TLS.CertFile == "" || m.TLS.KeyFile == "") {
		return errors.New("-tls-cert and -tls-key go together")
	}
	return m.Ops.Validate()
}

// Run opens the store and starts listening; it returns once the service
// serves. Close stops it.
func (m *Main) Run(ctx context.Context) error {
	if m.Now == nil {
		m.Now = time.Now
	}
	if m.Getenv == nil {
		m.Getenv = os.Getenv
	}
	tel, err := telemetry.New(ctx, m.Getenv)
	if err != nil {
		return fmt.Errorf("set up telemetry: %w", err)
	}
	m.tel = tel
	st, err := cli.OpenStore(ctx, m.DB, sqlstore.WithLogger(m.Logger))
	if err != nil {
		return fmt.Errorf("open store %s: %w", m.DB, err)
	}
	m.Store = st

	// Ingest writes through telemetry, privacy, group commit, the store.
	chain, err := m.ingestSink(st)
	if err != nil {
		return err
	}
	ingestAuth, webAuth, err := m.setupAuth(ctx, st)
	if err != nil {
		return err
	}
	// Outermost, where the context still carries the request's ingest key.
	// A key bound to an app takes the Claude API's spans (a telemetry
	// destination registered with it) into that app.
	sink := auth.BindApps(tel.Instruments.Sink(chain), ingest.DefaultApp, otlp.PlatformApp)
	m.retain = &maint.Retention{
		Store: st, Now: m.Now, Logger: m.Logger, Pause: 10 * time.Millisecond,
		Raw: maint.Days(m.Ops.RetentionDays), Rollups: maint.Days(m.Ops.RollupRetentionDays),
	}
	m.retain.Start()
	lim := m.Ops.Limits.WithDefaults()
	ing := &receiver.Handler{Sink: sink, Limits: lim, Now: m.Now}
	rcv := &receiver.Receiver{Sink: sink, Now: m.Now, MaxBodyBytes: lim.MaxBodyBytes, MaxDecompressedBytes: lim.MaxDecompressedBytes}
	ing.Rejected = func(ctx context.Context, n int) { tel.Instruments.Rejected(ctx, "native", "invalid_record", n) }
	rcv.Rejected = func(ctx context.Context, n int) { tel.Instruments.Rejected(ctx, "otlp", "invalid_span", n) }
	// Which producer last sent what, for the Setup page; and Claude Code's
	// own totals, held to the key's app like the records.
	seen := &receiver.Seen{Now: m.Now, Logger: m.Logger}
	if ss, ok := st.(store.SeenStore); ok {
		// Kept in the store too, so that a restart still shows it.
		seen.Store = ss
		if err := seen.Load(ctx); err != nil {
			m.Logger.Warn("reading when producers were last seen", "err", err)
		}
	}
	m.seen = seen
	ing.Seen, rcv.Seen = seen, seen
	if ps, ok := st.(store.ProducerTotalsStore); ok {
		rcv.MetricSink = auth.BindMetricApps(ps, ingest.DefaultApp)
	}
	alerts, notifier, err := m.setupAlerts(ctx, st)
	if err != nil {
		return err
	}
	// One read model for the pages, the API and the alert rules.
	reads := query.New(st, m.Now)
	if m.alerts != nil {
		m.alerts.ev.Query = reads
	}
	// gRPC listens first, so that the Setup page names its real address.
	var grpcAddr string
	if m.OTLPGRPCAddr != "" {
		m.grpcLn, err = net.Listen("tcp", m.OTLPGRPCAddr)
		if err != nil {
			return fmt.Errorf("listen for OTLP/gRPC on %s (turn it off with --otlp-grpc-addr=): %w", m.OTLPGRPCAddr, err)
		}
		grpcAddr = m.grpcLn.Addr().String()
	}
	srv := &web.Server{
		Store: st, Query: reads, Logger: m.Logger, Now: m.Now, Alerts: alerts, Notifier: notifier,
		Telemetry: tel.Instruments, Metrics: tel.Metrics,
		PostResponses: m.limitIngest(ing.PostResponses), PostTraces: m.limitIngest(rcv.Traces), PostLogs: m.limitIngest(rcv.Logs),
		PostMetrics: m.limitIngest(rcv.Metrics), Received: seen.Last, OTLPGRPCAddr: grpcAddr,
		Ready: m.ready, Auth: webAuth, AllowedHosts: m.allowedHosts(), LiveEvery: m.liveEvery,
	}
	if m.alerts != nil {
		srv.AlertDestinations = m.alerts.dest
	}

	ln, err := net.Listen("tcp", m.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", m.Addr, err)
	}
	m.httpLn, m.tlsConfig, err = m.TLS.Listen(ln)
	if err != nil {
		ln.Close()
		return err
	}
	// No ReadTimeout: it would bound whole requests, cutting large uploads,
	// and cancel long handlers; ingest bodies have their own deadline.
	m.httpSrv = &http.Server{Handler: srv.Handler(),
		ReadHeaderTimeout: cmp.Or(m.Ops.HeaderTimeout, receiver.DefaultHeaderTimeout),
		IdleTimeout:       cmp.Or(m.Ops.IdleTimeout, receiver.DefaultIdleTimeout)}
	go func() {
		if err := m.httpSrv.Serve(m.httpLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.Logger.Error("http server stopped", "err", err)
		}
	}()

	if m.grpcLn != nil {
		// A message is received whole before the limit interceptor takes a
		// slot, so a slow sender holds no slot; the handshake is bounded.
		opts := []grpc.ServerOption{receiver.GRPCServerOption(), grpc.ChainUnaryInterceptor(receiver.AuthInterceptor(ingestAuth), receiver.LimitInterceptor(m.admitIngest)),
			grpc.ConnectionTimeout(cmp.Or(m.Ops.HeaderTimeout, receiver.DefaultHeaderTimeout))}
		if m.tlsConfig != nil {
			opts = append(opts, grpc.Creds(credentials.NewTLS(m.tlsConfig)))
		}
		m.grpcSrv = grpc.NewServer(opts...)
		rcv.RegisterGRPC(m.grpcSrv)
		go func() {
			if err := m.grpcSrv.Serve(m.grpcLn); err != nil {
				m.Logger.Error("otlp grpc server stopped", "err", err)
			}
		}()
	}
	m.startAlerts()
	m.printWelcome()
	return nil
}

// URL is the base URL the HTTP server answers on.
func (m *Main) URL() string {
	if m.tlsConfig != nil {
		return "https://" + m.httpLn.Addr().String()
	}
	return "http://" + m.httpLn.Addr().String()
}

func (m *Main) printWelcome() {
	u := m.URL()
	fmt.Fprintf(m.Stdout, "stopscope is listening on %s (store: %s)\n", u, m.DB)
	if m.grpcLn != nil {
		fmt.Fprintf(m.Stdout, "OTLP/gRPC on %s; OTLP/HTTP: OTEL_EXPORTER_OTLP_ENDPOINT=%s\n", m.grpcLn.Addr(), u)
	}
	fmt.Fprintf(m.Stdout, "Open %s/ in a browser. Send a response with:\n", u)
	// A body that works as pasted: a file the user may not have would not.
	fmt.Fprintf(m.Stdout, "  curl -sS %s/v1/responses -H 'Content-Type: application/json' -d '%s'\n", u,
		`{"app":"hello","response":{"id":"msg_hello","type":"message","role":"assistant","model":"claude-sonnet-4-6",`+
			`"content":[{"type":"text","text":"Hello."}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":5,"output_tokens":2}}}`)
}

// Close stops accepting, lets requests in flight finish, then closes the
// store.
func (m *Main) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), m.shutdown)
	defer cancel()
	var errs []error
	if m.httpSrv != nil {
		errs = append(errs, m.httpSrv.Shutdown(ctx))
	}
	if m.grpcSrv != nil {
		m.grpcSrv.GracefulStop()
	} else if m.grpcLn != nil {
		m.grpcLn.Close() // Run failed between listening and serving
	}
	m.stopAlerts()
	// With no request left in flight, commit what is queued, then close.
	m.seen.Flush()
	if m.retain != nil {
		m.retain.Close()
	}
	if m.batcher != nil {
		errs = append(errs, m.batcher.Close())
	}
	if m.Store != nil {
		errs = append(errs, m.Store.Close())
	}
	if m.tel != nil {
		errs = append(errs, m.tel.Close(ctx))
	}
	return errors.Join(errs...)
}
