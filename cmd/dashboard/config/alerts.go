package config

import (
	"flag"
	"fmt"
	"time"

	"github.com/stopscope/stopscope/alert"
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

// Register adds the alerting flags to fs, with STOPSCOPE_ALERT_INTERVAL
// and STOPSCOPE_ALERT_WEBHOOK as defaults.
func (a *AlertSettings) Register(fs *flag.FlagSet, getenv func(string) string) error {
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

func (a *AlertSettings) Validate() error {
	if a.Interval < time.Second {
		return fmt.Errorf("--alert-interval %s is shorter than a second", a.Interval)
	}
	_, err := a.Destinations()
	return err
}

// Destinations is the destination policy of the flags: public addresses,
// --alert-allow-hosts, and the --alert-webhook's own host and port.
func (a *AlertSettings) Destinations() (*alert.Destinations, error) {
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
