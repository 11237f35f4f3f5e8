package main

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/fieldsync/fieldsync/models/audit"
)

// auditCollector reports the audit chaining backlog when scraped: entries
// committed but not chained yet are not covered by `fieldctl audit verify`
// until the chainer reaches them, and a benchmark must wait for zero
// before it measures (cmd/fieldsim/bench.sh does).
type auditCollector struct {
	svc        *audit.Service
	unchained  *prometheus.Desc
	queryLimit time.Duration
}

func newAuditCollector(svc *audit.Service) *auditCollector {
	return &auditCollector{svc: svc, queryLimit: 5 * time.Second,
		unchained: prometheus.NewDesc("fieldsync_audit_unchained_entries",
			"Committed audit entries the chainer has not numbered and hashed yet; the chain covers them once it has.", nil, nil)}
}

func (c *auditCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.unchained }

func (c *auditCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.queryLimit)
	defer cancel()
	n, err := c.svc.Unchained(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.unchained, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.unchained, prometheus.GaugeValue, float64(n))
}
