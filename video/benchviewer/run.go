// Package benchviewer is the viewer side of osprey's video benchmark: many
// WHEP viewers (pion PeerConnections, each on its own UDP socket, with a
// browser's default codecs, NACK and RTCP reports) watching one relayed
// stream, and a reference client reading the camera directly over RTSP.
//
// It measures what the viewers get: time to first frame (POST to the
// first complete keyframe), packet loss (RTP sequence gaps left after NACK
// retransmissions), pictures the relay never delivered, and the relay hop
// latency: for each picture, its arrival through the relay minus its
// arrival straight from the camera.
//
// Pictures are matched across the two paths by their content, not their
// timestamps: the relay rewrites RTP timestamps (new viewers get the cached
// keyframe group on a compressed time line) but forwards NAL units
// unchanged, so a hash of the first bytes of each picture's first slice
// (slice header and first coded macroblock) identifies it on both paths.
package benchviewer

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of Config.
const (
	DefaultSetupConcurrency = 16
	DefaultSetupTimeout     = 20 * time.Second
	// settle is the pause between the last viewer catching up and the
	// window: NACK repairs of the catch-up are over by then.
	settle = time.Second
	// liveHop is how close behind the camera's direct path a viewer's
	// picture must arrive for the viewer to count as caught up: a relay
	// that sends a joining viewer the cached pictures since the last
	// keyframe (osprey) is behind live until they, and the live pictures
	// queued behind them, are through. The window measures the relay
	// hop of viewers that are live; catching up is measured on its own.
	liveHop = 100 * time.Millisecond
	// edge is the margin at both ends of the window inside which a
	// reference picture is not expected at the viewers yet (or any more).
	edge = 500 * time.Millisecond
	// maxErrors is how many distinct viewer errors a Result keeps.
	maxErrors = 5
)

// Config configures Run.
type Config struct {
	// WHEPURL is the WHEP endpoint viewers POST their offers to.
	WHEPURL string
	// RTSPURL is the camera, read directly as the reference.
	RTSPURL string
	// Count is the number of viewers.
	Count int
	// Duration is the measurement window, after every viewer has its
	// first keyframe.
	Duration time.Duration
	// SetupConcurrency bounds viewers connecting at once. Zero means
	// DefaultSetupConcurrency.
	SetupConcurrency int
	// SetupTimeout bounds one viewer's POST to first keyframe. Zero means
	// DefaultSetupTimeout.
	SetupTimeout time.Duration
	// JoinInterval spaces the viewers' offers: zero sends them as fast as
	// SetupConcurrency allows (a herd, as after a relay restart); 100 ms
	// is a command centre opening feeds one after another.
	JoinInterval time.Duration
	// RecvBufferBytes sets each viewer's UDP receive buffer (capped by
	// net.core.rmem_max); zero keeps the kernel default.
	RecvBufferBytes int
	// OnWindow, when set, is called as the window starts (true) and ends
	// (false), so the relay side can measure the same interval.
	OnWindow func(start bool)
	// Logf, when set, receives progress lines.
	Logf func(format string, args ...any)
}

// Percentiles summarises a distribution in milliseconds.
type Percentiles struct {
	P50   float64 `json:"p50"`
	P99   float64 `json:"p99"`
	Max   float64 `json:"max"`
	Count int     `json:"count"`
}

// Result is what the viewers measured.
type Result struct {
	Viewers   int      `json:"viewers"`
	Connected int      `json:"connected"` // got a first keyframe
	Failed    int      `json:"failed"`
	Errors    []string `json:"errors,omitempty"` // a few distinct failures
	WindowS   float64  `json:"window_s"`
	// TTFFMs is POST to the first complete keyframe. LateStarts counts
	// viewers that received pictures (a broken keyframe, say) before
	// their first complete keyframe.
	TTFFMs Percentiles `json:"ttff_ms"`
	// FirstPacketMs is POST to the first RTP packet: ICE and DTLS, which
	// load both ends, before the relay can send anything.
	FirstPacketMs Percentiles `json:"first_packet_ms"`
	// CaughtUpMs is POST to the first picture that arrived less than
	// liveHop after it came straight from the camera. NotCaughtUp counts
	// the viewers with a keyframe that never got there before the
	// window.
	CaughtUpMs  Percentiles `json:"caught_up_ms"`
	NotCaughtUp int         `json:"not_caught_up"`
	LateStarts  int         `json:"late_starts"`
	// HopMs is each picture's arrival through the relay minus its arrival
	// straight from the camera, over the window's complete pictures.
	HopMs Percentiles `json:"hop_ms"`
	// AgeMs is each picture's arrival through the relay minus its capture
	// time (the camera's RTCP sender reports; camera and viewers share
	// the machine's clock). RefLagMs is the same for the reference: when
	// it grows, this process is not keeping up and HopMs understates.
	AgeMs    Percentiles `json:"age_ms"`
	RefLagMs Percentiles `json:"ref_lag_ms"`
	// Packets and PacketsLost sum the viewers' RTP packets in the window
	// and the sequence numbers that never arrived (after NACK repair).
	Packets     uint64  `json:"packets"`
	PacketsLost uint64  `json:"packets_lost"`
	LossPct     float64 `json:"loss_pct"`
	// Frames counts the viewers' pictures in the window, FramesIncomplete
	// those with a missing packet, and FramesMissing the reference's
	// pictures a viewer did not get whole (the relay dropped them for a
	// slow viewer, or a packet was lost), out of FramesExpected: the
	// RefFrames inside the window times the viewers connected.
	Frames           uint64  `json:"frames"`
	FramesIncomplete uint64  `json:"frames_incomplete"`
	FramesMissing    uint64  `json:"frames_missing"`
	FramesExpected   uint64  `json:"frames_expected"`
	RefFrames        int     `json:"ref_frames"`
	MbpsPerViewer    float64 `json:"mbps_per_viewer"`
}

// Run starts the reference and cfg.Count viewers, measures over the
// window, ends every session and returns the figures. It fails only when
// the measurement cannot be made (no reference picture); viewers that fail
// are counted in the Result.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if cfg.Count < 1 || cfg.Duration <= 0 || cfg.WHEPURL == "" || cfg.RTSPURL == "" {
		return Result{}, errors.New("benchviewer: need WHEP and RTSP URLs, a count and a duration")
	}
	if cfg.SetupConcurrency <= 0 {
		cfg.SetupConcurrency = DefaultSetupConcurrency
	}
	if cfg.SetupTimeout <= 0 {
		cfg.SetupTimeout = DefaultSetupTimeout
	}
	if cfg.OnWindow == nil {
		cfg.OnWindow = func(bool) {}
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	res := Result{Viewers: cfg.Count}

	ref, err := startReference(cfg.RTSPURL)
	if err != nil {
		return res, err
	}
	refOpen := true
	defer func() {
		if refOpen {
			ref.close()
		}
	}()
	if err := waitFor(ctx, 15*time.Second, func() bool { return ref.frameCount() >= 10 }); err != nil {
		return res, fmt.Errorf("benchviewer: no pictures from the camera at %s: %w", cfg.RTSPURL, err)
	}

	setupStart := time.Now()
	client := &http.Client{Timeout: cfg.SetupTimeout}
	defer client.CloseIdleConnections()
	var counting atomic.Bool
	viewers := make([]*viewer, cfg.Count)
	errs := make([]error, cfg.Count)
	sem := make(chan struct{}, cfg.SetupConcurrency)
	var wg sync.WaitGroup
	for i := range cfg.Count {
		if i > 0 && cfg.JoinInterval > 0 {
			if err := sleepCtx(ctx, cfg.JoinInterval); err != nil {
				errs[i] = err
				continue
			}
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			errs[i] = ctx.Err()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			sctx, cancel := context.WithTimeout(ctx, cfg.SetupTimeout)
			defer cancel()
			// Only the negotiation is bounded: waiting for the keyframe
			// costs nothing.
			v, err := startViewer(sctx, cfg.WHEPURL, client, cfg.RecvBufferBytes, &counting, ref.arrival)
			<-sem
			viewers[i] = v
			if err == nil {
				select {
				case <-v.firstKey:
				case <-sctx.Done():
					err = errors.New("no complete keyframe before the setup timeout")
				}
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	defer closeAll(viewers)
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		}
	}
	cfg.Logf("%d of %d viewers have a keyframe after %.1f s", ok, cfg.Count, time.Since(setupStart).Seconds())
	live := waitCaughtUp(ctx, viewers, errs, cfg.SetupTimeout)
	cfg.Logf("%d of %d caught up with live after %.1f s", live, ok, time.Since(setupStart).Seconds())

	// The window.
	if err := sleepCtx(ctx, settle); err != nil {
		return res, err
	}
	counting.Store(true)
	start := time.Now()
	cfg.OnWindow(true)
	werr := sleepCtx(ctx, cfg.Duration)
	end := time.Now()
	counting.Store(false)
	cfg.OnWindow(false)
	if werr != nil {
		return res, werr
	}

	closing := time.Now()
	closeAll(viewers)
	ref.close()
	refOpen = false
	cfg.Logf("viewers closed in %.1f s", time.Since(closing).Seconds())
	res.WindowS = end.Sub(start).Seconds()
	summarise(&res, viewers, errs, ref.snapshot(), start, end)
	return res, nil
}

// waitCaughtUp waits, at most timeout, for every viewer with a keyframe to
// catch up with live, and returns how many did.
func waitCaughtUp(ctx context.Context, viewers []*viewer, errs []error, timeout time.Duration) int {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	live := 0
	for i, v := range viewers {
		if errs[i] != nil || v == nil {
			continue
		}
		select {
		case <-v.caughtUp:
			live++
		case <-deadline.C:
			return live
		case <-ctx.Done():
			return live
		}
	}
	return live
}

// closeAll ends the viewers' sessions, a few at a time. Safe to call twice.
func closeAll(viewers []*viewer) {
	sem := make(chan struct{}, 32)
	var wg sync.WaitGroup
	for _, v := range viewers {
		if v == nil || v.closed {
			continue
		}
		v.closed = true
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			v.close()
		}()
	}
	wg.Wait()
}

// summarise fills res from the viewers' records once they are closed.
func summarise(res *Result, viewers []*viewer, errs []error, refFrames map[uint64]refFrame, start, end time.Time) {
	expected := map[uint64]bool{} // reference pictures every viewer should have had
	var refLag []float64
	for k, rf := range refFrames {
		if rf.at.After(start.Add(edge)) && rf.at.Before(end.Add(-edge)) {
			expected[k] = true
			if !rf.capture.IsZero() {
				refLag = append(refLag, ms(rf.at.Sub(rf.capture)))
			}
		}
	}
	res.RefFrames = len(expected)
	seenErr := map[string]bool{}
	var ttff, firstPkt, caughtUp, hop, age []float64
	var bytes uint64
	for i, v := range viewers {
		if errs[i] != nil || v == nil {
			res.Failed++
			msg := "not started"
			if errs[i] != nil {
				msg = errs[i].Error()
			}
			if !seenErr[msg] && len(res.Errors) < maxErrors {
				seenErr[msg] = true
				res.Errors = append(res.Errors, msg)
			}
			continue
		}
		res.Connected++
		ttff = append(ttff, ms(v.firstKeyAt.Sub(v.postAt)))
		firstPkt = append(firstPkt, ms(v.firstPkt.Sub(v.postAt)))
		if v.caughtUpAt.IsZero() || v.caughtUpAt.After(start) {
			res.NotCaughtUp++
		} else {
			caughtUp = append(caughtUp, ms(v.caughtUpAt.Sub(v.postAt)))
		}
		if v.beforeKey > 0 {
			res.LateStarts++
		}
		if v.inWindow {
			exp := uint64(v.maxExt - v.minExt + 1)
			res.Packets += v.received
			res.PacketsLost += exp - min(exp, v.received)
			bytes += v.bytes
		}
		got := map[uint64]bool{}
		for _, f := range v.frames {
			if f.complete {
				got[f.key] = true
			}
			if f.at.Before(start) || f.at.After(end) {
				continue
			}
			res.Frames++
			if !f.complete {
				res.FramesIncomplete++
				continue
			}
			if rf, ok := refFrames[f.key]; ok && !rf.at.Before(start.Add(-edge)) {
				hop = append(hop, ms(f.at.Sub(rf.at)))
				if !rf.capture.IsZero() {
					age = append(age, ms(f.at.Sub(rf.capture)))
				}
			}
		}
		for k := range expected {
			if !got[k] {
				res.FramesMissing++
			}
		}
		res.FramesExpected += uint64(len(expected))
	}
	if total := res.Packets + res.PacketsLost; total > 0 {
		res.LossPct = 100 * float64(res.PacketsLost) / float64(total)
	}
	if res.Connected > 0 && res.WindowS > 0 {
		res.MbpsPerViewer = float64(bytes) * 8 / 1e6 / res.WindowS / float64(res.Connected)
	}
	res.TTFFMs = percentiles(ttff)
	res.FirstPacketMs = percentiles(firstPkt)
	res.CaughtUpMs = percentiles(caughtUp)
	res.HopMs = percentiles(hop)
	res.AgeMs = percentiles(age)
	res.RefLagMs = percentiles(refLag)
}

func percentiles(v []float64) Percentiles {
	if len(v) == 0 {
		return Percentiles{}
	}
	slices.Sort(v)
	return Percentiles{P50: v[len(v)/2], P99: v[len(v)*99/100], Max: v[len(v)-1], Count: len(v)}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// waitFor polls cond until it holds, ctx ends or timeout passes.
func waitFor(ctx context.Context, timeout time.Duration, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %v", timeout)
		}
		if err := sleepCtx(ctx, 20*time.Millisecond); err != nil {
			return err
		}
	}
	return nil
}
