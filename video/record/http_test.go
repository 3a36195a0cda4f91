package record

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// httpFixture is a recordings root with two streams and a secret file
// next to it, outside the root.
type httpFixture struct {
	dir     string
	seg     []byte
	secret  []byte
	h       *Handler
	simPath string
	oddPath string
}

func newHTTPFixture(t testing.TB) *httpFixture {
	t.Helper()
	base := t.TempDir()
	f := &httpFixture{dir: filepath.Join(base, "rec"), seg: testSegmentBytes(t), secret: []byte("secret, not a recording")}
	name := segmentFileName(testEpoch)
	f.simPath = filepath.Join(f.dir, "sim", "1", name)
	oddRel, err := streamRelDir("odd cam/ü")
	if err != nil {
		t.Fatal(err)
	}
	f.oddPath = filepath.Join(f.dir, oddRel, name)
	writeFile(t, f.simPath, f.seg)
	writeFile(t, f.oddPath, f.seg)
	writeFile(t, filepath.Join(base, "secret", name), f.secret)
	writeFile(t, filepath.Join(base, "secret.mp4"), f.secret)
	if err := os.Symlink(filepath.Join(base, "secret"), filepath.Join(f.dir, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(base, "secret", name), filepath.Join(f.dir, "sim", segmentFileName(testEpoch.Add(time.Hour)))); err != nil {
		t.Fatal(err)
	}
	f.h = NewHandler(f.dir)
	return f
}

func (f *httpFixture) get(target string, hdr ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, "http://osprey"+target, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	return rec
}

func TestHTTPListAndDownload(t *testing.T) {
	f := newHTTPFixture(t)
	rec := f.get(APIPath)
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("list: %d %s", rec.Code, rec.Body)
	}
	var list struct {
		Recordings []recordingJSON `json:"recordings"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Recordings) != 2 {
		t.Fatalf("list: %+v, want the two recordings and no symlinked file", list.Recordings)
	}
	byStream := map[string]recordingJSON{}
	for _, r := range list.Recordings {
		byStream[r.Stream] = r
	}
	sim, odd := byStream["sim/1"], byStream["odd cam/ü"]
	if sim.File != "2031-05-06_07-08-09.000000.mp4" || !sim.Start.Equal(testEpoch) || sim.DurationS < 1.99 || sim.DurationS > 2.01 ||
		sim.Bytes != int64(len(f.seg)) || sim.URL != "/api/v1/recordings/sim/1/2031-05-06_07-08-09.000000.mp4" {
		t.Errorf("sim/1: %+v", sim)
	}
	if odd.URL != "/api/v1/recordings/odd%20cam/%C3%BC/2031-05-06_07-08-09.000000.mp4" {
		t.Errorf("odd cam/ü: %+v", odd)
	}

	rec = f.get(APIPath + "?stream=sim/1")
	if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil || len(list.Recordings) != 1 || list.Recordings[0].Stream != "sim/1" {
		t.Errorf("filtered list: %s", rec.Body)
	}

	for _, r := range []recordingJSON{sim, odd} {
		rec = f.get(r.URL)
		if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "video/mp4" || !bytes.Equal(rec.Body.Bytes(), f.seg) {
			t.Errorf("GET %s: %d %q, %d bytes", r.URL, rec.Code, rec.Header().Get("Content-Type"), rec.Body.Len())
		}
	}
	rec = f.get(sim.URL, "Range", "bytes=0-99")
	if rec.Code != http.StatusPartialContent || !bytes.Equal(rec.Body.Bytes(), f.seg[:100]) {
		t.Errorf("range: %d, %d bytes", rec.Code, rec.Body.Len())
	}

	req := httptest.NewRequest(http.MethodDelete, "http://osprey"+sim.URL, nil)
	rr := httptest.NewRecorder()
	f.h.ServeHTTP(rr, req)
	if rr.Code != http.StatusMethodNotAllowed || !exists(f.simPath) {
		t.Errorf("DELETE: %d", rr.Code)
	}
}

// TestHTTPPathTraversal: nothing outside the recordings root is served,
// however the path is spelled.
func TestHTTPPathTraversal(t *testing.T) {
	f := newHTTPFixture(t)
	name := segmentFileName(testEpoch)
	for _, c := range []struct {
		path string
		want int
	}{
		{"/api/v1/recordings/../secret/" + name, http.StatusBadRequest},
		{"/api/v1/recordings/../secret.mp4", http.StatusBadRequest},
		{"/api/v1/recordings/%2e%2e/secret/" + name, http.StatusBadRequest},
		{"/api/v1/recordings/..%2fsecret/" + name, http.StatusBadRequest},
		{"/api/v1/recordings/sim/%2E%2E/%2E%2E/secret/" + name, http.StatusBadRequest},
		{"/api/v1/recordings/sim/1/..%2f..%2f..%2fsecret%2f" + name, http.StatusBadRequest},
		{"/api/v1/recordings/sim/1/../../../secret/" + name, http.StatusBadRequest},
		{"/api/v1/recordings/%2fetc/passwd", http.StatusBadRequest},
		{"/api/v1/recordings/..\\secret/" + name, http.StatusBadRequest},
		{"/api/v1/recordings/sim/1/secret.mp4", http.StatusBadRequest},
		{"/api/v1/recordings/sim//1/" + name, http.StatusBadRequest},
		{"/api/v1/recordings/sim/1/" + name + "%00", http.StatusBadRequest},
		{"/api/v1/recordings/" + name, http.StatusNotFound},
		{"/api/v1/recordings/link/" + name, http.StatusBadRequest},                                     // symlinked directory out of the root
		{"/api/v1/recordings/sim/" + segmentFileName(testEpoch.Add(time.Hour)), http.StatusBadRequest}, // symlinked file out of the root
		{"/api/v1/recordings/sim/2/" + name, http.StatusNotFound},
		{"/api/v1/recordingsx", http.StatusNotFound},
	} {
		rec := f.get(c.path)
		if rec.Code != c.want || bytes.Contains(rec.Body.Bytes(), f.secret) {
			t.Errorf("GET %s: %d %q, want %d", c.path, rec.Code, rec.Body.String(), c.want)
		}
	}
}

// TestHTTPThroughServer sends a raw request line through a real server,
// so no client library cleans the path first.
func TestHTTPThroughServer(t *testing.T) {
	f := newHTTPFixture(t)
	srv := httptest.NewServer(f.h)
	defer srv.Close()
	for _, p := range []string{"/api/v1/recordings/../secret/" + segmentFileName(testEpoch), "/api/v1/recordings/sim/1/" + segmentFileName(testEpoch)} {
		req, err := http.NewRequest(http.MethodGet, srv.URL, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.URL.Opaque = p // sent verbatim
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		traversal := strings.Contains(p, "..")
		switch {
		case traversal && (res.StatusCode == http.StatusOK || bytes.Contains(body, f.secret)):
			t.Errorf("GET %s: %d %q", p, res.StatusCode, body)
		case !traversal && (res.StatusCode != http.StatusOK || !bytes.Equal(body, f.seg)):
			t.Errorf("GET %s: %d, %d bytes", p, res.StatusCode, len(body))
		}
	}
}

// TestHTTPNoRecordings: a root that does not exist yet is an empty list.
func TestHTTPNoRecordings(t *testing.T) {
	h := NewHandler(filepath.Join(t.TempDir(), "not-yet"))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, APIPath, nil))
	if rec.Code != http.StatusOK || strings.TrimSpace(rec.Body.String()) != `{"recordings":[]}` {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}
