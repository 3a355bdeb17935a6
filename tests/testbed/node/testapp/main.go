// testapp: the node's own smoke image (localhost/onprem-wandb/node-testapp:VERSION). It is
// neither W&B nor the stand-in: it proves that the kubernetes role's pod starts on the
// testbed's node - env from the Secret (secretKeyRef), the CA ConfigMap mount, uid 999, the
// probes - and gives the role's rollout diagnosis something real to diagnose.
//
//	/healthz, /ready on :8080 ("ready VERSION"), /metrics on :8181
//	exits 1 at start when an env var of W&B's contract is missing, or a mounted CA file is no PEM
//	TESTAPP_FAIL=1: exits 1 at start printing the MYSQL it was given (the role must redact it)
//	TESTAPP_NOT_READY=1: /ready answers 503 (a failing startup/readiness probe)
package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	for _, name := range []string{"HOST", "LICENSE", "MYSQL", "BUCKET", "BUCKET_QUEUE", "AWS_REGION"} {
		if os.Getenv(name) == "" {
			fmt.Fprintf(os.Stderr, "testapp: %s is not set: the Deployment must pass W&B's env contract\n", name)
			os.Exit(1)
		}
	}
	certs, _ := filepath.Glob("/usr/local/share/ca-certificates/*.crt")
	for _, f := range certs {
		b, err := os.ReadFile(f)
		if err != nil || !strings.Contains(string(b), "-----BEGIN CERTIFICATE-----") {
			fmt.Fprintf(os.Stderr, "testapp: %s is not a PEM certificate (%v)\n", f, err)
			os.Exit(1)
		}
	}
	if os.Getenv("TESTAPP_FAIL") != "" {
		fmt.Fprintf(os.Stderr, "testapp: cannot reach the database at MYSQL=%s, giving up\n", os.Getenv("MYSQL"))
		os.Exit(1)
	}
	tag := os.Getenv("TESTAPP_VERSION")
	fmt.Printf("testapp %s: listening on :8080, %d CA certificate(s) mounted, uid %d gid %d\n", tag, len(certs), os.Getuid(), os.Getgid())
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/ready", func(w http.ResponseWriter, _ *http.Request) {
		if os.Getenv("TESTAPP_NOT_READY") != "" {
			http.Error(w, "not ready: told so by TESTAPP_NOT_READY", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintf(w, "ready %s uid=%d certs=%d\n", tag, os.Getuid(), len(certs))
	})
	metrics := http.NewServeMux()
	metrics.HandleFunc("/metrics", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "testapp_up 1") })
	go func() { _ = http.ListenAndServe(":8181", metrics) }()
	if err := http.ListenAndServe(":8080", mux); err != nil {
		fmt.Fprintln(os.Stderr, "testapp:", err)
		os.Exit(1)
	}
}
