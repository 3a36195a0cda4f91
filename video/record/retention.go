package record

import (
	"os"
)

// enforceRetention deletes the stream's finished segments that end before
// now - MaxAge, then the oldest ones while the stream's segments take more
// than MaxBytes. The segment being written is never deleted. Errors are
// ignored: retention tries again at the next segment or interval, and a
// failed deletion must not stop the recording.
func (w *writer) enforceRetention() {
	if w.cfg.MaxAge == 0 && w.cfg.MaxBytes == 0 {
		return
	}
	segs, err := streamSegments(w.dir)
	if err != nil {
		return
	}
	current := ""
	if w.seg != nil {
		current = w.seg.path
	}
	deleted := make([]bool, len(segs))
	remove := func(i int) {
		if os.Remove(segs[i].path) == nil {
			deleted[i] = true
			w.r.setState(func(s *Status) { s.Deleted++ })
		}
	}

	if w.cfg.MaxAge > 0 {
		cutoff := w.cfg.Clock.Now().Add(-w.cfg.MaxAge)
		for i, s := range segs {
			if !s.start.Before(cutoff) {
				break // this one and every later one end after the cutoff
			}
			if s.path == current {
				continue
			}
			// A segment ends before the next one starts, so only the
			// last one old enough to matter needs its duration read.
			if i+1 < len(segs) && !segs[i+1].start.After(cutoff) {
				remove(i)
				continue
			}
			if s.start.Add(probeFile(s)).Before(cutoff) {
				remove(i)
			}
		}
	}

	if w.cfg.MaxBytes > 0 {
		var total int64
		for i, s := range segs {
			if !deleted[i] {
				total += s.size
			}
		}
		for i, s := range segs {
			if total <= w.cfg.MaxBytes {
				break
			}
			if deleted[i] || s.path == current {
				continue
			}
			remove(i)
			if deleted[i] {
				total -= s.size
			}
		}
	}
}
