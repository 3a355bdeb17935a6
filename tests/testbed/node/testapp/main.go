// testapp: the node's own smoke image (localhost/onprem-wandb/node-testapp), used by
// tests/testbed/kube.sh selftest to prove that a pod starts, passes its probes and is
// reached through a NodePort. It is not W&B and not the stand-in: it answers /healthz and
// /ready on 8080 and /metrics on 8181, nothing else.
package main

import (
	"fmt"
	"net/http"
	"os"
)

func main() {
	version := os.Getenv("TESTAPP_VERSION")
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/ready", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ready", version) })
	metrics := http.NewServeMux()
	metrics.HandleFunc("/metrics", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "testapp_up 1") })
	go func() { _ = http.ListenAndServe(":8181", metrics) }()
	if err := http.ListenAndServe(":8080", mux); err != nil {
		fmt.Fprintln(os.Stderr, "testapp:", err)
		os.Exit(1)
	}
}
