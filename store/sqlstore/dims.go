package sqlstore

import (
	"context"
	"database/sql"
	"slices"
	"strings"
	"sync"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/store"
)

// The capped dimensions, as named in dim_values.dim.
const (
	dimRelease       = "release"
	dimPromptVersion = "prompt_version"
)

// maxDimCache bounds the entries of dimCache: past it the cache starts
// over, so that many apps cannot make it grow without bound.
const maxDimCache = 100_000

// dimCache remembers what dim_values says, so that a batch of known values
// reads nothing: the value each key is counted under (itself, or
// store.OtherValue for a value that came after its app was full, which it
// stays since dim_values only grows), and the app NUL dim pairs that
// reached store.MaxDimValues. It learns only what a committed transaction
// saw, so it is never wrong, only incomplete.
type dimCache struct {
	mu      sync.Mutex
	counted map[dimKey]string
	full    map[[2]string]bool
}

func (c *dimCache) lookup(k dimKey) (counted string, known, full bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	counted, known = c.counted[k]
	return counted, known, c.full[[2]string{k.app, k.dim}]
}

// learn adds what a committed transaction saw.
func (c *dimCache) learn(counted map[dimKey]string, full []dimKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.counted == nil || len(c.counted)+len(counted)+len(c.full) > maxDimCache {
		c.counted, c.full = map[dimKey]string{}, map[[2]string]bool{}
	}
	for k, v := range counted {
		c.counted[k] = v
	}
	for _, k := range full {
		c.full[[2]string{k.app, k.dim}] = true
	}
}

// dimKey is one value of one capped dimension of one app.
type dimKey struct{ app, dim, value string }

func compareDimKeys(a, b dimKey) int {
	if c := strings.Compare(a.app, b.app); c != 0 {
		return c
	}
	if c := strings.Compare(a.dim, b.dim); c != 0 {
		return c
	}
	return strings.Compare(a.value, b.value)
}

// dimAdmission is the outcome of admitDims: the value each key is counted
// under in the rollups, and what to teach the cache once the transaction
// commits.
type dimAdmission struct {
	counted map[dimKey]string
	learned map[dimKey]string
	full    []dimKey
}

// rollupDims returns the dims r's rollups count it under: DimsOf with its
// release and prompt version replaced by their counted values.
func (a *dimAdmission) rollupDims(r *analytics.Record) analytics.Dims {
	d := analytics.DimsOf(r)
	if d.Release != "" {
		d.Release = a.counted[dimKey{r.App, dimRelease, r.Release}]
	}
	if d.PromptVersion != "" {
		d.PromptVersion = a.counted[dimKey{r.App, dimPromptVersion, r.PromptVersion}]
	}
	return d
}

// admitDims decides, inside the insert transaction tx, the value each
// release and prompt version of recs is counted under: itself when
// dim_values has it or the app has fewer than store.MaxDimValues values of
// that dimension (it is then added), else store.OtherValue. Keys are
// visited in sorted order, so concurrent batches lock dim_values rows in
// one order (PostgreSQL).
func (s *Store) admitDims(ctx context.Context, tx *sql.Tx, recs []*analytics.Record) (*dimAdmission, error) {
	a := &dimAdmission{counted: map[dimKey]string{}}
	var keys []dimKey
	for _, r := range recs {
		for _, k := range [...]dimKey{{r.App, dimRelease, r.Release}, {r.App, dimPromptVersion, r.PromptVersion}} {
			if k.value == "" {
				continue
			}
			if _, ok := a.counted[k]; ok {
				continue
			}
			a.counted[k] = ""
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return a, nil
	}
	slices.SortFunc(keys, compareDimKeys)
	var (
		has   = s.d.rebind(`SELECT COUNT(*) FROM dim_values WHERE app = ? AND dim = ? AND value = ?`)
		count = s.d.rebind(`SELECT COUNT(*) FROM dim_values WHERE app = ? AND dim = ?`)
		add   = s.d.rebind(`INSERT INTO dim_values (app, dim, value) VALUES (?, ?, ?) ON CONFLICT (app, dim, value) DO NOTHING`)
	)
	for _, k := range keys {
		v, known, full := s.dims.lookup(k)
		if known {
			a.counted[k] = v
			continue
		}
		var n int64
		if err := tx.QueryRowContext(ctx, has, k.app, k.dim, k.value).Scan(&n); err != nil {
			return nil, err
		}
		switch {
		case n > 0:
			v = k.value
		case !full:
			if err := tx.QueryRowContext(ctx, count, k.app, k.dim).Scan(&n); err != nil {
				return nil, err
			}
			full = n >= store.MaxDimValues
			if !full {
				if _, err := tx.ExecContext(ctx, add, k.app, k.dim, k.value); err != nil {
					return nil, err
				}
				v = k.value
				break
			}
			a.full = append(a.full, k)
			fallthrough
		default:
			v = store.OtherValue
		}
		a.counted[k] = v
		if a.learned == nil {
			a.learned = map[dimKey]string{}
		}
		a.learned[k] = v
	}
	return a, nil
}

// learnDims teaches the cache what the committed transaction saw.
func (s *Store) learnDims(a *dimAdmission) {
	if a != nil && (len(a.learned) > 0 || len(a.full) > 0) {
		s.dims.learn(a.learned, a.full)
	}
}
