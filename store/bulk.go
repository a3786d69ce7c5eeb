package store

import "context"

// BulkCopier is implemented by stores that can multiply what they hold
// quickly: "dashboard bench" fills a database with a month of traffic this
// way before it measures reads.
type BulkCopier interface {
	// CopyDays copies every stored record into each of the days-1 whole
	// days before it: the k-th copy is k days earlier and has its identity
	// made unique to the copy. The rollups are moved along with the
	// copies (every bucket width divides a day), so they stay exact when
	// they were exact before: the store must hold every record its rollups
	// count (no retention has run). It is for filling a database to
	// measure, not for live data: nothing else may write while it runs,
	// and it may trade durability for speed (a crash while it runs may
	// lose the database) and drop the indexes to rebuild them at the end.
	CopyDays(ctx context.Context, days int) error
}
