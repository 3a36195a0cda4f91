package record

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"
)

// errBadMP4 is returned, wrapped, by probeSegment for a file that is not a
// fragmented MP4 it understands.
var errBadMP4 = errors.New("not a fragmented MP4 segment")

// Limits on the boxes probeSegment reads into memory: an init section is a
// few hundred bytes and a moof a few kilobytes (one entry per sample), so
// these only guard against hostile or corrupt files.
const (
	maxMoovBytes = 1 << 20
	maxMoofBytes = 16 << 20
)

// segmentProbe is what probeSegment learns from a segment file.
type segmentProbe struct {
	// Duration is the media time covered by the complete parts: the
	// longest track, from its first sample to the end of its last one.
	Duration time.Duration
	// Parts counts complete parts (a moof followed by its whole mdat).
	Parts int
	// CompleteBytes is the file offset just after the last complete part
	// (or the init section): what a reader can trust.
	CompleteBytes int64
}

// trackSpan accumulates one track's time range in its own timescale.
type trackSpan struct {
	timescale  uint32
	start, end uint64
	seen       bool
}

// probeSegment walks the top-level boxes of a segment of size bytes and
// reports its complete parts. A truncated last box (a crash while a part
// was being written) ends the walk without an error: everything before it
// is playable.
func probeSegment(r io.ReaderAt, size int64) (segmentProbe, error) {
	var p segmentProbe
	tracks := map[uint32]*trackSpan{}
	var pendingMoof []byte
	haveMoov := false
	var off int64
	for off < size {
		typ, hdr, boxSize, err := readBoxHeader(r, off, size)
		if err != nil {
			break // truncated tail
		}
		switch typ {
		case "moov":
			if boxSize > maxMoovBytes {
				return p, fmt.Errorf("%w: moov of %d bytes", errBadMP4, boxSize)
			}
			body := make([]byte, boxSize-hdr)
			if _, err := r.ReadAt(body, off+hdr); err != nil {
				return p, fmt.Errorf("%w: moov: %w", errBadMP4, err)
			}
			if err := parseMoov(body, tracks); err != nil {
				return p, err
			}
			haveMoov = true
			p.CompleteBytes = off + boxSize
		case "moof":
			if !haveMoov {
				return p, fmt.Errorf("%w: moof before moov", errBadMP4)
			}
			if boxSize > maxMoofBytes {
				return p, fmt.Errorf("%w: moof of %d bytes", errBadMP4, boxSize)
			}
			pendingMoof = make([]byte, boxSize-hdr)
			if _, err := r.ReadAt(pendingMoof, off+hdr); err != nil {
				return p, fmt.Errorf("%w: moof: %w", errBadMP4, err)
			}
		case "mdat":
			if pendingMoof != nil {
				if err := parseMoof(pendingMoof, tracks); err != nil {
					return p, err
				}
				pendingMoof = nil
				p.Parts++
				p.CompleteBytes = off + boxSize
			}
		}
		off += boxSize
	}
	if !haveMoov {
		return p, fmt.Errorf("%w: no moov", errBadMP4)
	}
	for _, t := range tracks {
		if !t.seen || t.timescale == 0 || t.end < t.start {
			continue
		}
		d := ticksToDuration(t.end-t.start, t.timescale)
		p.Duration = max(p.Duration, d)
	}
	return p, nil
}

// readBoxHeader reads the header of the box at off and returns its type,
// header length and total size, checking that the box fits in size.
func readBoxHeader(r io.ReaderAt, off, size int64) (typ string, hdr, boxSize int64, err error) {
	var b [16]byte
	if size-off < 8 {
		return "", 0, 0, io.ErrUnexpectedEOF
	}
	if _, err := r.ReadAt(b[:8], off); err != nil {
		return "", 0, 0, err
	}
	boxSize, hdr = int64(binary.BigEndian.Uint32(b[:4])), 8
	switch boxSize {
	case 0: // to the end of the file
		boxSize = size - off
	case 1: // 64-bit size follows
		if size-off < 16 {
			return "", 0, 0, io.ErrUnexpectedEOF
		}
		if _, err := r.ReadAt(b[8:16], off+8); err != nil {
			return "", 0, 0, err
		}
		u := binary.BigEndian.Uint64(b[8:16])
		if u > uint64(size) {
			return "", 0, 0, io.ErrUnexpectedEOF
		}
		boxSize, hdr = int64(u), 16
	}
	if boxSize < hdr || boxSize > size-off {
		return "", 0, 0, io.ErrUnexpectedEOF
	}
	return string(b[4:8]), hdr, boxSize, nil
}

// children calls fn for each box in body (the payload of a container
// box), stopping at the first error.
func children(body []byte, fn func(typ string, payload []byte) error) error {
	for len(body) > 0 {
		if len(body) < 8 {
			return fmt.Errorf("%w: truncated box header", errBadMP4)
		}
		size, hdr := uint64(binary.BigEndian.Uint32(body)), uint64(8)
		typ := string(body[4:8])
		switch size {
		case 0:
			size = uint64(len(body))
		case 1:
			if len(body) < 16 {
				return fmt.Errorf("%w: truncated box header", errBadMP4)
			}
			size, hdr = binary.BigEndian.Uint64(body[8:]), 16
		}
		if size < hdr || size > uint64(len(body)) {
			return fmt.Errorf("%w: box %q of %d bytes in %d", errBadMP4, typ, size, len(body))
		}
		if err := fn(typ, body[hdr:size]); err != nil {
			return err
		}
		body = body[size:]
	}
	return nil
}

// parseMoov records the timescale of every track.
func parseMoov(moov []byte, tracks map[uint32]*trackSpan) error {
	return children(moov, func(typ string, trak []byte) error {
		if typ != "trak" {
			return nil
		}
		var id, timescale uint32
		var haveID, haveScale bool
		err := children(trak, func(typ string, b []byte) error {
			switch typ {
			case "tkhd":
				v, rest, err := fullBox(b)
				if err != nil {
					return err
				}
				skip := 8
				if v == 1 {
					skip = 16
				}
				if len(rest) < skip+4 {
					return fmt.Errorf("%w: short tkhd", errBadMP4)
				}
				id, haveID = binary.BigEndian.Uint32(rest[skip:]), true
			case "mdia":
				return children(b, func(typ string, b []byte) error {
					if typ != "mdhd" {
						return nil
					}
					v, rest, err := fullBox(b)
					if err != nil {
						return err
					}
					skip := 8
					if v == 1 {
						skip = 16
					}
					if len(rest) < skip+4 {
						return fmt.Errorf("%w: short mdhd", errBadMP4)
					}
					timescale, haveScale = binary.BigEndian.Uint32(rest[skip:]), true
					return nil
				})
			}
			return nil
		})
		if err != nil {
			return err
		}
		if !haveID || !haveScale || timescale == 0 {
			return fmt.Errorf("%w: track without id or timescale", errBadMP4)
		}
		tracks[id] = &trackSpan{timescale: timescale}
		return nil
	})
}

// parseMoof extends each track's span by the samples of one moof.
func parseMoof(moof []byte, tracks map[uint32]*trackSpan) error {
	return children(moof, func(typ string, traf []byte) error {
		if typ != "traf" {
			return nil
		}
		var t *trackSpan
		var base, sum uint64
		var defaultDur uint32
		haveBase := false
		err := children(traf, func(typ string, b []byte) error {
			if typ != "tfhd" && typ != "tfdt" && typ != "trun" {
				return nil
			}
			_, rest, err := fullBox(b)
			if err != nil {
				return err
			}
			flags := binary.BigEndian.Uint32(b) & 0xffffff
			switch typ {
			case "tfhd":
				if len(rest) < 4 {
					return fmt.Errorf("%w: short tfhd", errBadMP4)
				}
				t = tracks[binary.BigEndian.Uint32(rest)]
				if t == nil {
					return fmt.Errorf("%w: traf of an unknown track", errBadMP4)
				}
				pos := 4
				if flags&0x01 != 0 { // base-data-offset
					pos += 8
				}
				if flags&0x02 != 0 { // sample-description-index
					pos += 4
				}
				if flags&0x08 != 0 { // default-sample-duration
					if len(rest) < pos+4 {
						return fmt.Errorf("%w: short tfhd", errBadMP4)
					}
					defaultDur = binary.BigEndian.Uint32(rest[pos:])
				}
			case "tfdt":
				if b[0] == 1 {
					if len(rest) < 8 {
						return fmt.Errorf("%w: short tfdt", errBadMP4)
					}
					base = binary.BigEndian.Uint64(rest)
				} else {
					if len(rest) < 4 {
						return fmt.Errorf("%w: short tfdt", errBadMP4)
					}
					base = uint64(binary.BigEndian.Uint32(rest))
				}
				haveBase = true
			case "trun":
				d, err := trunDuration(flags, rest, defaultDur)
				if err != nil {
					return err
				}
				sum += d
			}
			return nil
		})
		if err != nil {
			return err
		}
		if t == nil || !haveBase {
			return fmt.Errorf("%w: traf without tfhd or tfdt", errBadMP4)
		}
		if !t.seen || base < t.start {
			t.start = base
		}
		t.end = max(t.end, base+sum)
		t.seen = true
		return nil
	})
}

// trunDuration sums the sample durations of a trun payload (after its
// version and flags).
func trunDuration(flags uint32, b []byte, defaultDur uint32) (uint64, error) {
	if len(b) < 4 {
		return 0, fmt.Errorf("%w: short trun", errBadMP4)
	}
	count := uint64(binary.BigEndian.Uint32(b))
	pos := 4
	if flags&0x01 != 0 { // data-offset
		pos += 4
	}
	if flags&0x04 != 0 { // first-sample-flags
		pos += 4
	}
	entry := 0
	for _, f := range []uint32{0x100, 0x200, 0x400, 0x800} {
		if flags&f != 0 {
			entry += 4
		}
	}
	if pos > len(b) || (entry > 0 && count > uint64(len(b)-pos)/uint64(entry)) {
		return 0, fmt.Errorf("%w: trun of %d samples in %d bytes", errBadMP4, count, len(b))
	}
	if flags&0x100 == 0 {
		return count * uint64(defaultDur), nil
	}
	var sum uint64
	for i := uint64(0); i < count; i++ {
		sum += uint64(binary.BigEndian.Uint32(b[pos:]))
		pos += entry
	}
	return sum, nil
}

// fullBox splits a full box's payload into its version and the rest.
func fullBox(b []byte) (version byte, rest []byte, err error) {
	if len(b) < 4 {
		return 0, nil, fmt.Errorf("%w: short full box", errBadMP4)
	}
	return b[0], b[4:], nil
}

// ticksToDuration converts ticks of a timescale to a duration without
// overflowing for long files.
func ticksToDuration(ticks uint64, timescale uint32) time.Duration {
	ts := uint64(timescale)
	return time.Duration(ticks/ts)*time.Second + time.Duration((ticks%ts)*uint64(time.Second)/ts)
}
