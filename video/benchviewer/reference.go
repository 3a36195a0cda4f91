package benchviewer

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/bluenviron/gortsplib/v4"
	"github.com/bluenviron/gortsplib/v4/pkg/base"
	"github.com/bluenviron/gortsplib/v4/pkg/format"
	"github.com/pion/rtp"
)

// reference reads the camera directly over RTSP (TCP) and notes when each
// picture arrived, the yardstick for the relay's pictures.
type reference struct {
	c       *gortsplib.Client
	tracker frameTracker // owned by gortsplib's read goroutine

	mu      sync.Mutex
	frames  map[uint64]refFrame // by picture key
	count   int
	capture time.Time // of the picture being received
}

// refFrame is a picture as it came straight from the camera.
type refFrame struct {
	at      time.Time // arrival of its last packet
	capture time.Time // the camera's capture time (RTCP sender reports); zero until known
}

func startReference(rtspURL string) (*reference, error) {
	u, err := base.ParseURL(rtspURL)
	if err != nil {
		return nil, fmt.Errorf("reference %s: %w", rtspURL, err)
	}
	tcp := gortsplib.TransportTCP
	r := &reference{frames: map[uint64]refFrame{}}
	r.tracker.onFrame = r.onFrame
	r.c = &gortsplib.Client{Scheme: u.Scheme, Host: u.Host, Transport: &tcp, ReadTimeout: 10 * time.Second}
	r.c.OnDecodeError = func(error) {}
	r.c.OnPacketsLost = func(uint64) {}
	if err := r.c.Start2(); err != nil {
		return nil, fmt.Errorf("reference %s: %w", rtspURL, err)
	}
	desc, _, err := r.c.Describe(u)
	if err != nil {
		r.c.Close()
		return nil, fmt.Errorf("reference %s: %w", rtspURL, err)
	}
	var forma *format.H264
	medi := desc.FindFormat(&forma)
	if medi == nil {
		r.c.Close()
		return nil, errors.New("reference: the camera has no H.264 track")
	}
	if _, err := r.c.Setup(desc.BaseURL, medi, 0, 0); err != nil {
		r.c.Close()
		return nil, fmt.Errorf("reference %s: %w", rtspURL, err)
	}
	r.c.OnPacketRTP(medi, forma, func(p *rtp.Packet) {
		now := time.Now()
		if ntp, ok := r.c.PacketNTP(medi, p); ok {
			r.mu.Lock()
			r.capture = ntp
			r.mu.Unlock()
		}
		r.tracker.packet(p, now)
	})
	if _, err := r.c.Play(nil); err != nil {
		r.c.Close()
		return nil, fmt.Errorf("reference %s: %w", rtspURL, err)
	}
	return r, nil
}

func (r *reference) onFrame(f frame) {
	if !f.complete {
		return
	}
	r.mu.Lock()
	r.frames[f.key] = refFrame{at: f.at, capture: r.capture}
	r.count++
	r.mu.Unlock()
}

// frameCount returns how many complete pictures arrived.
func (r *reference) frameCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.count
}

// arrival returns when the picture with this key came straight from the
// camera, if it has.
func (r *reference) arrival(key uint64) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rf, ok := r.frames[key]
	return rf.at, ok
}

// close stops reading; the recorded arrivals stay readable.
func (r *reference) close() { r.c.Close() }

// snapshot returns the arrivals recorded so far.
func (r *reference) snapshot() map[uint64]refFrame {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[uint64]refFrame, len(r.frames))
	for k, t := range r.frames {
		out[k] = t
	}
	return out
}
