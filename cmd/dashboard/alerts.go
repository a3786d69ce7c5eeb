package main

import (
	"context"
	"fmt"
	"net/url"
	"sync"

	"github.com/stopscope/stopscope/alert"
	"github.com/stopscope/stopscope/store"
	"github.com/stopscope/stopscope/web"
)

// alerting is the running evaluator and deliverer.
type alerting struct {
	ev  *alert.Evaluator
	del *alert.Deliverer
	// dest is where channels may send, for the deliverer and the web
	// server alike.
	dest   *alert.Destinations
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// setupAlerts adds the --alert-webhook channel and prepares the evaluator
// and deliverer; it returns what the web server needs. A store without the
// alert tables runs without alerting.
func (m *Main) setupAlerts(ctx context.Context, st store.Store) (alert.Store, web.Notifier, error) {
	as, ok := st.(alert.EvaluatorStore)
	if !ok {
		m.Logger.Warn("the store does not keep alerts: alerting is off")
		return nil, nil, nil
	}
	// The default rules, each created once (docs/alerts.md#default-rules).
	seeds := alert.DefaultRules()
	for i := range seeds {
		seeds[i].Rule.Created, seeds[i].Rule.Updated = m.Now().UTC(), m.Now().UTC()
	}
	created, err := as.SeedAlertRules(ctx, seeds)
	if err != nil {
		return nil, nil, err
	}
	for _, r := range created {
		m.Logger.Info("default alert rule added", "id", r.ID, "name", r.Name)
	}
	if m.Alerts.Interval <= 0 {
		m.Alerts.Interval = alert.DefaultInterval
	}
	if m.Alerts.Webhook != "" {
		u, err := url.Parse(m.Alerts.Webhook)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return nil, nil, fmt.Errorf("--alert-webhook %q is not an http or https URL", m.Alerts.Webhook)
		}
		now := m.Now().UTC()
		ch, created, err := as.EnsureAlertChannel(ctx, alert.Channel{
			Name: u.Host, Kind: alert.ChannelKindOf(m.Alerts.Webhook), URL: m.Alerts.Webhook,
			Enabled: true, Created: now, Updated: now,
		})
		if err != nil {
			return nil, nil, fmt.Errorf("--alert-webhook: %w", err)
		}
		if created {
			m.Logger.Info("alert channel added", "id", ch.ID, "kind", ch.Kind, "host", u.Host)
		}
	}
	dest, err := m.Alerts.Destinations()
	if err != nil {
		return nil, nil, err
	}
	a := &alerting{
		dest: dest,
		del:  &alert.Deliverer{Store: as, Now: m.Now, Logger: m.Logger, Destinations: dest},
	}
	a.ev = &alert.Evaluator{Store: as, Now: m.Now, Interval: m.Alerts.Interval, Logger: m.Logger, Enqueued: a.del.Wake}
	m.alerts = a
	return as, a.del, nil
}

// startAlerts runs the evaluator and the deliverer on goroutines of their
// own, so that neither holds up ingest.
func (m *Main) startAlerts() {
	a := m.alerts
	if a == nil {
		return
	}
	a.del.BaseURL = m.URL()
	ctx, cancel := context.WithCancel(context.Background())
	a.cancel = cancel
	a.wg.Go(func() { a.ev.Run(ctx) })
	a.wg.Go(func() { a.del.Run(ctx) })
}

// stopAlerts stops both and waits for them.
func (m *Main) stopAlerts() {
	if a := m.alerts; a != nil && a.cancel != nil {
		a.cancel()
		a.wg.Wait()
	}
}
