package ui

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"
)

func get(t *testing.T, h http.Handler, method, target string, hdr map[string]string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, r *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestIndexAtRootAndAppPaths(t *testing.T) {
	h := Handler()
	root := get(t, h, "GET", "/", nil)
	index := body(t, root)
	if root.StatusCode != 200 || !strings.HasPrefix(root.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /: %d %q", root.StatusCode, root.Header.Get("Content-Type"))
	}
	if !strings.Contains(index, `<script type="module" src="/js/app.js">`) {
		t.Fatalf("GET / is not the app's index.html:\n%s", index)
	}
	if cc := root.Header.Get("Cache-Control"); cc != "no-cache" {
		t.Errorf("index Cache-Control %q, want no-cache", cc)
	}
	for _, p := range []string{"/index.html", "/vehicles/1", "/fleet", "/video/wall/"} {
		r := get(t, h, "GET", p, nil)
		if got := body(t, r); r.StatusCode != 200 || got != index {
			t.Errorf("GET %s: %d, index.html %v", p, r.StatusCode, got == index)
		}
	}
	// A missing file is a 404, not index.html served as a script.
	for _, p := range []string{"/js/nothing.js", "/missing.css"} {
		if r := get(t, h, "GET", p, nil); r.StatusCode != 404 {
			t.Errorf("GET %s: %d, want 404", p, r.StatusCode)
		}
	}
}

func TestContentTypes(t *testing.T) {
	h := Handler()
	for p, want := range map[string]string{
		"/js/app.js":   "text/javascript; charset=utf-8",
		"/js/map.js":   "text/javascript; charset=utf-8",
		"/style.css":   "text/css; charset=utf-8",
		"/favicon.svg": "image/svg+xml",
		"/":            "text/html; charset=utf-8",
	} {
		r := get(t, h, "GET", p, nil)
		if r.StatusCode != 200 || r.Header.Get("Content-Type") != want {
			t.Errorf("GET %s: %d %q, want %q", p, r.StatusCode, r.Header.Get("Content-Type"), want)
		}
		if r.Header.Get("Cache-Control") != "no-cache" || r.Header.Get("ETag") == "" {
			t.Errorf("GET %s: Cache-Control %q ETag %q", p, r.Header.Get("Cache-Control"), r.Header.Get("ETag"))
		}
	}
}

func TestETagRevalidation(t *testing.T) {
	h := Handler()
	first := get(t, h, "GET", "/js/app.js", nil)
	etag := first.Header.Get("ETag")
	again := get(t, h, "GET", "/js/app.js", map[string]string{"If-None-Match": etag})
	if again.StatusCode != http.StatusNotModified {
		t.Fatalf("If-None-Match %s: %d, want 304", etag, again.StatusCode)
	}
	other := get(t, h, "GET", "/js/map.js", nil).Header.Get("ETag")
	if other == etag {
		t.Fatalf("two files share the ETag %s", etag)
	}
	if r := get(t, h, "HEAD", "/", nil); r.StatusCode != 200 || body(t, r) != "" {
		t.Fatalf("HEAD /: %d", r.StatusCode)
	}
	if r := get(t, h, "POST", "/", nil); r.StatusCode != http.StatusMethodNotAllowed || r.Header.Get("Allow") != "GET, HEAD" {
		t.Fatalf("POST /: %d Allow %q", r.StatusCode, r.Header.Get("Allow"))
	}
}

func TestSecurityHeaders(t *testing.T) {
	h := Handler()
	for _, p := range []string{"/", "/js/app.js", "/js/nothing.js", "/api/v1/x"} {
		r := get(t, h, "GET", p, nil)
		csp := r.Header.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'none'", "script-src 'self';", "style-src 'self';", "media-src 'self' blob:",
			"connect-src 'self' ws://example.com wss://example.com;", "frame-ancestors 'none'", "base-uri 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("GET %s: CSP %q lacks %q", p, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe") || strings.Contains(csp, "*") || strings.Contains(csp, "http") {
			t.Errorf("GET %s: CSP %q allows more than the server itself", p, csp)
		}
		if r.Header.Get("X-Content-Type-Options") != "nosniff" || r.Header.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("GET %s: nosniff %q referrer %q", p, r.Header.Get("X-Content-Type-Options"), r.Header.Get("Referrer-Policy"))
		}
	}
	// A forged Host cannot widen the policy.
	r := get(t, h, "GET", "/", map[string]string{"Host": "x; script-src *"})
	if csp := r.Header.Get("Content-Security-Policy"); strings.Contains(csp, "script-src *") || !strings.Contains(csp, "connect-src 'self';") {
		t.Fatalf("forged Host reached the CSP: %q", csp)
	}
}

// The server mounts Handler at "/" on the same ServeMux as the API; Go's ServeMux sends each request to
// the most specific pattern, so API routes win. Paths under /api that no API route took get a JSON 404
// from Handler itself, never index.html.
func TestAPIPathsAreNotTheApp(t *testing.T) {
	h := Handler()
	for _, p := range []string{"/api", "/api/", "/api/v1/vehicles", "/api/v1/streams/cam/whep", "/api/../api/v1/x"} {
		r := get(t, h, "GET", p, nil)
		b := body(t, r)
		if r.StatusCode != 404 || strings.Contains(b, "<html") || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("GET %s: %d %q %q", p, r.StatusCode, r.Header.Get("Content-Type"), b)
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/vehicles", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "[]") })
	mux.Handle("/", h)
	if r := get(t, mux, "GET", "/api/v1/vehicles", nil); body(t, r) != "[]" {
		t.Fatal("an API route mounted beside the app did not win")
	}
	if r := get(t, mux, "GET", "/anything", nil); !strings.Contains(body(t, r), "/js/app.js") {
		t.Fatal("the app is not served beside the API")
	}
}

// externalRef finds references to anything but the server the page came from. License headers
// (/*! ... */ blocks and @license or SPDX lines) may name a URL; the SVG namespace is an identifier
// that is never fetched.
var (
	externalRef    = regexp.MustCompile(`(?i)(https?:|wss?:|ftp:)//[^\s'"` + "`" + `)<>]+|(^|[^:a-z0-9_/])//(cdn|fonts|unpkg|[a-z0-9-]+\.[a-z0-9-]+\.[a-z]{2,})`)
	licenseComment = regexp.MustCompile(`(?s)/\*!.*?\*/`)
	licenseLine    = regexp.MustCompile(`(?m)^.*(@license|SPDX-License-Identifier).*$`)
	allowedRefs    = map[string]bool{"http://www.w3.org/2000/svg": true}
)

// externalRefs returns "file: reference" for every external reference in fsys.
func externalRefs(fsys fs.FS) ([]string, error) {
	var out []string
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		text := licenseComment.ReplaceAllString(string(b), "")
		text = licenseLine.ReplaceAllString(text, "")
		for _, m := range externalRef.FindAllString(text, -1) {
			m = strings.TrimLeft(m, " =(\t")
			if !allowedRefs[m] {
				out = append(out, p+": "+m)
			}
		}
		return nil
	})
	return out, err
}

func TestNoExternalResources(t *testing.T) {
	refs, err := externalRefs(web)
	if err != nil {
		t.Fatal(err)
	}
	if len(refs) > 0 {
		t.Fatalf("the app must load nothing from outside the server (no CDN, fonts, tiles):\n%s", strings.Join(refs, "\n"))
	}
}

func TestExternalReferenceScannerCatches(t *testing.T) {
	bad := map[string]string{
		"cdn script":      `<script src="https://cdn.jsdelivr.net/npm/leaflet@1.9.4/dist/leaflet.js"></script>`,
		"protocol rel":    `<link rel="stylesheet" href="//cdn.example.com/x.css">`,
		"font import":     `@import url("https://fonts.googleapis.com/css2?family=Inter");`,
		"tile url":        "const tiles = `http://tile.openstreetmap.org/${z}/${x}/${y}.png`;",
		"websocket":       `new WebSocket('wss://telemetry.example.net/ws')`,
		"bare host":       `fetch('//unpkg.com/thing')`,
		"xlink elsewhere": `<use href="http://evil.example/sprite.svg#a"/>`,
	}
	for name, content := range bad {
		refs, err := externalRefs(fstest.MapFS{"web/f": {Data: []byte(content)}})
		if err != nil || len(refs) != 1 {
			t.Errorf("%s: found %v (%v), want one reference", name, refs, err)
		}
	}
	good := map[string]string{
		"license block": "/*! osprey map glyphs | MIT License | https://opensource.org/licenses/MIT */\nconst a = 1;",
		"spdx line":     "// SPDX-License-Identifier: MIT https://spdx.org/licenses/MIT.html\n",
		"svg namespace": `const SVG_NS = 'http://www.w3.org/2000/svg';`,
		"same origin":   "const url = `${scheme}//${location.host}/api/v1/ws`; // comment with a // in it",
		"relative":      `<script type="module" src="/js/app.js"></script>`,
	}
	for name, content := range good {
		refs, err := externalRefs(fstest.MapFS{"web/f": {Data: []byte(content)}})
		if err != nil || len(refs) != 0 {
			t.Errorf("%s: flagged %v (%v)", name, refs, err)
		}
	}
}

// The CSP forbids inline scripts, inline styles and event-handler attributes; the app must not rely on
// them (the browser would silently ignore them). Vehicle text must never become markup, so innerHTML and
// friends are out too.
func TestNoInlineCodeOrMarkupInjection(t *testing.T) {
	checks := []struct {
		re   *regexp.Regexp
		what string
	}{
		{regexp.MustCompile(`<script(\s[^>]*)?>\s*[^<\s]`), "inline <script>"},
		{regexp.MustCompile(`<script(?:\s(?:type="module"|defer))*>`), "<script> without src"},
		{regexp.MustCompile(`<style`), "inline <style>"},
		{regexp.MustCompile(`\sstyle\s*=`), "style attribute"},
		{regexp.MustCompile(`\son[a-z]+\s*=\s*["']`), "event-handler attribute"},
		{regexp.MustCompile(`innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\s*\(|new Function\s*\(`), "HTML injection or eval"},
		{regexp.MustCompile(`setAttribute\(\s*['"]style['"]`), "style attribute set from script"},
	}
	err := fs.WalkDir(web, "web", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || (path.Ext(p) != ".html" && path.Ext(p) != ".js") {
			return err
		}
		b, err := fs.ReadFile(web, p)
		if err != nil {
			return err
		}
		for _, c := range checks {
			if path.Ext(p) == ".js" && c.what == "event-handler attribute" {
				continue // pc.ontrack = ... is a property, not markup
			}
			if loc := c.re.FindIndex(b); loc != nil {
				t.Errorf("%s: %s at %q", p, c.what, b[loc[0]:min(loc[1]+20, len(b))])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Every module import and every file index.html names exists, so a typo fails here rather than as a
// blank page.
func TestReferencedFilesExist(t *testing.T) {
	h := Handler().(*handler)
	importRe := regexp.MustCompile(`(?m)^\s*import\s[^'"]*['"]([^'"]+)['"]`)
	for name, a := range h.assets {
		if path.Ext(name) != ".js" {
			continue
		}
		for _, m := range importRe.FindAllStringSubmatch(string(a.body), -1) {
			target := path.Clean(path.Join(path.Dir(name), m[1]))
			if !strings.HasPrefix(m[1], "./") && !strings.HasPrefix(m[1], "../") {
				t.Errorf("%s imports %q: want a relative path to an embedded module", name, m[1])
			}
			if _, ok := h.assets[target]; !ok {
				t.Errorf("%s imports %q: no such file", name, m[1])
			}
		}
	}
	refRe := regexp.MustCompile(`(?:src|href)="/([^"]+)"`)
	for _, m := range refRe.FindAllStringSubmatch(string(h.assets["index.html"].body), -1) {
		if _, ok := h.assets[m[1]]; !ok {
			t.Errorf("index.html names /%s: no such file", m[1])
		}
	}
}

func TestNewHandlerNeedsIndex(t *testing.T) {
	if _, err := newHandler(fstest.MapFS{"web/app.js": {Data: []byte("x")}}, "web"); err == nil {
		t.Fatal("a tree without index.html was accepted")
	}
}
