package main

import (
	"bufio"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/gorilla/websocket"
)

const urlTTL = 15 * time.Minute

var fileName = regexp.MustCompile(`^[A-Za-z0-9._-]{1,128}$`)

// statusWriter remembers the status for the request metrics.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) { w.status = code; w.ResponseWriter.WriteHeader(code) }

// Hijack hands the connection to the websocket upgrader (101 Switching Protocols).
func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, fmt.Errorf("the response writer cannot be hijacked")
	}
	w.status = http.StatusSwitchingProtocols
	return h.Hijack()
}

func (a *App) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"status": "alive", "version": version})
	})
	mux.HandleFunc("GET /ready", a.handleReady)
	mux.HandleFunc("GET /api/standin/headers", handleHeaders)
	mux.HandleFunc("GET /api/standin/ws", a.handleWebsocket)
	mux.HandleFunc("POST /api/standin/files", a.handleCreateFile)
	mux.HandleFunc("GET /api/standin/files", a.handleListFiles)
	mux.HandleFunc("GET /api/standin/files/{id}", a.handleGetFile)
	mux.HandleFunc("POST /api/standin/files/{id}/complete", a.handleCompleteFile)
	mux.HandleFunc("DELETE /api/standin/files/{id}", a.handleDeleteFile)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "This is the %s, version %s - not W&B.\nIt answers /healthz, /ready and /api/standin/... for the collection's checks.\n", fixtureName, version)
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Standin-Version", version)
		w.Header().Set("X-Standin", "test fixture: stand-in for wandb/local")
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		mux.ServeHTTP(sw, r)
		a.metrics.Request(routeLabel(r), sw.status)
	})
}

// routeLabel keeps the metrics' label set small (no ids).
func routeLabel(r *http.Request) string {
	p := r.URL.Path
	switch {
	case p == "/healthz", p == "/ready", p == "/":
		return p
	case strings.HasPrefix(p, "/api/standin/files/"):
		return "/api/standin/files/{id}"
	case strings.HasPrefix(p, "/api/standin/"):
		return p
	}
	return "other"
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, format string, args ...any) {
	writeJSON(w, status, map[string]any{"error": fmt.Sprintf(format, args...), "version": version})
}

func (a *App) handleReady(w http.ResponseWriter, r *http.Request) {
	res := a.ready(r.Context())
	a.mu.Lock()
	schema := a.schema
	a.mu.Unlock()
	body := map[string]any{"version": version, "schema": schema, "checks": res.Checks, "fixture": fixtureName}
	if !res.OK {
		body["status"] = "not ready"
		body["reason"] = res.Reason
		writeJSON(w, http.StatusServiceUnavailable, body)
		return
	}
	body["status"] = "ready"
	writeJSON(w, http.StatusOK, body)
}

// handleHeaders echoes what reached the app, for the proxy's Host / X-Forwarded-* checks.
func handleHeaders(w http.ResponseWriter, r *http.Request) {
	headers := map[string]string{}
	names := make([]string, 0, len(r.Header))
	for name := range r.Header {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if strings.EqualFold(name, "Authorization") || strings.EqualFold(name, "Cookie") {
			headers[name] = "(redacted)"
			continue
		}
		headers[name] = strings.Join(r.Header.Values(name), ", ")
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"host": r.Host, "method": r.Method, "uri": r.RequestURI, "proto": r.Proto,
		"remote_addr": r.RemoteAddr, "headers": headers, "version": version,
	})
}

func (a *App) allowedOrigin(origin string) bool {
	if origin == "" {
		return true // not a browser
	}
	return strings.EqualFold(strings.TrimSuffix(origin, "/"), a.cfg.Host.Scheme+"://"+a.cfg.Host.Host)
}

func (a *App) handleWebsocket(w http.ResponseWriter, r *http.Request) {
	if !a.allowedOrigin(r.Header.Get("Origin")) {
		writeError(w, http.StatusForbidden, "websocket origin %q is not HOST's origin %s://%s", r.Header.Get("Origin"), a.cfg.Host.Scheme, a.cfg.Host.Host)
		return
	}
	if !websocket.IsWebSocketUpgrade(r) {
		writeError(w, http.StatusBadRequest, "not a websocket upgrade (Connection: %q, Upgrade: %q): a proxy in front must pass Upgrade and Connection with HTTP/1.1",
			r.Header.Get("Connection"), r.Header.Get("Upgrade"))
		return
	}
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }, HandshakeTimeout: 10 * time.Second}
	conn, err := up.Upgrade(w, r, http.Header{"X-Standin-Version": {version}})
	if err != nil {
		return // the upgrader answered already
	}
	defer conn.Close()
	a.metrics.Websocket()
	_ = conn.SetReadDeadline(time.Now().Add(2 * time.Minute))
	for {
		kind, data, err := conn.ReadMessage()
		if err != nil {
			return
		}
		if err := conn.WriteMessage(kind, data); err != nil {
			return
		}
	}
}

func newID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

type createRequest struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
}

func (a *App) serving(w http.ResponseWriter) bool {
	a.mu.Lock()
	phase, detail := a.phase, a.phaseDetail
	a.mu.Unlock()
	if phase == "serving" {
		return true
	}
	writeError(w, http.StatusServiceUnavailable, "not ready: %s: %s", phase, detail)
	return false
}

func (a *App) handleCreateFile(w http.ResponseWriter, r *http.Request) {
	if !a.serving(w) {
		return
	}
	var req createRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "body must be JSON {\"name\": \"...\", \"sha256\": \"...\"}: %v", err)
		return
	}
	if !fileName.MatchString(req.Name) {
		writeError(w, http.StatusBadRequest, "name %q must be 1-128 characters of A-Z a-z 0-9 . _ -", req.Name)
		return
	}
	var sha *string
	if req.SHA256 != "" {
		if len(req.SHA256) != 64 {
			writeError(w, http.StatusBadRequest, "sha256 must be 64 hex digits")
			return
		}
		s := strings.ToLower(req.SHA256)
		sha = &s
	}
	id := newID()
	key := a.objects.Key(id, req.Name)
	putURL, err := a.objects.PresignPut(r.Context(), key, urlTTL)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "signing the PUT failed: %v", err)
		return
	}
	if err := a.store.CreateFile(r.Context(), id, req.Name, key, sha); err != nil {
		writeError(w, http.StatusServiceUnavailable, "recording the file in MySQL failed: %v", err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"id": id, "key": key, "bucket": a.objects.Bucket.Name,
		"put_url": putURL, "method": "PUT", "expires_in": int(urlTTL.Seconds()), "version": version})
}

func (a *App) lookup(w http.ResponseWriter, r *http.Request) *FileRow {
	f, err := a.store.GetFile(r.Context(), r.PathValue("id"))
	if errors.Is(err, sql.ErrNoRows) {
		writeError(w, http.StatusNotFound, "no file %q", r.PathValue("id"))
		return nil
	}
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "reading the file from MySQL failed: %v", err)
		return nil
	}
	return f
}

func (a *App) handleCompleteFile(w http.ResponseWriter, r *http.Request) {
	if !a.serving(w) {
		return
	}
	f := a.lookup(w, r)
	if f == nil {
		return
	}
	var req struct {
		Size *int64 `json:"size"`
	}
	if r.ContentLength != 0 {
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&req); err != nil {
			writeError(w, http.StatusBadRequest, "body must be JSON {\"size\": N} or empty: %v", err)
			return
		}
	}
	size, etag, err := a.objects.Head(r.Context(), f.Key)
	if err != nil {
		writeError(w, http.StatusConflict, "the object %s is not in the bucket: %v (was the PUT sent?)", f.Key, err)
		return
	}
	if req.Size != nil && *req.Size != size {
		writeError(w, http.StatusConflict, "the object is %d bytes, the client sent %d: the upload was truncated", size, *req.Size)
		return
	}
	if err := a.store.CompleteFile(r.Context(), f.ID, size, etag, version); err != nil {
		writeError(w, http.StatusServiceUnavailable, "recording the upload in MySQL failed: %v", err)
		return
	}
	a.metrics.Upload()
	if f = a.lookup(w, r); f != nil {
		writeJSON(w, http.StatusOK, f)
	}
}

func (a *App) handleGetFile(w http.ResponseWriter, r *http.Request) {
	if !a.serving(w) {
		return
	}
	f := a.lookup(w, r)
	if f == nil {
		return
	}
	body := map[string]any{"file": f, "version": version}
	if f.State == "complete" {
		getURL, err := a.objects.PresignGet(r.Context(), f.Key, urlTTL)
		if err != nil {
			writeError(w, http.StatusInternalServerError, "signing the GET failed: %v", err)
			return
		}
		body["get_url"] = getURL
	}
	writeJSON(w, http.StatusOK, body)
}

func (a *App) handleListFiles(w http.ResponseWriter, r *http.Request) {
	if !a.serving(w) {
		return
	}
	files, err := a.store.ListFiles(r.Context(), 100)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "listing files from MySQL failed: %v", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"files": files, "version": version})
}

func (a *App) handleDeleteFile(w http.ResponseWriter, r *http.Request) {
	if !a.serving(w) {
		return
	}
	f := a.lookup(w, r)
	if f == nil {
		return
	}
	if err := a.objects.Delete(r.Context(), f.Key); err != nil {
		writeError(w, http.StatusBadGateway, "deleting the object failed: %v", err)
		return
	}
	if err := a.store.DeleteFile(r.Context(), f.ID); err != nil {
		writeError(w, http.StatusServiceUnavailable, "deleting the row failed: %v", err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"deleted": f.ID, "version": version})
}
