package record

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzStreamName: a stream directory never leaves the root and maps back
// to the same name.
func FuzzStreamName(f *testing.F) {
	for _, s := range []string{"sim/1", "/sim/1/", "a/../b", "..", ".", "a//b", "a%2Fb", "a\\..\\b", "odd cam/ü", "%", "a/%2e%2e", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		rel, err := streamRelDir(name)
		if err != nil {
			return
		}
		if !filepath.IsLocal(rel) {
			t.Fatalf("streamRelDir(%q) = %q, not local", name, rel)
		}
		for _, e := range strings.Split(rel, string(filepath.Separator)) {
			if e == ".." || e == "." || e == "" {
				t.Fatalf("streamRelDir(%q) = %q has element %q", name, rel, e)
			}
		}
		back, ok := streamFromRelDir(rel)
		if !ok || back != strings.Trim(name, "/") {
			t.Fatalf("streamFromRelDir(%q) = %q, %v; want %q", rel, back, ok, strings.Trim(name, "/"))
		}
	})
}

// FuzzProbeSegment: any bytes are probed without panicking, and what is
// reported complete lies within the file.
func FuzzProbeSegment(f *testing.F) {
	seg := testSegmentBytes(f)
	f.Add(seg)
	for _, n := range []int{0, 7, 8, 100, len(seg) / 3, len(seg) - 1} {
		f.Add(seg[:n])
	}
	bad := bytes.Clone(seg[:4096])
	bad[3] = 0xff // ftyp claims to be bigger than it is
	f.Add(bad)
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := probeSegment(bytes.NewReader(b), int64(len(b)))
		if err == nil && (p.CompleteBytes > int64(len(b)) || p.Parts < 0 || p.Duration < 0) {
			t.Fatalf("probe = %+v for %d bytes", p, len(b))
		}
	})
}

// FuzzDownloadPath: whatever the request path, the handler serves the one
// recording under its root or an error, never the file outside it.
func FuzzDownloadPath(f *testing.F) {
	fx := newHTTPFixture(f)
	name := segmentFileName(testEpoch)
	for _, s := range []string{"sim/1/" + name, "../secret/" + name, "%2e%2e/secret/" + name, "sim/1/../../../secret/" + name,
		"link/" + name, "odd%20cam/%C3%BC/" + name, "..%5csecret/" + name} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, rest string) {
		// Parsed as a server parses a request line: the path stays as
		// sent, escapes included.
		u, err := url.ParseRequestURI(APIPath + "/" + rest)
		if err != nil {
			return
		}
		req := &http.Request{Method: http.MethodGet, URL: u, Header: http.Header{}}
		rec := httptest.NewRecorder()
		fx.h.ServeHTTP(rec, req)
		if bytes.Contains(rec.Body.Bytes(), fx.secret) {
			t.Fatalf("%q served the secret", rest)
		}
		if rec.Code == http.StatusOK && rec.Header().Get("Content-Type") == "video/mp4" && !bytes.Equal(rec.Body.Bytes(), fx.seg) {
			t.Fatalf("%q served something else than a recording", rest)
		}
	})
}
