// Package ui serves osprey's browser app: a single-page application written as plain ES modules, HTML
// and CSS, embedded in the binary so the ground station needs nothing from the network but the server
// it came from.
//
// The server mounts Handler at "/" beside the API. Go's ServeMux picks the most specific pattern, so
// every /api/ route (and /healthz, /metrics) reaches the API before this handler; Handler still answers
// 404 for /api paths itself, so a missing API route never turns into a page of HTML.
package ui

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

// web is the app as it is shipped: no build step, the files are the source.
//
//go:embed all:web
var web embed.FS

// contentTypes maps the extensions the app uses to their media types. The table is explicit rather than
// the host's mime database, so a module script is text/javascript on every machine (browsers refuse
// modules served with another type under nosniff).
var contentTypes = map[string]string{
	".html":        "text/html; charset=utf-8",
	".js":          "text/javascript; charset=utf-8",
	".mjs":         "text/javascript; charset=utf-8",
	".css":         "text/css; charset=utf-8",
	".svg":         "image/svg+xml",
	".json":        "application/json",
	".webmanifest": "application/manifest+json",
	".png":         "image/png",
	".ico":         "image/x-icon",
	".txt":         "text/plain; charset=utf-8",
}

// asset is one embedded file, read once.
type asset struct {
	body        []byte
	contentType string
	etag        string
}

// handler serves the embedded app.
type handler struct {
	assets map[string]asset // by path without the leading slash
}

// Handler returns the browser app: the embedded files with their Content-Type, an ETag and
// Cache-Control: no-cache (the browser revalidates every file, cheap with the ETag, so an upgraded
// binary never mixes old and new modules), security headers on every response, and index.html for
// any unknown path that is not an API path and does not name a file (the app's own routes).
func Handler() http.Handler {
	h, err := newHandler(web, "web")
	if err != nil {
		// The files are compiled in; failing to read them is a broken build, which TestHandler catches.
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "ui: embedded app unreadable: "+err.Error(), http.StatusInternalServerError)
		})
	}
	return h
}

func newHandler(fsys fs.FS, root string) (*handler, error) {
	sub, err := fs.Sub(fsys, root)
	if err != nil {
		return nil, err
	}
	h := &handler{assets: map[string]asset{}}
	err = fs.WalkDir(sub, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(sub, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		ct, ok := contentTypes[path.Ext(p)]
		if !ok {
			ct = "application/octet-stream"
		}
		h.assets[p] = asset{body: b, contentType: ct, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if _, ok := h.assets["index.html"]; !ok {
		return nil, fs.ErrNotExist
	}
	return h, nil
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	setSecurityHeaders(w.Header(), r.Host)
	p := path.Clean("/" + r.URL.Path)
	if p == "/api" || strings.HasPrefix(p, "/api/") {
		// Only reached for API paths no API route took: say so in the API's own error shape.
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"error":"no such API route"}` + "\n"))
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "the app is read-only: use GET", http.StatusMethodNotAllowed)
		return
	}
	name := strings.TrimPrefix(p, "/")
	a, ok := h.assets[name]
	if !ok {
		// A path naming a file (it has an extension) that does not exist is a 404: answering a missing
		// script with HTML would only hide the mistake behind a MIME-type error.
		if path.Ext(name) != "" {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		a = h.assets["index.html"]
	}
	hd := w.Header()
	hd.Set("Content-Type", a.contentType)
	hd.Set("Cache-Control", "no-cache")
	hd.Set("ETag", a.etag)
	// ServeContent answers If-None-Match with 304 and handles HEAD and ranges; the zero time leaves
	// Last-Modified out, so the content hash alone decides freshness.
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
}

// setSecurityHeaders allows the page to load and connect only to the server it came from.
func setSecurityHeaders(hd http.Header, host string) {
	connect := "'self'"
	if validHost(host) {
		// 'self' covers ws: and wss: to the same host in CSP 3 browsers; naming them keeps older ones working.
		connect += " ws://" + host + " wss://" + host
	}
	hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; "+
		"media-src 'self' blob:; connect-src "+connect+"; font-src 'self'; manifest-src 'self'; base-uri 'none'; "+
		"form-action 'none'; frame-ancestors 'none'")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	hd.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()")
}

// validHost reports whether host is safe to echo into a header: a host name or address with an optional
// port, nothing that could end the directive or the header.
func validHost(host string) bool {
	if host == "" || len(host) > 255 {
		return false
	}
	for _, c := range host {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '.', c == '-', c == ':', c == '[', c == ']', c == '_':
		default:
			return false
		}
	}
	return true
}
