package alert

import (
	"context"
	"net/url"
	"strings"
	"time"

	"github.com/stopscope/stopscope/analytics"
)

// ChannelKind is the payload format a channel is sent.
type ChannelKind string

// The kinds of channel.
const (
	// ChannelWebhook gets stopscope's generic JSON payload.
	ChannelWebhook ChannelKind = "webhook"
	// ChannelSlack gets a Slack incoming-webhook payload.
	ChannelSlack ChannelKind = "slack"
	// ChannelPagerDuty gets PagerDuty Events API v2 events: a trigger
	// when an alert fires, a resolve when it resolves.
	ChannelPagerDuty ChannelKind = "pagerduty"
)

// PagerDutyURL is the PagerDuty Events API v2 endpoint, the URL a
// PagerDuty channel gets when none is given.
const PagerDutyURL = "https://events.pagerduty.com/v2/enqueue"

// Channel is where notifications go: a webhook URL, signed with
// Secret when it is set, or PagerDuty's Events API with a routing key.
type Channel struct {
	ID     int64       `json:"id"`
	Name   string      `json:"name"`
	Kind   ChannelKind `json:"kind"`
	URL    string      `json:"url"`
	Secret string      `json:"secret,omitempty"`
	// RoutingKey is a PagerDuty channel's integration key: the service
	// its events open incidents on. Several PagerDuty channels may share
	// a URL as long as their routing keys differ.
	RoutingKey string    `json:"routing_key,omitempty"`
	Enabled    bool      `json:"enabled"`
	Created    time.Time `json:"created,omitzero"`
	Updated    time.Time `json:"updated,omitzero"`
}

// Event is one firing of a rule, resolved or not. It keeps a copy of
// what the rule was when it fired, so that it outlives edits and deletion
// of the rule.
type Event struct {
	ID        int64            `json:"id"`
	RuleID    int64            `json:"rule_id"`
	RuleName  string           `json:"rule_name"`
	Metric    analytics.Metric `json:"metric"`
	Scope     analytics.Scope  `json:"scope"`
	Condition Condition        `json:"condition"`
	Threshold float64          `json:"threshold"`
	Window    time.Duration    `json:"-"`
	// Status is firing or resolved.
	Status     Status         `json:"status"`
	FiredAt    time.Time      `json:"fired_at"`
	ResolvedAt time.Time      `json:"resolved_at,omitzero"`
	Observed   analytics.Rate `json:"observed"`
	Baseline   analytics.Rate `json:"baseline"`
	Reason     string         `json:"reason"`
	// Silenced is set when the rule was silenced as it fired: neither the
	// firing nor its resolution is sent.
	Silenced bool `json:"silenced"`
}

// HistoryLimit is how many transitions the store keeps per rule: the
// oldest go as new ones come.
const HistoryLimit = 200

// HistoryEntry is one firing or resolution of a rule, with what it
// measured at that moment.
type HistoryEntry struct {
	ID       int64          `json:"id"`
	RuleID   int64          `json:"rule_id"`
	EventID  int64          `json:"event_id"`
	From     Status         `json:"from"`
	Status   Status         `json:"status"`
	At       time.Time      `json:"at"`
	Observed analytics.Rate `json:"observed"`
	Baseline analytics.Rate `json:"baseline"`
	Reason   string         `json:"reason"`
}

// EventFilter selects alert events; zero fields select all.
type EventFilter struct {
	RuleID int64
	Status Status
	Limit  int
}

// Delivery states.
const (
	DeliveryPending = "pending"
	DeliverySent    = "sent"
	DeliveryFailed  = "failed"
)

// Delivery is one notification to one channel in the outbox: a
// transition of an event (Status firing or resolved), or a test (Status
// "test", EventID 0).
type Delivery struct {
	ID        int64     `json:"id"`
	EventID   int64     `json:"event_id,omitempty"`
	ChannelID int64     `json:"channel_id"`
	Status    string    `json:"status"`
	State     string    `json:"state"`
	Attempts  int       `json:"attempts"`
	NextAt    time.Time `json:"next_at,omitzero"`
	Created   time.Time `json:"created"`
	Done      time.Time `json:"done,omitzero"`
	LastError string    `json:"last_error,omitempty"`
}

// Attempt is one try at sending a delivery, with its answer.
type Attempt struct {
	ID         int64         `json:"id"`
	DeliveryID int64         `json:"delivery_id"`
	ChannelID  int64         `json:"channel_id"`
	N          int           `json:"n"`
	At         time.Time     `json:"at"`
	Duration   time.Duration `json:"duration_ns"`
	HTTPStatus int           `json:"http_status,omitempty"`
	// Error says why the attempt failed. The body of the destination's
	// answer is never kept: a destination is not trusted to say what the
	// user is shown.
	Error string `json:"error,omitempty"`
	// Status is the delivery's: firing, resolved or test.
	Status string `json:"status"`
}

// Update is what one evaluation of a rule writes, in one transaction:
// its new state and, on a transition, the event it opens (firing) or
// closes (resolved), with one delivery per enabled channel when Notify is
// set.
type Update struct {
	State State
	// Fire, when set, is inserted; State.EventID is set to its ID.
	Fire *Event
	// Resolve, when set, marks event State.EventID resolved at this time.
	Resolve time.Time
	Notify  bool
	// Transition, when it is a firing or a resolution, is added to the
	// rule's history.
	Transition *Transition
}

// Store keeps alert rules, their state, events, channels and the
// delivery outbox. The SQL stores (package store/sqlstore) implement it
// next to store.Store.
type Store interface {
	ListAlertRules(ctx context.Context) ([]Rule, error)
	GetAlertRule(ctx context.Context, id int64) (Rule, error)
	// CreateAlertRule validates and inserts r and returns it with its ID.
	CreateAlertRule(ctx context.Context, r Rule) (Rule, error)
	// UpdateAlertRule validates and replaces the rule r.ID.
	UpdateAlertRule(ctx context.Context, r Rule) (Rule, error)
	// DeleteAlertRule deletes a rule, its state, routing and history; its
	// events stay.
	DeleteAlertRule(ctx context.Context, id int64) error
	// SeedAlertRules creates each rule of seeds whose key was never
	// seeded before and records the key, atomically per seed, and returns
	// the rules it created. A seed already recorded is skipped even if its
	// rule was deleted or edited since.
	SeedAlertRules(ctx context.Context, seeds []Seed) ([]Rule, error)
	// AlertRuleChannels returns the channels rule id is routed to, and
	// whether it is routed at all: an unrouted rule notifies every enabled
	// channel, a routed one only those listed (none when all were deleted).
	AlertRuleChannels(ctx context.Context, id int64) (channels []int64, routed bool, err error)
	// SetAlertRuleChannels routes rule id to channels; nil (or empty)
	// unroutes it, back to every enabled channel. An unknown channel is an
	// EInvalid error.
	SetAlertRuleChannels(ctx context.Context, id int64, channels []int64) error
	// ListAlertHistory returns the transitions of rule id, newest first, at
	// most limit (and at most HistoryLimit are kept).
	ListAlertHistory(ctx context.Context, id int64, limit int) ([]HistoryEntry, error)

	// AlertStates returns the state of every rule that has one, by rule ID.
	AlertStates(ctx context.Context) (map[int64]State, error)
	// ApplyAlertUpdate writes one evaluation's outcome atomically.
	ApplyAlertUpdate(ctx context.Context, u Update) error

	GetAlertEvent(ctx context.Context, id int64) (Event, error)
	// ListAlertEvents returns events newest first.
	ListAlertEvents(ctx context.Context, f EventFilter) ([]Event, error)

	ListAlertChannels(ctx context.Context) ([]Channel, error)
	GetAlertChannel(ctx context.Context, id int64) (Channel, error)
	// CreateAlertChannel inserts c; a URL already used by another channel is
	// an EConflict error.
	CreateAlertChannel(ctx context.Context, c Channel) (Channel, error)
	UpdateAlertChannel(ctx context.Context, c Channel) (Channel, error)
	// DeleteAlertChannel deletes a channel with its deliveries and attempts.
	DeleteAlertChannel(ctx context.Context, id int64) error
	// EnsureAlertChannel returns the channel with c.URL, creating it from c
	// if there is none, and reports whether it created it.
	EnsureAlertChannel(ctx context.Context, c Channel) (Channel, bool, error)

	// EnqueueAlertDelivery adds one delivery to the outbox (for tests of a
	// channel; evaluations enqueue through ApplyAlertUpdate).
	EnqueueAlertDelivery(ctx context.Context, d Delivery) (Delivery, error)
	// ClaimAlertDeliveries returns up to limit pending deliveries due at
	// now, oldest first, and pushes their NextAt to now+lease so that no
	// other deliverer takes them meanwhile.
	ClaimAlertDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]Delivery, error)
	// RecordAlertAttempt logs one attempt of delivery a.DeliveryID and sets
	// the delivery's state: DeliverySent, DeliveryFailed, or DeliveryPending
	// with next as the time of the next attempt.
	RecordAlertAttempt(ctx context.Context, a Attempt, state string, next time.Time) (Attempt, error)
	// ListAlertDeliveries returns the deliveries of an event, or of every
	// event when eventID is 0, newest first, at most limit.
	ListAlertDeliveries(ctx context.Context, eventID int64, limit int) ([]Delivery, error)
	// ListAlertAttempts returns the attempts to a channel (every channel
	// when channelID is 0), newest first, at most limit.
	ListAlertAttempts(ctx context.Context, channelID int64, limit int) ([]Attempt, error)

	// TryEvaluatorLock takes the lock that lets one evaluator work at a
	// time among processes sharing the store. ok is false when another
	// holds it; release must be called when ok.
	TryEvaluatorLock(ctx context.Context) (release func(), ok bool, err error)
}

// Validate checks a channel, naming the first bad field in an EInvalid
// error.
func (c Channel) Validate() error {
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return analytics.Errorf(analytics.EInvalid, "field url: %q is not an http or https URL", c.URL)
	}
	if len(c.URL) > 2048 {
		return analytics.Errorf(analytics.EInvalid, "field url: is longer than 2048 bytes")
	}
	if strings.TrimSpace(c.Name) == "" {
		return analytics.Errorf(analytics.EInvalid, "field name: is required")
	}
	switch c.Kind {
	case ChannelWebhook, ChannelSlack:
		if c.RoutingKey != "" {
			return analytics.Errorf(analytics.EInvalid, "field routing_key: only a pagerduty channel has one, not a %s channel", c.Kind)
		}
	case ChannelPagerDuty:
		if strings.TrimSpace(c.RoutingKey) == "" {
			return analytics.Errorf(analytics.EInvalid, "field routing_key: is required for a pagerduty channel (the integration key of an Events API v2 integration)")
		}
		if len(c.RoutingKey) > 200 || strings.ContainsFunc(c.RoutingKey, func(r rune) bool { return r <= ' ' || r > '~' }) {
			return analytics.Errorf(analytics.EInvalid, "field routing_key: is not a PagerDuty integration key")
		}
		if c.Secret != "" {
			return analytics.Errorf(analytics.EInvalid, "field secret: a pagerduty channel is not signed (PagerDuty does not check signatures)")
		}
	default:
		return analytics.Errorf(analytics.EInvalid, "field kind: %q is not one of webhook, slack, pagerduty", c.Kind)
	}
	return nil
}

// ChannelKindOf guesses the kind of a webhook URL: Slack's incoming
// webhooks (hooks.slack.com) get Slack payloads, anything else the generic
// one. Events.pagerduty.com is PagerDuty's.
func ChannelKindOf(rawURL string) ChannelKind {
	u, err := url.Parse(rawURL)
	if err == nil && strings.EqualFold(u.Hostname(), "hooks.slack.com") {
		return ChannelSlack
	}
	if err == nil && strings.EqualFold(u.Hostname(), "events.pagerduty.com") {
		return ChannelPagerDuty
	}
	return ChannelWebhook
}
