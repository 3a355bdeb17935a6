package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// systemBundles are read when present (the image has none of its own; a site may mount one).
var systemBundles = []string{"/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt"}

// LoadCAs builds the trust store the way wandb/local ends up with one: the system bundle plus
// every PEM certificate mounted under dir (the kubernetes role mounts its CA ConfigMap at
// /usr/local/share/ca-certificates; ConfigMap files are symlinks into ..data, which is followed).
// It returns the pool and how many certificates came from dir.
func LoadCAs(dir string) (*x509.CertPool, int, error) {
	pool := x509.NewCertPool()
	for _, bundle := range systemBundles {
		if data, err := os.ReadFile(bundle); err == nil {
			pool.AppendCertsFromPEM(data)
		}
	}
	seen := map[string]bool{}
	count := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) && path == dir {
				return fs.SkipAll
			}
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if strings.HasPrefix(name, "..") && path != dir {
				return fs.SkipDir // ConfigMap internals: the symlinks at the top point into them
			}
			return nil
		}
		if !strings.HasSuffix(name, ".crt") && !strings.HasSuffix(name, ".pem") {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("cannot read CA file %s: %v", path, err)
		}
		found := 0
		for block, rest := pem.Decode(data); block != nil; block, rest = pem.Decode(rest) {
			if block.Type != "CERTIFICATE" {
				continue
			}
			cert, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return fmt.Errorf("CA file %s holds a certificate that cannot be parsed: %v", path, err)
			}
			found++
			if key := string(cert.Raw); !seen[key] {
				seen[key] = true
				pool.AddCert(cert)
				count++
			}
		}
		if found == 0 {
			return fmt.Errorf("CA file %s holds no PEM certificate (kubernetes_ca_certs must be PEM text)", path)
		}
		return nil
	})
	return pool, count, err
}

// httpClient trusts pool; used for S3.
func httpClient(pool *x509.CertPool) *http.Client {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	transport.ResponseHeaderTimeout = 30 * time.Second
	return &http.Client{Transport: transport, Timeout: 5 * time.Minute}
}
