// Stand-in for wandb/local, a test fixture of the onprem.wandb testbed: it is NOT W&B.
//
// This file reads the environment the onprem.wandb kubernetes role gives the wandb/local
// container (HOST, LICENSE, BUCKET, BUCKET_QUEUE, AWS_REGION, MYSQL, optional REDIS) and
// parses each value the way a Go server does with net/url: credentials are percent-decoded,
// so an unencoded '@', ':', '/', '#' or '%' in a password is an error here too.
package main

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/redis/go-redis/v9"
)

// The filter that writes these strings correctly; named in every hint.
const (
	hintMySQL  = "build it with the onprem.wandb.mysql_url filter (it percent-encodes user and password)"
	hintBucket = "build it with the onprem.wandb.bucket_url filter (it percent-encodes key and secret)"
)

// Bucket is the parsed BUCKET value.
type Bucket struct {
	AccessKey string
	SecretKey string
	Host      string // host[:port] exactly as written: the public S3 host that URLs are signed for
	Name      string
	Prefix    string
	TLS       bool
}

// Endpoint is the S3 endpoint URL (scheme://host[:port]).
func (b Bucket) Endpoint() string {
	if b.TLS {
		return "https://" + b.Host
	}
	return "http://" + b.Host
}

// RedisSettings is the parsed REDIS value (nil when REDIS is unset).
type RedisSettings struct {
	Options    *redis.Options
	TLS        bool
	CACertPath string
	TTL        time.Duration
	Addr       string
}

// Config is everything the stand-in reads from its environment.
type Config struct {
	Host           *url.URL
	License        string
	Bucket         Bucket
	BucketQueue    string
	Region         string
	MySQL          *mysql.Config
	MySQLAddr      string
	Redis          *RedisSettings
	MigrationDelay time.Duration
	ListenAddr     string
	MetricsAddr    string
	CADir          string
	Warnings       []string
}

// EnvError is one wrong or missing variable, with what to do about it.
type EnvError struct {
	Var     string
	Problem string
	Fix     string
}

func (e EnvError) Error() string {
	return fmt.Sprintf("%s %s. Fix: %s.", e.Var, e.Problem, e.Fix)
}

// EnvErrors collects every problem so that one start reports all of them.
type EnvErrors []EnvError

func (e EnvErrors) Error() string {
	lines := make([]string, 0, len(e))
	for _, one := range e {
		lines = append(lines, one.Error())
	}
	return strings.Join(lines, "\n")
}

// LoadConfig reads the configuration from getenv (os.Getenv in main, a map in tests).
func LoadConfig(getenv func(string) string) (*Config, error) {
	cfg := &Config{ListenAddr: ":8080", MetricsAddr: ":8181", CADir: "/usr/local/share/ca-certificates"}
	var errs EnvErrors
	add := func(name, problem, fix string) { errs = append(errs, EnvError{name, problem, fix}) }

	if host, err := parseHost(getenv("HOST")); err != nil {
		add("HOST", err.Error(), "set HOST to the URL users open, e.g. https://wandb.example.com (kubernetes_wandb_url / wandb_url)")
	} else {
		cfg.Host = host
		if host.Scheme == "http" {
			cfg.Warnings = append(cfg.Warnings, "HOST is plain http: browsers and SDKs should reach W&B over https")
		}
	}

	cfg.License = strings.TrimSpace(getenv("LICENSE"))
	if cfg.License == "" {
		cfg.Warnings = append(cfg.Warnings, "LICENSE is empty: wandb/local would start unlicensed (set kubernetes_license / wandb_license)")
	}

	region := strings.TrimSpace(getenv("AWS_REGION"))
	if region == "" {
		add("AWS_REGION", "is not set", "set it to the bucket's region (wandb_region, default us-east-1); pre-signed URLs are signed for it")
	} else {
		cfg.Region = region
	}

	if b, err := ParseBucket(getenv("BUCKET")); err != nil {
		add("BUCKET", err.Error(), hintBucket)
	} else {
		cfg.Bucket = b
	}

	queue := strings.TrimSpace(getenv("BUCKET_QUEUE"))
	switch {
	case queue == "":
		add("BUCKET_QUEUE", "is not set", "set BUCKET_QUEUE=internal:// (the kubernetes role does)")
	case queue != "internal://":
		add("BUCKET_QUEUE", fmt.Sprintf("is %q, but on-premises W&B with MinIO uses the internal queue", queue),
			"set BUCKET_QUEUE=internal://")
	default:
		cfg.BucketQueue = queue
	}

	if m, addr, err := ParseMySQL(getenv("MYSQL")); err != nil {
		add("MYSQL", err.Error(), hintMySQL)
	} else {
		cfg.MySQL, cfg.MySQLAddr = m, addr
	}

	if raw := getenv("REDIS"); strings.TrimSpace(raw) != "" {
		if r, err := ParseRedis(raw); err != nil {
			add("REDIS", err.Error(), "write it as redis://USER:PASS@HOST:PORT?tls=true&caCertPath=/path/ca.pem&ttlInSeconds=604800 with the credentials percent-encoded, or leave REDIS unset")
		} else {
			cfg.Redis = r
		}
	}

	if raw := strings.TrimSpace(getenv("STANDIN_MIGRATION_DELAY")); raw != "" {
		seconds, err := strconv.ParseFloat(raw, 64)
		if err != nil || seconds < 0 || seconds > 3600 {
			add("STANDIN_MIGRATION_DELAY", fmt.Sprintf("is %q, not a number of seconds between 0 and 3600", raw),
				"set it to the seconds the stand-in's startup migration should take, e.g. 20")
		} else {
			cfg.MigrationDelay = time.Duration(seconds * float64(time.Second))
		}
	}
	if dir := strings.TrimSpace(getenv("STANDIN_CA_DIR")); dir != "" {
		cfg.CADir = dir
	}
	if addr := strings.TrimSpace(getenv("STANDIN_LISTEN")); addr != "" {
		cfg.ListenAddr = addr
	}
	if addr := strings.TrimSpace(getenv("STANDIN_METRICS_LISTEN")); addr != "" {
		cfg.MetricsAddr = addr
	}

	if len(errs) > 0 {
		return nil, errs
	}
	return cfg, nil
}

func parseHost(raw string) (*url.URL, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, fmt.Errorf("is not set")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("is not a URL (%v)", unwrapURLError(err))
	}
	if u.Scheme != "https" && u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("is %q, not an absolute http(s) URL", raw)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("is %q: it must be scheme://host[:port] without credentials, query or fragment", raw)
	}
	return u, nil
}

// unwrapURLError describes a net/url error without quoting the value: it carries secrets.
func unwrapURLError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		err = ue.Err
	}
	switch err.(type) {
	case url.EscapeError:
		return fmt.Errorf("a '%%' is not followed by two hex digits")
	case url.InvalidHostError:
		return fmt.Errorf("invalid character in the host part")
	}
	if strings.Contains(err.Error(), "invalid userinfo") {
		return fmt.Errorf("a character that is not allowed in the user:password part")
	}
	if strings.Contains(err.Error(), "invalid port") {
		return fmt.Errorf("the text after the last ':' of the host part is not a port")
	}
	return fmt.Errorf("not a valid URL")
}

// splitUserinfo parses scheme://USER:PASS@HOST... and returns the URL and decoded credentials.
// It never puts the raw value in an error: it carries a password.
func splitUserinfo(raw, scheme string) (*url.URL, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, fmt.Errorf("is not set")
	}
	if !strings.HasPrefix(strings.ToLower(raw), scheme+"://") {
		got := raw
		if i := strings.Index(raw, "://"); i >= 0 {
			got = raw[:i+3]
		} else if len(got) > 8 {
			got = got[:8] + "..."
		}
		return nil, fmt.Errorf("must start with %s:// (it starts with %q)", scheme, got)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("cannot be parsed (%v): a character in the credentials is not percent-encoded ('@' is %%40, ':' %%3A, '/' %%2F, '#' %%23, '%%' %%25, space %%20)", unwrapURLError(err))
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return nil, fmt.Errorf("contains a '#': everything after it is cut off as a URL fragment; a '#' in a password must be written %%23")
	}
	if u.Opaque != "" {
		return nil, fmt.Errorf("must be %s://USER:PASS@HOST... (no '//' after the scheme)", scheme)
	}
	return u, nil
}

// ParseMySQL converts mysql://USER:PASS@HOST:PORT/DB into a go-sql-driver/mysql Config.
func ParseMySQL(raw string) (*mysql.Config, string, error) {
	u, err := splitUserinfo(raw, "mysql")
	if err != nil {
		return nil, "", err
	}
	if u.User == nil || u.User.Username() == "" {
		return nil, "", fmt.Errorf("has no user: it must be mysql://USER:PASS@HOST:PORT/DB")
	}
	pass, hasPass := u.User.Password()
	if !hasPass || pass == "" {
		return nil, "", fmt.Errorf("has no password for user %q: it must be mysql://USER:PASS@HOST:PORT/DB", u.User.Username())
	}
	host, port := u.Hostname(), u.Port()
	if host == "" {
		return nil, "", fmt.Errorf("has no host (a '/' or '@' in the password that is not percent-encoded ends the credentials early)")
	}
	if port == "" {
		port = "3306"
	} else if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return nil, "", fmt.Errorf("has an invalid port %q", port)
	}
	db := strings.TrimPrefix(u.Path, "/")
	if db == "" {
		return nil, "", fmt.Errorf("names no database: it must end with /DB, e.g. /wandb_local")
	}
	if strings.Contains(db, "/") {
		return nil, "", fmt.Errorf("has a path %q with more than one '/': a '/' in the password must be written %%2F", "/"+db)
	}
	// The one option the collection writes is Go's driver's tls (true: verify the server against
	// the system CAs, which wandb/local extends with the mounted ones; skip-verify; preferred).
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, "", fmt.Errorf("has a query string that cannot be parsed: %v (a '?' in the password must be written %%3F)", err)
	}
	tlsMode := ""
	for key, values := range q {
		if key != "tls" || len(values) != 1 {
			return nil, "", fmt.Errorf("has an option %q the collection never writes: only tls=true|skip-verify|preferred|false is understood (a '?' in the password must be written %%3F)", key)
		}
		switch values[0] {
		case "true", "skip-verify", "preferred", "false":
			tlsMode = values[0]
		default:
			return nil, "", fmt.Errorf("has tls=%q: write tls=true (verified), skip-verify, preferred or false", values[0])
		}
	}
	addr := net.JoinHostPort(host, port)
	cfg := mysql.NewConfig()
	cfg.TLSConfig = tlsMode
	cfg.User = u.User.Username()
	cfg.Passwd = pass
	cfg.Net = "tcp"
	cfg.Addr = addr
	cfg.DBName = db
	cfg.ParseTime = true
	cfg.Collation = "utf8mb4_general_ci"
	cfg.Timeout = 5 * time.Second
	cfg.ReadTimeout = 15 * time.Second
	cfg.WriteTimeout = 15 * time.Second
	return cfg, addr, nil
}

// ParseBucket parses s3://KEY:SECRET@HOST[:PORT]/BUCKET[/PREFIX][?tls=true].
func ParseBucket(raw string) (Bucket, error) {
	var b Bucket
	u, err := splitUserinfo(raw, "s3")
	if err != nil {
		return b, err
	}
	if u.User == nil || u.User.Username() == "" {
		return b, fmt.Errorf("has no access key: it must be s3://KEY:SECRET@HOST/BUCKET")
	}
	secret, ok := u.User.Password()
	if !ok || secret == "" {
		return b, fmt.Errorf("has no secret key for access key %q: it must be s3://KEY:SECRET@HOST/BUCKET", u.User.Username())
	}
	if u.Host == "" || u.Hostname() == "" {
		return b, fmt.Errorf("has no host (a '/' or '@' in the secret that is not percent-encoded ends the credentials early)")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return b, fmt.Errorf("has an invalid port %q", p)
		}
	}
	path := strings.TrimPrefix(u.Path, "/")
	name, prefix, _ := strings.Cut(path, "/")
	if name == "" {
		return b, fmt.Errorf("names no bucket: it must end with /BUCKET, e.g. /wandb")
	}
	q := u.Query()
	for key := range q {
		if key != "tls" && key != "region" {
			return b, fmt.Errorf("has an unknown option %q (only tls=true is understood; a '?' in the secret must be written %%3F)", key)
		}
	}
	tls := false
	if v := q.Get("tls"); v != "" {
		tls, err = strconv.ParseBool(v)
		if err != nil {
			return b, fmt.Errorf("has tls=%q: write tls=true or leave it out", v)
		}
	}
	return Bucket{AccessKey: u.User.Username(), SecretKey: secret, Host: u.Host, Name: name,
		Prefix: strings.TrimSuffix(prefix, "/"), TLS: tls}, nil
}

// ParseRedis parses W&B's REDIS: redis://[USER:PASS@]HOST:PORT[/DB]?tls=true&caCertPath=...&ttlInSeconds=...
// W&B's own options are taken out first; what is left goes to go-redis' ParseURL, which rejects
// anything it does not know.
func ParseRedis(raw string) (*RedisSettings, error) {
	u, err := splitUserinfo(raw, "redis")
	if err != nil {
		return nil, err
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("has no host")
	}
	if u.Port() == "" {
		return nil, fmt.Errorf("has no port: write redis://HOST:6379 (or your port)")
	}
	s := &RedisSettings{Addr: u.Host}
	q := u.Query()
	if v := q.Get("tls"); v != "" {
		if s.TLS, err = strconv.ParseBool(v); err != nil {
			return nil, fmt.Errorf("has tls=%q: write tls=true or leave it out", v)
		}
	}
	s.CACertPath = q.Get("caCertPath")
	if s.CACertPath != "" && !s.TLS {
		return nil, fmt.Errorf("has caCertPath but not tls=true: the CA is only used for TLS")
	}
	if v := q.Get("ttlInSeconds"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("has ttlInSeconds=%q: it must be a positive number of seconds, e.g. 604800", v)
		}
		s.TTL = time.Duration(n) * time.Second
	}
	for _, key := range []string{"tls", "caCertPath", "ttlInSeconds"} {
		q.Del(key)
	}
	rest := *u
	rest.RawQuery = q.Encode()
	opts, err := redis.ParseURL(rest.String())
	if err != nil {
		return nil, fmt.Errorf("is not understood by the Redis client: %s", strings.TrimPrefix(err.Error(), "redis: "))
	}
	s.Options = opts
	return s, nil
}
