package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"log/slog"
	"sync"

	"github.com/stopscope/stopscope/store"
)

// Store is store.Store over database/sql. It writes through one *sql.DB and
// reads through another, which may be the same.
type Store struct {
	w, r  *sql.DB
	d     Dialect
	stmts stmtCache
	// dims caches dim_values (admitDims).
	dims dimCache
	// The row counts of the largest statements Insert runs.
	recordRows, rollupRows, contentRows int
	// update is the statement that rewrites a merged record (updateSQL).
	updateOnce sync.Once
	update     string
	// lcCache keeps closed days of the latency and usage rollups
	// (lcClosedDays).
	lcCache lcDayCache
	// The background move of content (moveInBackground): moveStop stops
	// it, moveDone is closed when it has stopped. moveHook, when set by a
	// test, runs before a chunk commits and fails it with its error.
	moveStop func()
	moveDone chan struct{}
	moveHook func() error
	log      *slog.Logger
}

var _ store.Store = (*Store)(nil)

// Config is what New needs.
type Config struct {
	// Writer takes every write. SQLite needs it limited to one connection.
	Writer *sql.DB
	// Reader serves Get, List and Aggregate; nil means Writer.
	Reader *sql.DB
	// Dialect describes the engine.
	Dialect Dialect
	// Migrations holds the engine's NNNN_name.sql files at its root.
	Migrations fs.FS
	// ManualContentMove leaves a pending move of content (MoveContent) to
	// the caller instead of running it in the background.
	ManualContentMove bool
	// Logger takes what the store reports by itself (the background move
	// of content); nil means slog.Default().
	Logger *slog.Logger
}

// An Option sets a part of the Config an engine's Open makes.
type Option func(*Config)

// WithLogger sets Config.Logger.
func WithLogger(l *slog.Logger) Option { return func(c *Config) { c.Logger = l } }

// With returns c with opts applied.
func (c Config) With(opts ...Option) Config {
	for _, o := range opts {
		o(&c)
	}
	return c
}

// New applies the pending migrations through c.Writer and returns the store.
// The store owns both handles from then on: Close closes them, and so does a
// failed New.
func New(ctx context.Context, c Config) (*Store, error) {
	s := &Store{w: c.Writer, r: c.Reader, d: c.Dialect, log: cmp.Or(c.Logger, slog.Default())}
	if s.r == nil {
		s.r = s.w
	}
	if s.d.MaxParams <= 0 {
		s.d.MaxParams = 999 // SQLite's historical default, safe everywhere
	}
	if _, err := Migrate(ctx, s.w, &s.d, c.Migrations); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.prepare(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.pendingLatencyUsageRebuild(ctx); err != nil {
		s.Close()
		return nil, err
	}
	pending, err := s.movePending(ctx)
	if err != nil {
		s.Close()
		return nil, err
	}
	if pending && !c.ManualContentMove {
		s.moveInBackground()
	}
	return s, nil
}

// Writer returns the handle writes go through, for tests and tools.
func (s *Store) Writer() *sql.DB { return s.w }

// Reader returns the handle reads go through, for tests and tools.
func (s *Store) Reader() *sql.DB { return s.r }

// Ping reports whether the database answers, through the read handle: a
// busy writer is not a broken one, and with SQLite's single write
// connection held by an ingest transaction a ping through it would wait
// for the transaction, so health checks would fail under heavy ingest.
func (s *Store) Ping(ctx context.Context) error {
	return s.r.PingContext(ctx)
}

// Close stops a background move of content, then closes both handles.
func (s *Store) Close() error {
	if s.moveStop != nil {
		s.moveStop()
		<-s.moveDone
	}
	s.stmts.close()
	err := s.w.Close()
	if s.r != s.w {
		err = errors.Join(err, s.r.Close())
	}
	return err
}
