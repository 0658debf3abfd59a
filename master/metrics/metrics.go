// Package metrics holds the master's Prometheus collectors. They live in a
// registry of their own, so tests can build as many masters as they like and
// /metrics shows nothing but Tidewatch's figures and the Go runtime's.
package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is the set of collectors the master updates.
type Metrics struct {
	registry *prometheus.Registry

	// WorkersOnline is the number of workers currently online.
	WorkersOnline prometheus.Gauge
	// ClientsConnected is the number of client sockets past client:connect.
	ClientsConnected prometheus.Gauge
	// MessagesIngested counts detected messages stored for the first time.
	MessagesIngested *prometheus.CounterVec
	// Duplicates counts detected messages the master already had.
	Duplicates prometheus.Counter
	// NotificationsPushed counts push envelopes handed to client sockets.
	NotificationsPushed prometheus.Counter
	// IngestLatency is the time from receiving worker:message:detected to
	// its ack, which includes the durable commit.
	IngestLatency prometheus.Histogram
}

// New returns collectors registered in a fresh registry.
func New() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		WorkersOnline: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tidewatch_workers_online", Help: "Workers currently online.",
		}),
		ClientsConnected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tidewatch_clients_connected", Help: "Client devices connected past client:connect.",
		}),
		MessagesIngested: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tidewatch_messages_ingested_total", Help: "Detected messages stored, by message type.",
		}, []string{"message_type"}),
		Duplicates: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tidewatch_messages_duplicate_total", Help: "Detected messages that were already stored.",
		}),
		NotificationsPushed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tidewatch_notifications_pushed_total", Help: "Notifications pushed to client sockets.",
		}),
		IngestLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "tidewatch_ingest_latency_seconds",
			Help:    "Time from receiving a detected message to acking it, durable commit included.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
		}),
	}
	m.registry.MustRegister(
		m.WorkersOnline, m.ClientsConnected, m.MessagesIngested, m.Duplicates,
		m.NotificationsPushed, m.IngestLatency,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}
