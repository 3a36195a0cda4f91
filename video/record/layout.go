package record

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// ErrBadStreamName is returned, wrapped, for a stream name that cannot be
// turned into a directory (empty, or with an empty, "." or ".." element).
var ErrBadStreamName = errors.New("record: bad stream name")

// fileTimeLayout is the UTC start time in a segment's file name. It sorts
// lexically in time order and has no character that needs escaping.
const fileTimeLayout = "2006-01-02_15-04-05.000000"

// fileExt is the extension of every segment file.
const fileExt = ".mp4"

// fileNameRE matches a segment file name, and nothing that could be a
// path element with a special meaning.
var fileNameRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}\.\d{6}\.mp4$`)

// streamElems splits a stream name into its path elements, trimming
// leading and trailing slashes as the RTSP path does.
func streamElems(name string) ([]string, error) {
	name = strings.Trim(name, "/")
	if name == "" {
		return nil, fmt.Errorf("%w: empty", ErrBadStreamName)
	}
	elems := strings.Split(name, "/")
	for _, e := range elems {
		if e == "" || e == "." || e == ".." {
			return nil, fmt.Errorf("%w: %q has an empty, \".\" or \"..\" element", ErrBadStreamName, name)
		}
	}
	return elems, nil
}

// streamRelDir returns the directory of a stream relative to the
// recordings root, in the file system's separator. The result never
// contains "..", a separator inside an element, or an absolute prefix.
func streamRelDir(name string) (string, error) {
	elems, err := streamElems(name)
	if err != nil {
		return "", err
	}
	for i, e := range elems {
		// PathEscape escapes "/", "\" and "%" (so unescaping is exact),
		// control characters and spaces; "." and ".." were refused above
		// and cannot be produced by escaping.
		elems[i] = url.PathEscape(e)
	}
	return filepath.Join(elems...), nil
}

// streamFromRelDir is the inverse of streamRelDir; ok is false for a
// directory that no stream name maps to.
func streamFromRelDir(rel string) (string, bool) {
	elems := strings.Split(filepath.ToSlash(rel), "/")
	for i, e := range elems {
		u, err := url.PathUnescape(e)
		if err != nil || url.PathEscape(u) != e {
			return "", false
		}
		elems[i] = u
	}
	name := strings.Join(elems, "/")
	if _, err := streamElems(name); err != nil || strings.Trim(name, "/") != name {
		return "", false
	}
	return name, true
}

// segmentFileName returns the file name of a segment starting at t.
func segmentFileName(t time.Time) string {
	return t.UTC().Format(fileTimeLayout) + fileExt
}

// parseSegmentFileName returns the start time a segment file name encodes.
func parseSegmentFileName(name string) (time.Time, bool) {
	if !fileNameRE.MatchString(name) {
		return time.Time{}, false
	}
	t, err := time.ParseInLocation(fileTimeLayout, strings.TrimSuffix(name, fileExt), time.UTC)
	if err != nil {
		return time.Time{}, false
	}
	return t, true
}
