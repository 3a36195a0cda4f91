package record

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// Segment is one recorded segment file.
type Segment struct {
	// Stream is the stream name, such as "sim/1".
	Stream string
	// Path is the file's path on disk.
	Path string
	// Start is the wall-clock time of the first picture.
	Start time.Time
	// Duration is the media time of the complete parts; a segment being
	// written grows.
	Duration time.Duration
	// Bytes is the file size.
	Bytes int64
}

// List returns every segment under the recordings root dir, ordered by
// stream and start time. A file that cannot be read as a segment is
// listed with a zero Duration. A missing dir is an empty list.
func List(dir string) ([]Segment, error) {
	return listWith(dir, probeFile)
}

// fileEntry is a segment file found on disk, not yet probed.
type fileEntry struct {
	stream string
	path   string
	start  time.Time
	size   int64
	mod    time.Time
}

// listWith lists the segments under dir, getting durations from probe.
func listWith(dir string, probe func(fileEntry) time.Duration) ([]Segment, error) {
	entries, err := findSegments(dir)
	if err != nil {
		return nil, err
	}
	out := make([]Segment, 0, len(entries))
	for _, e := range entries {
		out = append(out, Segment{Stream: e.stream, Path: e.path, Start: e.start, Duration: probe(e), Bytes: e.size})
	}
	return out, nil
}

// findSegments walks dir for segment files. Symbolic links are not
// followed: recordings are what the recorder wrote, nothing else.
func findSegments(dir string) ([]fileEntry, error) {
	var out []fileEntry
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path == dir && errors.Is(err, fs.ErrNotExist) {
				return fs.SkipAll
			}
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		start, ok := parseSegmentFileName(d.Name())
		if !ok {
			return nil
		}
		rel, err := filepath.Rel(dir, filepath.Dir(path))
		if err != nil || rel == "." {
			return nil
		}
		stream, ok := streamFromRelDir(rel)
		if !ok {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil // deleted meanwhile
		}
		out = append(out, fileEntry{stream: stream, path: path, start: start, size: info.Size(), mod: info.ModTime()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("record: list %s: %w", dir, err)
	}
	slices.SortFunc(out, func(a, b fileEntry) int {
		return cmp.Or(cmp.Compare(a.stream, b.stream), a.start.Compare(b.start))
	})
	return out, nil
}

// streamSegments lists the segment files of one stream directory (not
// its subdirectories), oldest first.
func streamSegments(dir string) ([]fileEntry, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []fileEntry
	for _, d := range des {
		if !d.Type().IsRegular() {
			continue
		}
		start, ok := parseSegmentFileName(d.Name())
		if !ok {
			continue
		}
		info, err := d.Info()
		if err != nil {
			continue
		}
		out = append(out, fileEntry{path: filepath.Join(dir, d.Name()), start: start, size: info.Size(), mod: info.ModTime()})
	}
	slices.SortFunc(out, func(a, b fileEntry) int { return a.start.Compare(b.start) })
	return out, nil
}

// probeFile returns a segment file's duration, zero when it cannot be read.
func probeFile(e fileEntry) time.Duration {
	f, err := os.Open(e.path)
	if err != nil {
		return 0
	}
	defer f.Close()
	p, err := probeSegment(f, e.size)
	if err != nil {
		return 0
	}
	return p.Duration
}
