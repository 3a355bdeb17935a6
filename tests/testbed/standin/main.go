// Command wandb-standin is the stand-in for wandb/local, a test fixture of the onprem.wandb
// testbed. It is not W&B: it honours the parts of wandb/local's runtime contract that the
// collection depends on (env, ports 8080/8181, /healthz, /ready, uid 999 gid 0, the CA mount,
// MySQL migrations, pre-signed S3 URLs, websockets) so that the testbed can prove them.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// version is stamped at build time: -ldflags "-X main.version=1.1.0".
var version = "dev"

const fixtureName = "stand-in for wandb/local, a test fixture (onprem.wandb testbed)"

// App holds the running state.
type App struct {
	cfg     *Config
	store   *Store
	objects *ObjectStore
	redis   *redis.Client
	metrics *Metrics

	mu          sync.Mutex
	phase       string // "migrating", "serving", "stopping"
	phaseDetail string
	lastCheck   time.Time
	lastReady   readyResult
	schema      int
}

type readyResult struct {
	OK     bool              `json:"ok"`
	Reason string            `json:"reason,omitempty"`
	Checks map[string]string `json:"checks"`
}

func logf(format string, args ...any) { log.Printf(format, args...) }

func main() {
	log.SetFlags(log.LstdFlags | log.LUTC)
	log.SetPrefix("wandb-standin " + version + ": ")
	if len(os.Args) > 1 && (os.Args[1] == "--version" || os.Args[1] == "version") {
		fmt.Println(version)
		return
	}
	logf("starting the %s", fixtureName)
	cfg, err := LoadConfig(os.Getenv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "wandb-standin %s: cannot start, the environment is wrong:\n", version)
		var errs EnvErrors
		if errors.As(err, &errs) {
			for _, e := range errs {
				fmt.Fprintf(os.Stderr, "  - %s\n", e.Error())
			}
		} else {
			fmt.Fprintf(os.Stderr, "  - %v\n", err)
		}
		fmt.Fprintln(os.Stderr, "The kubernetes role sets these from the Secret <name>-secrets and the Deployment's env; fix the inventory and re-run it.")
		os.Exit(2)
	}
	for _, w := range cfg.Warnings {
		logf("warning: %s", w)
	}
	pool, count, err := LoadCAs(cfg.CADir)
	if err != nil {
		fatal("the CA certificates mounted at %s are unusable: %v", cfg.CADir, err)
	}
	logf("trusting %d CA certificate(s) from %s", count, cfg.CADir)
	logf("HOST=%s MYSQL=%s@%s/%s mysql_tls=%q BUCKET=%s@%s/%s tls=%t AWS_REGION=%s REDIS=%s",
		cfg.Host, cfg.MySQL.User, cfg.MySQLAddr, cfg.MySQL.DBName, cfg.MySQL.TLSConfig, cfg.Bucket.AccessKey, cfg.Bucket.Host,
		cfg.Bucket.Name, cfg.Bucket.TLS, cfg.Region, redisSummary(cfg.Redis))

	if cfg.MySQL.TLSConfig == "true" {
		// wandb/local trusts the system CAs plus the mounted ones; so does the stand-in
		host, _, _ := net.SplitHostPort(cfg.MySQLAddr)
		cfg.MySQL.TLSConfig = ""
		cfg.MySQL.TLS = &tls.Config{RootCAs: pool, ServerName: strings.Trim(host, "[]"), MinVersion: tls.VersionTLS12}
	}
	store, err := OpenStore(cfg.MySQL)
	if err != nil {
		fatal("MYSQL cannot be used: %v", err)
	}
	app := &App{cfg: cfg, store: store, metrics: NewMetrics(), phase: "migrating", phaseDetail: "connecting to MySQL",
		objects: NewObjectStore(cfg.Bucket, cfg.Region, httpClient(pool))}
	if cfg.Redis != nil {
		app.redis, err = newRedis(cfg.Redis, pool)
		if err != nil {
			fatal("REDIS cannot be used: %v", err)
		}
	}

	srv := &http.Server{Addr: cfg.ListenAddr, Handler: app.routes(), ReadHeaderTimeout: 10 * time.Second}
	msrv := &http.Server{Addr: cfg.MetricsAddr, Handler: app.metricsRoutes(), ReadHeaderTimeout: 10 * time.Second}
	for _, s := range []*http.Server{srv, msrv} {
		go func(s *http.Server) {
			if err := s.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				fatal("cannot listen on %s: %v", s.Addr, err)
			}
		}(s)
	}
	logf("listening on %s (app) and %s (metrics)", cfg.ListenAddr, cfg.MetricsAddr)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	go app.migrate(ctx)
	<-ctx.Done()

	// SIGTERM comes after the pod's preStop hook, when its endpoint is already withdrawn; what
	// still arrives comes over connections a proxy opened earlier and keeps alive (conntrack pins
	// them to this pod). Keep answering - ready, as the app still is - but close each such
	// connection after its response, so the proxy reconnects to a pod that stays; then drain.
	srv.SetKeepAlivesEnabled(false)
	delay := 5 * time.Second
	if v := os.Getenv("STANDIN_SHUTDOWN_DELAY"); v != "" {
		if d, err := time.ParseDuration(v + "s"); err == nil {
			delay = d
		}
	}
	logf("SIGTERM: closing kept-alive connections after their next answer, serving %s more, then draining", delay)
	time.Sleep(delay)
	app.setPhase("stopping", "shutting down (SIGTERM)")
	sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	_ = msrv.Shutdown(sctx)
	logf("stopped")
}

func fatal(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "wandb-standin %s: cannot start: %s\n", version, fmt.Sprintf(format, args...))
	os.Exit(1)
}

func redisSummary(r *RedisSettings) string {
	if r == nil {
		return "(not set)"
	}
	return fmt.Sprintf("%s tls=%t ttl=%s", r.Addr, r.TLS, r.TTL)
}

func newRedis(r *RedisSettings, pool *x509.CertPool) (*redis.Client, error) {
	opts := *r.Options
	if r.TLS {
		roots := pool
		if r.CACertPath != "" {
			data, err := os.ReadFile(r.CACertPath)
			if err != nil {
				return nil, fmt.Errorf("caCertPath %s cannot be read: %v (mount the Redis CA there)", r.CACertPath, err)
			}
			roots = pool.Clone()
			if !roots.AppendCertsFromPEM(data) {
				return nil, fmt.Errorf("caCertPath %s holds no PEM certificate", r.CACertPath)
			}
		}
		host := r.Addr
		if i := strings.LastIndex(host, ":"); i >= 0 {
			host = host[:i]
		}
		opts.TLSConfig = &tls.Config{RootCAs: roots, ServerName: strings.Trim(host, "[]"), MinVersion: tls.VersionTLS12}
	}
	return redis.NewClient(&opts), nil
}

func (a *App) setPhase(phase, detail string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.phase, a.phaseDetail = phase, detail
	a.lastCheck = time.Time{}
}

// migrate connects (retrying while MySQL is unreachable), applies the migrations, waits
// STANDIN_MIGRATION_DELAY, then lets /ready answer 200. Errors that retrying cannot fix end
// the process with the cause (kubectl logs shows it).
func (a *App) migrate(ctx context.Context) {
	start := time.Now()
	for attempt := 1; ; attempt++ {
		err := a.store.DB.PingContext(ctx)
		if err == nil {
			break
		}
		if msg, fatalErr := mysqlFatal(err); fatalErr {
			fatal("%s (MySQL %s)", msg, a.cfg.MySQLAddr)
		}
		detail := fmt.Sprintf("MySQL %s does not answer (attempt %d): %v", a.cfg.MySQLAddr, attempt, err)
		a.setPhase("migrating", detail)
		logf("%s", detail)
		select {
		case <-ctx.Done():
			return
		case <-time.After(3 * time.Second):
		}
	}
	a.setPhase("migrating", "applying migrations")
	version, err := a.store.Migrate(ctx, logf)
	if err != nil {
		if msg, fatalErr := mysqlFatal(err); fatalErr {
			fatal("%s", msg)
		}
		fatal("the startup migration failed: %v (the W&B user needs ALL on its database)", err)
	}
	a.mu.Lock()
	a.schema = version
	a.mu.Unlock()
	if d := a.cfg.MigrationDelay; d > 0 {
		a.setPhase("migrating", fmt.Sprintf("schema at version %d, migration takes %s (STANDIN_MIGRATION_DELAY)", version, d))
		logf("schema at version %d; holding the migration for %s (STANDIN_MIGRATION_DELAY)", version, d)
		select {
		case <-ctx.Done():
			return
		case <-time.After(d):
		}
	}
	a.metrics.SetMigrationSeconds(time.Since(start).Seconds())
	a.setPhase("serving", "")
	logf("migration done in %.1fs (schema version %d); serving", time.Since(start).Seconds(), version)
}

// ready checks MySQL, the bucket and (when set) Redis; answers are cached for a second.
func (a *App) ready(ctx context.Context) readyResult {
	a.mu.Lock()
	phase, detail := a.phase, a.phaseDetail
	if phase == "serving" && time.Since(a.lastCheck) < time.Second {
		r := a.lastReady
		a.mu.Unlock()
		return r
	}
	a.mu.Unlock()
	if phase != "serving" {
		return readyResult{OK: false, Reason: phase + ": " + detail, Checks: map[string]string{}}
	}
	r := readyResult{OK: true, Checks: map[string]string{}}
	var reasons []string
	check := func(name string, fn func(context.Context) error) {
		cctx, cancel := context.WithTimeout(ctx, 4*time.Second)
		defer cancel()
		if err := fn(cctx); err != nil {
			r.OK = false
			r.Checks[name] = err.Error()
			reasons = append(reasons, name+": "+err.Error())
			return
		}
		r.Checks[name] = "ok"
	}
	check("mysql", func(c context.Context) error {
		if err := a.store.DB.PingContext(c); err != nil {
			return fmt.Errorf("MySQL %s: %v", a.cfg.MySQLAddr, err)
		}
		return nil
	})
	check("bucket", a.objects.Check)
	if a.redis != nil {
		check("redis", func(c context.Context) error {
			if err := a.redis.Ping(c).Err(); err != nil {
				return fmt.Errorf("Redis %s: %v", a.cfg.Redis.Addr, err)
			}
			return nil
		})
	}
	r.Reason = strings.Join(reasons, "; ")
	a.mu.Lock()
	a.lastCheck, a.lastReady = time.Now(), r
	a.mu.Unlock()
	a.metrics.SetReady(r.OK)
	return r
}
