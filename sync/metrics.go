package sync

import (
	"context"
	gosync "sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fieldsync/fieldsync/models"
)

// metrics are the engine's measurements. Every engine has them, so the
// engine observes without asking whether anyone listens; RegisterMetrics
// exports them.
type metrics struct {
	pulls      *prometheus.CounterVec
	pullLag    prometheus.Histogram
	mutations  *prometheus.CounterVec
	stampDelay prometheus.Histogram
	stampBatch prometheus.Histogram
	slotWait   prometheus.Histogram
}

// Kinds of pull, as fieldsync_sync_pulls_total counts them.
const (
	pullInitial = "initial"
	pullDelta   = "delta"
	pullReset   = "reset"
)

func newMetrics() *metrics {
	m := &metrics{
		pulls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fieldsync_sync_pulls_total",
			Help: "Pull pages served, by kind: initial (no cursor), delta, reset (the device was told to start over).",
		}, []string{"kind"}),
		pullLag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "fieldsync_sync_pull_lag_seq",
			Help: "How many change-log numbers (of every scope) the cursor of a delta pull was behind the stamped head.",
			// 0 is a device already up to date; the log numbers every
			// change of every scope, so a day offline is thousands.
			Buckets: []float64{0, 1, 10, 100, 1000, 10000, 100000, 1000000},
		}),
		mutations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fieldsync_sync_mutations_total",
			Help: "Mutations applied for the first time, by outcome (applied or rejected); retries answered from stored results are not counted.",
		}, []string{"status"}),
		stampDelay: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "fieldsync_sync_stamp_delay_seconds",
			Help:    "For rows committed unnumbered (by an older server during a rolling upgrade): time from created_at to their numbering by the sequencer. Rows numbered as they commit are not observed.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
		}),
		stampBatch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "fieldsync_sync_stamp_batch_rows",
			Help:    "Change rows numbered by one sequencer transaction that numbered any (at most 1000).",
			Buckets: []float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000},
		}),
		slotWait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "fieldsync_sync_slot_wait_seconds",
			Help:    "How long a pull or push waited for one of the engine's FIELDSYNC_SYNC_CONCURRENCY slots before it ran.",
			Buckets: []float64{.0001, .001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}),
	}
	for _, k := range []string{pullInitial, pullDelta, pullReset} {
		m.pulls.WithLabelValues(k)
	}
	for _, s := range []string{StatusApplied, StatusRejected} {
		m.mutations.WithLabelValues(s)
	}
	return m
}

// observeStamped records one committed stamping of rows at now.
func (m *metrics) observeStamped(rows []models.Change, now time.Time) {
	if len(rows) == 0 {
		return
	}
	m.stampBatch.Observe(float64(len(rows)))
	for _, r := range rows {
		// Another process's clock may run ahead of ours.
		m.stampDelay.Observe(max(0, now.Sub(r.CreatedAt).Seconds()))
	}
}

// RegisterMetrics exports the engine's metrics and the change log's size
// to reg. Call it once per registry.
func (e *Engine) RegisterMetrics(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{e.metrics.pulls, e.metrics.pullLag, e.metrics.mutations,
		e.metrics.stampDelay, e.metrics.stampBatch, e.metrics.slotWait, newLogCollector(e)} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// logCountEvery is how long a count of the change log's rows is reused:
// COUNT(*) reads a whole index, so neither a short scrape interval nor
// several scrapers may turn it into load.
const logCountEvery = time.Minute

// logQueryTimeout bounds the queries of one scrape, so that a slow
// database delays a scrape rather than piling them up.
const logQueryTimeout = 5 * time.Second

// logCollector reports the change log when scraped. The head and the
// unstamped rows are read through the seq index on every scrape (the
// stamper keeps unstamped rows few); the total is counted at most once
// per logCountEvery.
type logCollector struct {
	e                             *Engine
	rows, unstamped, oldest, head *prometheus.Desc

	mu        gosync.Mutex
	count     int64
	countedAt time.Time
}

func newLogCollector(e *Engine) *logCollector {
	return &logCollector{
		e: e,
		rows: prometheus.NewDesc("fieldsync_sync_changelog_rows",
			"Rows in the change log (counted at most once a minute); compaction keeps it near one row per record and scope.", nil, nil),
		unstamped: prometheus.NewDesc("fieldsync_sync_changelog_unstamped_rows",
			"Committed change rows the sequencer has not numbered yet; pulls cannot see them.", nil, nil),
		oldest: prometheus.NewDesc("fieldsync_sync_changelog_unstamped_oldest_age_seconds",
			"Age of the oldest unnumbered change row (by its created_at), 0 when there is none: how late the newest changes reach devices.", nil, nil),
		head: prometheus.NewDesc("fieldsync_sync_changelog_head_seq",
			"The last sequence number stamped; devices' cursors stand at or below it.", nil, nil),
	}
}

func (c *logCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.rows
	ch <- c.unstamped
	ch <- c.oldest
	ch <- c.head
}

func (c *logCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), logQueryTimeout)
	defer cancel()
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	recount := c.countedAt.IsZero() || now.Sub(c.countedAt) >= logCountEvery
	var (
		head, unstamped, rows int64
		oldest                float64
	)
	err := c.e.store.Tx(ctx, func(tx models.Tx) error {
		var st models.SyncState
		if err := tx.Get(&st, models.SyncStateSeq); err != nil {
			return err
		}
		head = st.Num
		var err error
		if unstamped, err = tx.Count(&models.Change{}, unnumbered); err != nil {
			return err
		}
		oldest = 0
		if unstamped > 0 {
			var first models.Change
			switch err := tx.First(&first, models.Query{Where: unnumbered, OrderBy: models.OrderBy(changeCol.CreatedAt)}); {
			case err == nil:
				oldest = max(0, now.Sub(first.CreatedAt).Seconds())
			case !models.IsNotFound(err): // not found: stamped since the count
				return err
			}
		}
		if recount {
			rows, err = tx.Count(&models.Change{}, nil)
		}
		return err
	})
	if err != nil {
		for _, d := range []*prometheus.Desc{c.rows, c.unstamped, c.oldest, c.head} {
			ch <- prometheus.NewInvalidMetric(d, err)
		}
		return
	}
	if recount {
		c.count, c.countedAt = rows, now
	}
	ch <- prometheus.MustNewConstMetric(c.rows, prometheus.GaugeValue, float64(c.count))
	ch <- prometheus.MustNewConstMetric(c.unstamped, prometheus.GaugeValue, float64(unstamped))
	ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, oldest)
	ch <- prometheus.MustNewConstMetric(c.head, prometheus.GaugeValue, float64(head))
}
