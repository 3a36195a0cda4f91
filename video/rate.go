package video

import "time"

// rateMeter measures bitrate and video frame rate over one-second windows.
type rateMeter struct {
	start   time.Time
	bytes   int64
	frames  int
	lastBPS int64
	lastFPS float64
}

func (m *rateMeter) add(now time.Time, size int, video bool) {
	m.roll(now)
	m.bytes += int64(size)
	if video {
		m.frames++
	}
}

// roll closes the window when a second has passed.
func (m *rateMeter) roll(now time.Time) {
	if m.start.IsZero() {
		m.start = now
		return
	}
	el := now.Sub(m.start)
	if el < time.Second {
		return
	}
	if el < 2*time.Second {
		m.lastBPS = int64(float64(m.bytes*8) / el.Seconds())
		m.lastFPS = float64(m.frames) / el.Seconds()
	} else {
		// Idle for a while: the old window says nothing about now.
		m.lastBPS, m.lastFPS = 0, 0
	}
	m.start, m.bytes, m.frames = now, 0, 0
}

// rates returns the last complete window's rates, or zero when nothing
// arrived for two seconds.
func (m *rateMeter) rates(now time.Time) (bps int64, fps float64) {
	if m.start.IsZero() || now.Sub(m.start) >= 2*time.Second {
		return 0, 0
	}
	return m.lastBPS, m.lastFPS
}
