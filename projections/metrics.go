package projections

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	events, batches, cacheMisses          prometheus.Counter
	batchSeconds, applyDelay              prometheus.Histogram
	leader                                prometheus.Gauge
	delivered, deliveryFailed, poisoned   prometheus.Counter
	watchAppended                         prometheus.Counter
	lagPositions, lagSeconds, outboxDepth prometheus.GaugeFunc
	quarantined                           prometheus.GaugeFunc

	mu      sync.Mutex
	lastLag Lag
	lastAt  time.Time
}

func newMetrics(p *Projections) *metrics {
	m := &metrics{
		events: prometheus.NewCounter(prometheus.CounterOpts{Name: "custody_projection_events_total",
			Help: "Events applied to the read models (live generation and rebuilds)."}),
		batches: prometheus.NewCounter(prometheus.CounterOpts{Name: "custody_projection_batches_total",
			Help: "Batches committed (read-model rows and checkpoint in one transaction)."}),
		cacheMisses: prometheus.NewCounter(prometheus.CounterOpts{Name: "custody_projection_stream_reads_total",
			Help: "Streams read back from the store because the runner's cache did not hold them."}),
		batchSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "custody_projection_batch_seconds",
			Help: "Time to write and commit one batch.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 14)}),
		applyDelay: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "custody_projection_apply_delay_seconds",
			Help:    "From an event's recording in the store to the commit of its read-model rows.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}}),
		leader: prometheus.NewGauge(prometheus.GaugeOpts{Name: "custody_projection_leader",
			Help: "1 while this process is the elected projection runner."}),
		delivered: prometheus.NewCounter(prometheus.CounterOpts{Name: "custody_notifications_delivered_total",
			Help: "Notifications published and marked delivered."}),
		deliveryFailed: prometheus.NewCounter(prometheus.CounterOpts{Name: "custody_notifications_failed_total",
			Help: "Failed delivery attempts (retried with backoff)."}),
		poisoned: prometheus.NewCounter(prometheus.CounterOpts{Name: "custody_notifications_poisoned_total",
			Help: "Notifications moved to the poison queue after too many failures."}),
		watchAppended: prometheus.NewCounter(prometheus.CounterOpts{Name: "custody_deadline_watch_appended_total",
			Help: "DeadlineMissed events appended by the deadline watch."}),
	}
	m.lagPositions = prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "custody_projection_lag_positions",
		Help: "Global positions the live read models are behind the head of the log."},
		func() float64 { return float64(m.lag(p).Positions) })
	m.lagSeconds = prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "custody_projection_lag_seconds",
		Help: "Age of the oldest event not yet applied to the live read models (0 when caught up)."},
		func() float64 { return m.lag(p).Seconds })
	m.outboxDepth = prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "custody_notifications_pending",
		Help: "Notifications waiting in the outbox."},
		func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			var n int64
			if err := p.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM projections_outbox WHERE status = 'pending'`).Scan(&n); err != nil {
				return -1
			}
			return float64(n)
		})
	m.quarantined = prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "custody_projection_quarantined",
		Help: "Events the live read models skipped because they could not project them (custody projections quarantine lists them)."},
		func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			n, err := p.QuarantineCount(ctx)
			if err != nil {
				return -1
			}
			return float64(n)
		})
	return m
}

// lag reads the lag at most once a second for the scrape's two gauges.
func (m *metrics) lag(p *Projections) Lag {
	m.mu.Lock()
	defer m.mu.Unlock()
	if time.Since(m.lastAt) < time.Second {
		return m.lastLag
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	l, err := p.Lag(ctx)
	if err != nil {
		l = Lag{Positions: 0, Seconds: -1}
	}
	m.lastLag, m.lastAt = l, time.Now()
	return l
}

func (m *metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.events, m.batches, m.cacheMisses, m.batchSeconds, m.applyDelay, m.leader,
		m.delivered, m.deliveryFailed, m.poisoned, m.watchAppended, m.lagPositions, m.lagSeconds, m.outboxDepth, m.quarantined}
}

func (p *Projections) observe(plan *batchPlan, took time.Duration) {
	m := p.metrics
	m.events.Add(float64(plan.events))
	m.batches.Inc()
	m.batchSeconds.Observe(took.Seconds())
	now := time.Now()
	for _, r := range plan.recorded {
		m.applyDelay.Observe(now.Sub(r).Seconds())
	}
	if p.opts.onCommit != nil {
		p.opts.onCommit(plan.recorded, now)
	}
}
