package main

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"sync"
	"time"

	"github.com/stopscope/stopscope/alert"
	"github.com/stopscope/stopscope/store"
	"github.com/stopscope/stopscope/web"
)

// AlertSettings are the alerting flags.
type AlertSettings struct {
	// Interval is the time between evaluations.
	Interval time.Duration
	// Webhook, when set, is a channel added at start if no channel sends
	// to it yet (hooks.slack.com URLs get Slack payloads). Its host and port
	// are allowed destinations whatever AllowHosts says.
	Webhook string
	// AllowHosts lists, comma-separated, the destinations beyond public
	// addresses that alert channels may send to: host names, addresses,
	// CIDR ranges, each with an optional port (see alert.Destinations).
	AllowHosts string
}

// register adds the alerting flags to fs, with STOPSCOPE_ALERT_INTERVAL
// and STOPSCOPE_ALERT_WEBHOOK as defaults.
func (a *AlertSettings) register(fs *flag.FlagSet, getenv func(string) string) error {
	def := a.Interval
	if def <= 0 {
		def = alert.DefaultInterval
	}
	if v := getenv("STOPSCOPE_ALERT_INTERVAL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("STOPSCOPE_ALERT_INTERVAL: %q is not a duration such as 30s", v)
		}
		def = d
	}
	fs.DurationVar(&a.Interval, "alert-interval", def, "time between alert evaluations (env STOPSCOPE_ALERT_INTERVAL)")
	web := a.Webhook
	if v := getenv("STOPSCOPE_ALERT_WEBHOOK"); v != "" {
		web = v
	}
	fs.StringVar(&a.Webhook, "alert-webhook", web, "webhook URL to send alerts to; hooks.slack.com URLs get Slack messages; its host is an allowed destination (env STOPSCOPE_ALERT_WEBHOOK)")
	allow := a.AllowHosts
	if v := getenv("STOPSCOPE_ALERT_ALLOW_HOSTS"); v != "" {
		allow = v
	}
	fs.StringVar(&a.AllowHosts, "alert-allow-hosts", allow, "comma-separated hosts, addresses or CIDR ranges (each with an optional :port) that alert channels may send to although not public, such as a local receiver in a lab; by default only public addresses are (env STOPSCOPE_ALERT_ALLOW_HOSTS)")
	return nil
}

func (a *AlertSettings) validate() error {
	if a.Interval < time.Second {
		return fmt.Errorf("--alert-interval %s is shorter than a second", a.Interval)
	}
	_, err := a.destinations()
	return err
}

// destinations is the destination policy of the flags: public addresses,
// --alert-allow-hosts, and the --alert-webhook's own host and port.
func (a *AlertSettings) destinations() (*alert.Destinations, error) {
	d, err := alert.ParseDestinations(a.AllowHosts)
	if err != nil {
		return nil, fmt.Errorf("--alert-allow-hosts: %w", err)
	}
	if a.Webhook != "" {
		if err := d.AllowURL(a.Webhook); err != nil {
			return nil, fmt.Errorf("--alert-webhook: %w", err)
		}
	}
	return d, nil
}

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
	dest, err := m.Alerts.destinations()
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
