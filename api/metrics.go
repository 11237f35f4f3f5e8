package api

import (
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// httpMetrics are the API's measurements. They exist whether or not a
// registry exports them, so handlers observe unconditionally.
type httpMetrics struct {
	duration *prometheus.HistogramVec
	inFlight prometheus.Gauge
	uploaded *prometheus.CounterVec
	// routes are the registered "METHOD /pattern"s: a label is a pattern
	// or "unmatched", never a raw path a client made up.
	routes map[string]bool
	// methods maps the methods Fiber accepts to constant strings: Fiber's
	// c.Method() shares the request's buffer, which the next request
	// overwrites while a label still holds it.
	methods map[string]string
}

// Ways evidence bytes stream through the API, as upload bytes are
// labelled: the authenticated PUT, or the local store's signed URL.
// Presigned uploads straight to MinIO never reach the API.
const (
	viaAPI       = "api"
	viaSignedURL = "signed_url"
)

func newHTTPMetrics() *httpMetrics {
	m := &httpMetrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "fieldsync_http_request_duration_seconds",
			Help: "Time to answer an API request, by method, route pattern and status class (2xx, 4xx, 5xx); for a streamed body, until it starts streaming.",
			// Up to five minutes: a large photo on a slow network.
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
		}, []string{"method", "route", "status"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "fieldsync_http_requests_in_flight",
			Help: "API requests being answered now.",
		}),
		uploaded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fieldsync_evidence_upload_bytes_total",
			Help: "Evidence bytes the API read from upload bodies, counted as they are read (an upload cut off counts what arrived), by way: api (PUT /v1/evidence/{id}/content) or signed_url (the local store's PUT /v1/blobs/{token}).",
		}, []string{"via"}),
	}
	m.uploaded.WithLabelValues(viaAPI)
	m.uploaded.WithLabelValues(viaSignedURL)
	return m
}

func (m *httpMetrics) register(reg prometheus.Registerer) {
	reg.MustRegister(m.duration, m.inFlight, m.uploaded)
}

// learnRoutes records the app's route patterns once they are registered.
func (m *httpMetrics) learnRoutes(app *fiber.App) {
	m.routes = map[string]bool{}
	for _, r := range app.GetRoutes(true) {
		m.routes[r.Method+" "+r.Path] = true
	}
	m.methods = map[string]string{}
	for _, method := range app.Config().RequestMethods {
		m.methods[method] = method
	}
}

// observe records one answered request. Fiber leaves the last matched
// route on the context; for a request no route matched, that is a
// middleware's prefix, which the set of patterns does not hold.
func (m *httpMetrics) observe(c *fiber.Ctx, elapsed time.Duration) {
	method, ok := m.methods[c.Method()]
	if !ok {
		method = "other"
	}
	route := c.Route().Path
	if !m.routes[method+" "+route] {
		route = "unmatched"
	}
	status := strconv.Itoa(c.Response().StatusCode()/100) + "xx"
	m.duration.WithLabelValues(method, route, status).Observe(elapsed.Seconds())
}

// counted wraps an upload's body so that its bytes are counted as they
// are read.
func (m *httpMetrics) counted(via string, r io.Reader) io.Reader {
	return countingReader{r: r, n: m.uploaded.WithLabelValues(via)}
}

type countingReader struct {
	r io.Reader
	n prometheus.Counter
}

func (r countingReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.n.Add(float64(n))
	return n, err
}

// MetricsHandler serves GET /metrics from g in the Prometheus exposition
// format. It is a plain net/http handler for a listener of its own, apart
// from the API's: the load balancer never routes to it, and it answers
// while the API is saturated. A collector that fails (the database is
// down) is logged and left out; the rest is still served.
func MetricsHandler(g prometheus.Gatherer, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		ErrorHandling: promhttp.ContinueOnError,
		// Room for a pair of Prometheus servers; more scrapes at once
		// would only pile up on the database.
		MaxRequestsInFlight: 2,
		Timeout:             10 * time.Second,
	}))
	return mux
}
