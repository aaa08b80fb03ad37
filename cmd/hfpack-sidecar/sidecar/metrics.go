package sidecar

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/hfpack/hfpack/cmd/hfpack-sidecar/sidecar/worker"
)

// metrics are the sidecar's Prometheus series, in a registry of its own.
type metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	batchSize prometheus.Histogram
	batchTime prometheus.Histogram
	restarts  prometheus.Counter
	ready     prometheus.Gauge

	streamsRunning prometheus.Gauge
}

func newMetrics(maxBatch int, queueDepth, streamsWaiting func() float64) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "hfpack_requests_total", Help: "Prediction requests by HTTP status code.",
		}, []string{"code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "hfpack_request_duration_seconds", Help: "Prediction request latency by HTTP status code.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 17),
		}, []string{"code"}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "hfpack_batch_size", Help: "Instances per batch sent to the worker.",
			Buckets: batchBuckets(maxBatch),
		}),
		batchTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "hfpack_batch_duration_seconds", Help: "Time the worker took per batch.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 18),
		}),
		restarts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hfpack_worker_restarts_total", Help: "Times the worker process was restarted.",
		}),
		ready: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hfpack_worker_ready", Help: "1 while the worker is ready to predict.",
		}),
		streamsRunning: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hfpack_generations_running", Help: "Generations holding a place in the worker.",
		}),
	}
	queue := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "hfpack_queue_depth", Help: "Instances waiting for a batch.",
	}, queueDepth)
	waiting := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "hfpack_generations_waiting", Help: "Generations waiting for a place in the worker.",
	}, streamsWaiting)
	m.reg.MustRegister(waiting, m.requests, m.latency, m.batchSize, m.batchTime, m.restarts, m.ready, queue, m.streamsRunning,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func batchBuckets(maxBatch int) []float64 {
	var b []float64
	for n := 1; n < maxBatch; n *= 2 {
		b = append(b, float64(n))
	}
	return append(b, float64(maxBatch))
}

func (m *metrics) observeRequest(code int, d time.Duration) {
	c := strconv.Itoa(code)
	m.requests.WithLabelValues(c).Inc()
	m.latency.WithLabelValues(c).Observe(d.Seconds())
}

func (m *metrics) hooks() worker.Hooks {
	return worker.Hooks{
		Batch: func(size int, d time.Duration, _ error) {
			m.batchSize.Observe(float64(size))
			m.batchTime.Observe(d.Seconds())
		},
		Restart: m.restarts.Inc,
		State: func(s worker.Status) {
			if s.Ready() {
				m.ready.Set(1)
			} else {
				m.ready.Set(0)
			}
		},
	}
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}
