package main

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"time"
)

// Metrics is a small Prometheus text exposition (no client library: the format is plain text).
type Metrics struct {
	mu         sync.Mutex
	requests   map[string]int64 // "route\x00code" -> count
	uploads    int64
	websockets int64
	ready      bool
	migration  float64
	started    time.Time
}

// NewMetrics starts the counters.
func NewMetrics() *Metrics { return &Metrics{requests: map[string]int64{}, started: time.Now()} }

// Request counts one answered request.
func (m *Metrics) Request(route string, code int) {
	m.mu.Lock()
	m.requests[fmt.Sprintf("%s\x00%d", route, code)]++
	m.mu.Unlock()
}

// Upload counts one confirmed upload.
func (m *Metrics) Upload() { m.mu.Lock(); m.uploads++; m.mu.Unlock() }

// Websocket counts one upgraded connection.
func (m *Metrics) Websocket() { m.mu.Lock(); m.websockets++; m.mu.Unlock() }

// SetReady records the last readiness answer.
func (m *Metrics) SetReady(ok bool) { m.mu.Lock(); m.ready = ok; m.mu.Unlock() }

// SetMigrationSeconds records how long the startup migration took.
func (m *Metrics) SetMigrationSeconds(s float64) { m.mu.Lock(); m.migration = s; m.mu.Unlock() }

func (a *App) metricsRoutes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		files, err := a.store.CountFiles(ctx)
		m := a.metrics
		m.mu.Lock()
		defer m.mu.Unlock()
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		fmt.Fprintf(w, "# HELP standin_build_info The stand-in for wandb/local (a test fixture) and its version.\n# TYPE standin_build_info gauge\nstandin_build_info{version=%q} 1\n", version)
		fmt.Fprintf(w, "# HELP standin_up_seconds Seconds since the process started.\n# TYPE standin_up_seconds gauge\nstandin_up_seconds %.1f\n", time.Since(m.started).Seconds())
		fmt.Fprintf(w, "# HELP standin_ready 1 when the last /ready answered 200.\n# TYPE standin_ready gauge\nstandin_ready %d\n", b2i(m.ready))
		fmt.Fprintf(w, "# HELP standin_migration_seconds Duration of the startup migration.\n# TYPE standin_migration_seconds gauge\nstandin_migration_seconds %.3f\n", m.migration)
		fmt.Fprintf(w, "# HELP standin_uploads_total Uploads confirmed since start.\n# TYPE standin_uploads_total counter\nstandin_uploads_total %d\n", m.uploads)
		fmt.Fprintf(w, "# HELP standin_websockets_total Websocket connections upgraded since start.\n# TYPE standin_websockets_total counter\nstandin_websockets_total %d\n", m.websockets)
		if err == nil {
			fmt.Fprintf(w, "# HELP standin_files Completed files recorded in MySQL.\n# TYPE standin_files gauge\nstandin_files %d\n", files)
		}
		fmt.Fprintf(w, "# HELP standin_http_requests_total Requests answered, by route and status.\n# TYPE standin_http_requests_total counter\n")
		keys := make([]string, 0, len(m.requests))
		for k := range m.requests {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			var route, code string
			for i := 0; i < len(k); i++ {
				if k[i] == 0 {
					route, code = k[:i], k[i+1:]
				}
			}
			fmt.Fprintf(w, "standin_http_requests_total{route=%q,code=%q} %d\n", route, code, m.requests[k])
		}
	})
	return mux
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
