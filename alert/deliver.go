package alert

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/stopscope/stopscope/analytics"
)

// Delivery defaults.
const (
	DefaultMaxAttempts = 6
	DefaultBackoff     = 2 * time.Second
	DefaultMaxBackoff  = 5 * time.Minute
	DefaultTimeout     = 10 * time.Second
	DefaultPoll        = time.Second
)

// Deliverer sends the outbox: each due delivery is posted to its channel,
// every attempt is recorded, and a failed one is retried with exponential
// backoff (Backoff, doubling, at most MaxBackoff) until MaxAttempts. It runs
// on its own goroutine, so that a slow or failing channel never holds up
// evaluation or ingest; deliveries due together are sent concurrently.
type Deliverer struct {
	Store Store
	// Destinations is where notifications may be sent; nil allows public
	// addresses only. Every connection is checked as it is dialled, no
	// redirect is followed (a 3xx answer is a failed attempt), and the
	// answer's body is never kept: only its status is recorded.
	Destinations *Destinations
	// Now is the clock; time.Now when nil.
	Now    func() time.Time
	Logger *slog.Logger
	// BaseURL is the dashboard's URL, for the links in notifications.
	BaseURL string

	MaxAttempts int
	Backoff     time.Duration
	MaxBackoff  time.Duration
	// Timeout bounds each attempt.
	Timeout time.Duration
	// Poll is how often Run looks for due deliveries.
	Poll time.Duration

	wakeOnce sync.Once
	wake     chan struct{}

	clientOnce sync.Once
	client     *http.Client
}

func (d *Deliverer) init() {
	d.wakeOnce.Do(func() { d.wake = make(chan struct{}, 1) })
}

func (d *Deliverer) httpClient() *http.Client {
	d.clientOnce.Do(func() { d.client = d.Destinations.Client() })
	return d.client
}

// lease is how long a claimed delivery stays out of other claims: longer
// than an attempt can take.
func (d *Deliverer) lease() time.Duration {
	return orDefault(d.Timeout, DefaultTimeout) + 30*time.Second
}

func (d *Deliverer) now() time.Time {
	if d.Now == nil {
		return time.Now()
	}
	return d.Now()
}

func (d *Deliverer) logger() *slog.Logger {
	if d.Logger == nil {
		return slog.Default()
	}
	return d.Logger
}

func orDefault[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// backoff returns the wait after the n-th failed attempt.
func (d *Deliverer) backoff(n int) time.Duration {
	b := orDefault(d.Backoff, DefaultBackoff)
	maxB := orDefault(d.MaxBackoff, DefaultMaxBackoff)
	for i := 1; i < n && b < maxB; i++ {
		b *= 2
	}
	return min(b, maxB)
}

// Wake makes Run look for due deliveries now rather than at its next poll.
func (d *Deliverer) Wake() {
	d.init()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run sends due deliveries every Poll (or when woken) until ctx ends.
func (d *Deliverer) Run(ctx context.Context) {
	d.init()
	t := time.NewTicker(orDefault(d.Poll, DefaultPoll))
	defer t.Stop()
	for {
		if _, err := d.Tick(ctx); err != nil && ctx.Err() == nil {
			d.logger().Error("alert delivery failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-d.wake:
		}
	}
}

// Tick claims the deliveries due at Now, sends them concurrently (one
// attempt each) and returns how many it attempted.
func (d *Deliverer) Tick(ctx context.Context) (int, error) {
	due, err := d.Store.ClaimAlertDeliveries(ctx, d.now(), d.lease(), 100)
	if err != nil {
		return 0, err
	}
	var wg sync.WaitGroup
	for _, del := range due {
		wg.Go(func() {
			if _, err := d.attempt(ctx, del); err != nil {
				d.logger().Error("alert delivery attempt not recorded", "delivery", del.ID, "err", err)
			}
		})
	}
	wg.Wait()
	return len(due), nil
}

// SendTest queues a test notification to channel id and makes its first
// attempt at once; failures are retried like any delivery. The delivery is
// queued already leased, so that a concurrent Tick cannot send it too.
func (d *Deliverer) SendTest(ctx context.Context, id int64) (Attempt, error) {
	ch, err := d.Store.GetAlertChannel(ctx, id)
	if err != nil {
		return Attempt{}, err
	}
	now := d.now()
	del, err := d.Store.EnqueueAlertDelivery(ctx, Delivery{ChannelID: ch.ID, Status: "test", Created: now, NextAt: now.Add(d.lease())})
	if err != nil {
		return Attempt{}, err
	}
	return d.attempt(ctx, del)
}

// attempt makes one attempt at a delivery and records it.
func (d *Deliverer) attempt(ctx context.Context, del Delivery) (Attempt, error) {
	n := del.Attempts + 1
	a := Attempt{DeliveryID: del.ID, ChannelID: del.ChannelID, N: n, At: d.now(), Status: del.Status}
	state, next := DeliveryFailed, time.Time{}
	ch, err := d.Store.GetAlertChannel(ctx, del.ChannelID)
	switch {
	case err != nil:
		a.Error = "channel: " + analytics.ErrorMessage(err)
	case !ch.Enabled && del.Status != "test":
		a.Error = "channel disabled"
	default:
		var ok bool
		ok, err = d.post(ctx, ch, del, &a)
		if err != nil {
			return a, err
		}
		switch {
		case ok:
			state = DeliverySent
		case n < orDefault(d.MaxAttempts, DefaultMaxAttempts):
			state, next = DeliveryPending, a.At.Add(d.backoff(n))
		}
	}
	d.logger().Info("alert delivery attempt", "delivery", del.ID, "channel", del.ChannelID, "status", del.Status,
		"attempt", n, "http_status", a.HTTPStatus, "err", a.Error, "state", state)
	return d.Store.RecordAlertAttempt(ctx, a, state, next)
}

// post sends one attempt and fills a with its answer; ok is a 2xx answer.
// err is set only when the notification could not even be built.
func (d *Deliverer) post(ctx context.Context, ch Channel, del Delivery, a *Attempt) (ok bool, err error) {
	ev := TestEvent(a.At)
	if del.EventID != 0 {
		if ev, err = d.Store.GetAlertEvent(ctx, del.EventID); err != nil {
			return false, err
		}
	}
	p := NewPayload(ev, del.Status, d.BaseURL)
	var bodies [][]byte
	if ch.Kind == ChannelPagerDuty {
		bodies, err = PagerDutyBodies(p, ch.RoutingKey)
	} else {
		var b []byte
		b, err = Body(ch.Kind, p)
		bodies = [][]byte{b}
	}
	if err != nil {
		return false, err
	}
	// A PagerDuty test is a trigger and its resolve: both must be taken.
	for _, body := range bodies {
		if !d.send(ctx, ch, body, a) {
			return false, nil
		}
	}
	return true, nil
}

// send posts one body to ch and fills a with the answer; it reports a 2xx
// answer.
func (d *Deliverer) send(ctx context.Context, ch Channel, body []byte, a *Attempt) bool {
	ctx, cancel := context.WithTimeout(ctx, orDefault(d.Timeout, DefaultTimeout))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ch.URL, bytes.NewReader(body))
	if err != nil {
		a.Error = err.Error()
		return false
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "stopscope-alerts/1")
	if ch.Secret != "" {
		ts := a.At.Unix()
		req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
		req.Header.Set(HeaderSignature, Sign(ch.Secret, ts, body))
	}
	start := time.Now()
	resp, err := d.httpClient().Do(req)
	a.Duration += time.Since(start)
	if err != nil {
		a.Error = err.Error()
		return false
	}
	// The body is read (a little, so that the connection can be reused)
	// and dropped: what a destination answers is never shown or kept.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	resp.Body.Close()
	a.HTTPStatus = resp.StatusCode
	switch {
	case resp.StatusCode >= 300 && resp.StatusCode <= 399:
		a.Error = fmt.Sprintf("HTTP %d: %v", resp.StatusCode, errRedirect)
		return false
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		a.Error = fmt.Sprintf("HTTP %d", resp.StatusCode)
		return false
	}
	return true
}
