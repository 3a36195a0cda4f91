package record

import (
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// APIPath is the path the Handler serves: GET APIPath lists the
// recordings, GET APIPath/{stream...}/{file} downloads one.
const APIPath = "/api/v1/recordings"

// Handler serves the recordings under a root directory over HTTP:
//
//	GET /api/v1/recordings[?stream=NAME]    JSON list of segments
//	GET /api/v1/recordings/{stream...}/{file} one segment, video/mp4, with Range support
//
// It expects the full request path (mount it at APIPath and APIPath+"/"
// without stripping the prefix). It authorises nothing: the API in front of
// it checks the caller's role and audits the download.
type Handler struct {
	dir string

	mu    sync.Mutex
	cache map[string]probeCacheEntry // path -> duration of a file as last seen
}

// probeCacheEntry remembers a file's duration while its size and
// modification time stay the same, so listing thousands of finished
// segments does not re-read them all.
type probeCacheEntry struct {
	size int64
	mod  time.Time
	dur  time.Duration
}

// NewHandler returns a Handler serving the recordings under dir.
func NewHandler(dir string) *Handler {
	return &Handler{dir: dir, cache: map[string]probeCacheEntry{}}
}

// recordingJSON is one segment in the list.
type recordingJSON struct {
	Stream    string    `json:"stream"`
	File      string    `json:"file"`
	Start     time.Time `json:"start"`
	DurationS float64   `json:"duration_s"`
	Bytes     int64     `json:"bytes"`
	// URL is the download path, relative to the server.
	URL string `json:"url"`
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	p := r.URL.EscapedPath()
	switch {
	case p == APIPath || p == APIPath+"/":
		h.serveList(w, r)
	case strings.HasPrefix(p, APIPath+"/"):
		h.serveFile(w, r, strings.TrimPrefix(p, APIPath+"/"))
	default:
		writeError(w, http.StatusNotFound, "not found")
	}
}

func (h *Handler) serveList(w http.ResponseWriter, r *http.Request) {
	segs, err := h.list()
	if err != nil {
		writeError(w, http.StatusInternalServerError, "cannot list recordings")
		return
	}
	want := strings.Trim(r.URL.Query().Get("stream"), "/")
	out := make([]recordingJSON, 0, len(segs))
	for _, s := range segs {
		if want != "" && s.Stream != want {
			continue
		}
		out = append(out, recordingJSON{
			Stream:    s.Stream,
			File:      filepath.Base(s.Path),
			Start:     s.Start,
			DurationS: s.Duration.Seconds(),
			Bytes:     s.Bytes,
			URL:       DownloadPath(s.Stream, filepath.Base(s.Path)),
		})
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(struct {
		Recordings []recordingJSON `json:"recordings"`
	}{out})
}

// list lists the segments, reusing durations of unchanged files.
func (h *Handler) list() ([]Segment, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	next := make(map[string]probeCacheEntry, len(h.cache))
	segs, err := listWith(h.dir, func(e fileEntry) time.Duration {
		c, ok := h.cache[e.path]
		if !ok || c.size != e.size || !c.mod.Equal(e.mod) {
			c = probeCacheEntry{size: e.size, mod: e.mod, dur: probeFile(e)}
		}
		next[e.path] = c
		return c.dur
	})
	if err != nil {
		return nil, err
	}
	h.cache = next
	return segs, nil
}

// DownloadPath returns the URL path of a segment file of a stream.
func DownloadPath(stream, file string) string {
	elems := strings.Split(strings.Trim(stream, "/"), "/")
	for i, e := range elems {
		elems[i] = url.PathEscape(e)
	}
	return APIPath + "/" + strings.Join(elems, "/") + "/" + url.PathEscape(file)
}

// serveFile serves one segment; rest is the escaped path after APIPath/.
// Every element is checked before the file system is touched, and the
// result must lie inside the root: "..", encoded or not, is a 400.
func (h *Handler) serveFile(w http.ResponseWriter, r *http.Request, rest string) {
	raw := strings.Split(rest, "/")
	if len(raw) < 2 {
		writeError(w, http.StatusNotFound, "not found")
		return
	}
	elems := make([]string, len(raw))
	for i, e := range raw {
		u, err := url.PathUnescape(e)
		if err != nil || u == "" || u == "." || u == ".." || strings.ContainsAny(u, "/\\\x00") {
			writeError(w, http.StatusBadRequest, "bad recording path")
			return
		}
		elems[i] = u
	}
	file := elems[len(elems)-1]
	if _, ok := parseSegmentFileName(file); !ok {
		writeError(w, http.StatusBadRequest, "bad recording file name")
		return
	}
	rel, err := streamRelDir(strings.Join(elems[:len(elems)-1], "/"))
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad stream name")
		return
	}
	// os.Root refuses any path, symbolic links included, that leads out
	// of the recordings directory.
	root, err := os.OpenRoot(h.dir)
	if err != nil {
		writeError(w, http.StatusNotFound, "no such recording")
		return
	}
	defer root.Close()
	f, err := root.Open(filepath.Join(rel, file))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			writeError(w, http.StatusNotFound, "no such recording")
		} else {
			writeError(w, http.StatusBadRequest, "bad recording path")
		}
		return
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() {
		writeError(w, http.StatusNotFound, "no such recording")
		return
	}
	w.Header().Set("Content-Type", "video/mp4")
	w.Header().Set("Content-Disposition", `attachment; filename="`+safeFileName(strings.Join(elems, "_"))+`"`)
	http.ServeContent(w, r, file, info.ModTime(), f)
}

// safeFileName keeps a download's suggested name to characters that need
// no quoting in a header.
func safeFileName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			return r
		}
		return '_'
	}, s)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(struct {
		Error string `json:"error"`
	}{msg})
}
