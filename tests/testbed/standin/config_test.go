package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A password with every character that breaks an unencoded URL, and its encoding
// (what the onprem.wandb.mysql_url / bucket_url filters write).
const (
	rawPass = "w&b p@ss:w/rd#1%'"
	rawKey  = "wandb/secret+key:2026"
)

func goodEnv() map[string]string {
	return map[string]string{
		"HOST":         "https://wandb.onprem.test",
		"LICENSE":      "testbed-license",
		"BUCKET":       "s3://wandb-app:" + url.PathEscape(rawKey) + "@s3.onprem.test/wandb?tls=true",
		"BUCKET_QUEUE": "internal://",
		"AWS_REGION":   "us-east-1",
		"MYSQL":        "mysql://wandb_local:" + url.QueryEscape(rawPass) + "@wandb-mysql:3306/wandb_local",
	}
}

func load(t *testing.T, env map[string]string) (*Config, EnvErrors) {
	t.Helper()
	cfg, err := LoadConfig(func(k string) string { return env[k] })
	if err == nil {
		return cfg, nil
	}
	var errs EnvErrors
	if !errors.As(err, &errs) {
		t.Fatalf("LoadConfig returned %T, want EnvErrors", err)
	}
	return nil, errs
}

func TestGoodEnvDecodesCredentials(t *testing.T) {
	env := goodEnv()
	// the Python filter's quote(safe='') encoding, not Go's: both must decode the same
	env["MYSQL"] = "mysql://wandb_local:w%26b%20p%40ss%3Aw%2Frd%231%25%27@wandb-mysql:3306/wandb_local"
	env["BUCKET"] = "s3://wandb-app:wandb%2Fsecret%2Bkey%3A2026@s3.onprem.test/wandb?tls=true"
	cfg, errs := load(t, env)
	if errs != nil {
		t.Fatalf("good env rejected: %v", errs)
	}
	if cfg.MySQL.Passwd != rawPass || cfg.MySQL.User != "wandb_local" || cfg.MySQL.Addr != "wandb-mysql:3306" || cfg.MySQL.DBName != "wandb_local" {
		t.Fatalf("MYSQL decoded to %+v", cfg.MySQL)
	}
	if cfg.Bucket.SecretKey != rawKey || cfg.Bucket.AccessKey != "wandb-app" || cfg.Bucket.Host != "s3.onprem.test" ||
		cfg.Bucket.Name != "wandb" || !cfg.Bucket.TLS || cfg.Bucket.Endpoint() != "https://s3.onprem.test" {
		t.Fatalf("BUCKET decoded to %+v", cfg.Bucket)
	}
	if cfg.Region != "us-east-1" || cfg.BucketQueue != "internal://" || cfg.Host.Host != "wandb.onprem.test" || cfg.Redis != nil {
		t.Fatalf("config %+v", cfg)
	}
	if cfg.CADir != "/usr/local/share/ca-certificates" || cfg.ListenAddr != ":8080" || cfg.MetricsAddr != ":8181" {
		t.Fatalf("defaults %q %q %q", cfg.CADir, cfg.ListenAddr, cfg.MetricsAddr)
	}
	// the DSN the driver gets carries the decoded password
	dsn := cfg.MySQL.FormatDSN()
	if !strings.Contains(dsn, rawPass) || !strings.Contains(dsn, "tcp(wandb-mysql:3306)/wandb_local") {
		t.Fatalf("DSN %q", dsn)
	}
}

func TestUnencodedCredentialsAreRejected(t *testing.T) {
	cases := []struct{ name, value, want string }{
		{"MYSQL", "mysql://wandb_local:" + rawPass + "@wandb-mysql:3306/wandb_local", "MYSQL "},
		{"MYSQL", "mysql://wandb_local:p ss@wandb-mysql:3306/wandb_local", "percent-encoded"},
		{"MYSQL", "mysql://wandb_local:pa#ss@wandb-mysql:3306/wandb_local", "%23"},
		{"MYSQL", "mysql://wandb_local:pa/ss@wandb-mysql:3306/wandb_local", "MYSQL "},
		{"MYSQL", "mysql://wandb_local:100%@wandb-mysql:3306/wandb_local", "percent-encoded"},
		{"BUCKET", "s3://wandb-app:" + rawKey + "@s3.onprem.test/wandb?tls=true", "BUCKET "},
		{"BUCKET", "s3://wandb-app:a#b@s3.onprem.test/wandb", "%23"},
	}
	for _, c := range cases {
		env := goodEnv()
		env[c.name] = c.value
		_, errs := load(t, env)
		if len(errs) != 1 || errs[0].Var != c.name {
			t.Errorf("%s=%q: want one error for %s, got %v", c.name, c.value, c.name, errs)
			continue
		}
		msg := errs[0].Error()
		if !strings.Contains(msg, c.want) || !strings.Contains(msg, "Fix: ") {
			t.Errorf("%s=%q: message %q lacks %q or a fix", c.name, c.value, msg, c.want)
		}
		for _, secret := range []string{"pa#ss", "p ss", "pa/ss", rawPass, rawKey, "%@w", "a#b"} {
			if strings.Contains(msg, secret) {
				t.Errorf("%s: message leaks the credential: %q", c.name, msg)
			}
		}
	}
}

// Go's net/url (and so a Go server) takes the last '@' as the end of the credentials and
// splits user from password at the first ':': these two unencoded characters survive.
func TestGoToleratesUnencodedAtAndColon(t *testing.T) {
	m, addr, err := ParseMySQL("mysql://wandb_local:p@ss:w@wandb-mysql:3306/wandb_local")
	if err != nil || m.Passwd != "p@ss:w" || addr != "wandb-mysql:3306" {
		t.Fatalf("got %+v %q %v", m, addr, err)
	}
}

// The kubernetes role's MYSQL with wandb_db_tls: Go's driver option tls=true, nothing else.
func TestMySQLTLSOption(t *testing.T) {
	m, _, err := ParseMySQL("mysql://u:p@wandb-mysql:3306/wandb_local?tls=true")
	if err != nil || m.TLSConfig != "true" {
		t.Fatalf("got %+v %v", m, err)
	}
	if m, _, err := ParseMySQL("mysql://u:p@wandb-mysql:3306/wandb_local"); err != nil || m.TLSConfig != "" {
		t.Fatalf("got %+v %v", m, err)
	}
}

func TestMissingEnvNamesEveryVariable(t *testing.T) {
	_, errs := load(t, map[string]string{})
	got := map[string]bool{}
	for _, e := range errs {
		got[e.Var] = true
		if !strings.Contains(e.Error(), "is not set") || e.Fix == "" {
			t.Errorf("%s: %q", e.Var, e.Error())
		}
	}
	for _, name := range []string{"HOST", "AWS_REGION", "BUCKET", "BUCKET_QUEUE", "MYSQL"} {
		if !got[name] {
			t.Errorf("missing %s not reported (got %v)", name, errs)
		}
	}
	if got["LICENSE"] || got["REDIS"] {
		t.Errorf("LICENSE/REDIS are not required: %v", errs)
	}
}

func TestWrongValues(t *testing.T) {
	cases := []struct{ name, value, want string }{
		{"HOST", "wandb.onprem.test", "absolute http(s) URL"},
		{"HOST", "https://wandb.onprem.test/?x=1", "without credentials, query"},
		{"BUCKET_QUEUE", "sqs://queue", "internal://"},
		{"MYSQL", "postgres://u:p@h:5432/db", "must start with mysql://"},
		{"MYSQL", "mysql://u:p@h:3306/", "names no database"},
		{"MYSQL", "mysql://u@h:3306/db", "has no password"},
		{"MYSQL", "mysql://u:p@h:99999/db", "invalid port"},
		{"MYSQL", "mysql://u:p@h:3306/db?tls=maybe", "tls=\"maybe\""},
		{"MYSQL", "mysql://u:p@h:3306/db?parseTime=true", "never writes"},
		{"BUCKET", "https://k:s@h/b", "must start with s3://"},
		{"BUCKET", "s3://k:s@h", "names no bucket"},
		{"BUCKET", "s3://h/b", "has no access key"},
		{"BUCKET", "s3://k:s@h/b?tls=maybe", "tls="},
		{"BUCKET", "s3://k:s@h/b?foo=1", "unknown option"},
		{"STANDIN_MIGRATION_DELAY", "soon", "number of seconds"},
		{"REDIS", "redis://h", "no port"},
		{"REDIS", "redis://:p@h:6379?ttlInSeconds=-1", "ttlInSeconds"},
		{"REDIS", "redis://:p@h:6379?caCertPath=/ca.pem", "not tls=true"},
		{"REDIS", "redis://:p@h:6379?bogus=1", "not understood by the Redis client"},
	}
	for _, c := range cases {
		env := goodEnv()
		env[c.name] = c.value
		_, errs := load(t, env)
		if len(errs) != 1 || errs[0].Var != c.name || !strings.Contains(errs[0].Error(), c.want) {
			t.Errorf("%s=%q: want one %s error containing %q, got %v", c.name, c.value, c.name, c.want, errs)
		}
	}
}

func TestBucketPrefixPortAndPlainHTTP(t *testing.T) {
	b, err := ParseBucket("s3://k:s@minio-1:9000/wandb/site-a/?tls=false")
	if err != nil {
		t.Fatal(err)
	}
	if b.Host != "minio-1:9000" || b.Name != "wandb" || b.Prefix != "site-a" || b.TLS || b.Endpoint() != "http://minio-1:9000" {
		t.Fatalf("%+v", b)
	}
	o := NewObjectStore(b, "us-east-1", nil)
	if k := o.Key("abc", "f.bin"); k != "site-a/standin/abc/f.bin" {
		t.Fatalf("key %q", k)
	}
}

func TestRedisContract(t *testing.T) {
	env := goodEnv()
	env["REDIS"] = "redis://default:" + url.QueryEscape("r@d:s/p#") + "@redis.onprem.test:6380/2?tls=true&caCertPath=/etc/ssl/certs/redis_ca.pem&ttlInSeconds=604800"
	cfg, errs := load(t, env)
	if errs != nil {
		t.Fatal(errs)
	}
	r := cfg.Redis
	if !r.TLS || r.CACertPath != "/etc/ssl/certs/redis_ca.pem" || r.TTL != 7*24*time.Hour || r.Addr != "redis.onprem.test:6380" {
		t.Fatalf("%+v", r)
	}
	if r.Options.Password != "r@d:s/p#" || r.Options.Username != "default" || r.Options.DB != 2 {
		t.Fatalf("options %+v", r.Options)
	}
}

func TestMigrationDelayAndWarnings(t *testing.T) {
	env := goodEnv()
	env["STANDIN_MIGRATION_DELAY"] = "2.5"
	env["LICENSE"] = ""
	env["HOST"] = "http://wandb.onprem.test"
	cfg, errs := load(t, env)
	if errs != nil {
		t.Fatal(errs)
	}
	if cfg.MigrationDelay != 2500*time.Millisecond {
		t.Fatalf("delay %s", cfg.MigrationDelay)
	}
	if len(cfg.Warnings) != 2 {
		t.Fatalf("warnings %v", cfg.Warnings)
	}
}

func selfSignedPEM(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "standin test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	must(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func TestLoadCAsFollowsConfigMapLayout(t *testing.T) {
	dir := t.TempDir()
	caPEM := selfSignedPEM(t)
	// a ConfigMap volume: ..data -> ..2026_x/, top-level files are symlinks into ..data
	stamp := filepath.Join(dir, "..2026_01_01")
	must(t, os.Mkdir(stamp, 0o755))
	must(t, os.WriteFile(filepath.Join(stamp, "onprem-wandb-ca-0.crt"), caPEM, 0o644))
	must(t, os.Symlink("..2026_01_01", filepath.Join(dir, "..data")))
	must(t, os.Symlink("..data/onprem-wandb-ca-0.crt", filepath.Join(dir, "onprem-wandb-ca-0.crt")))
	_, n, err := LoadCAs(dir)
	if err != nil || n != 1 {
		t.Fatalf("LoadCAs: %d certificates, %v", n, err)
	}
	if _, n, err := LoadCAs(filepath.Join(dir, "absent")); err != nil || n != 0 {
		t.Fatalf("absent dir: %d, %v", n, err)
	}
	must(t, os.WriteFile(filepath.Join(dir, "bad.crt"), []byte("not a certificate\n"), 0o644))
	if _, _, err := LoadCAs(dir); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Fatalf("bad file accepted: %v", err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
