package video

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/ospreygcs/osprey/internal/clock"
	"github.com/ospreygcs/osprey/sitl"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testParams returns a real SPS and PPS from the simulated camera's
// encoder, and an IDR and a P picture.
func testParams(t testing.TB) (sps, pps, idr, p []byte) {
	t.Helper()
	enc, err := sitl.NewH264Encoder(sitl.H264EncoderConfig{Width: 320, Height: 240, FPS: 10, GOP: 10})
	if err != nil {
		t.Fatal(err)
	}
	return enc.SPS(), enc.PPS(), []byte{0x65, 0x88, 0x84, 0x00}, []byte{0x41, 0x9a, 0x02}
}

func readN(t *testing.T, r *Reader, n int) []*Unit {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var out []*Unit
	for range n {
		u, err := r.ReadUnit(ctx)
		if err != nil {
			t.Fatalf("ReadUnit after %d units: %v", len(out), err)
		}
		out = append(out, u)
	}
	return out
}

// assertEmpty checks the reader has nothing queued.
func assertEmpty(t *testing.T, r *Reader) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if u, err := r.ReadUnit(ctx); err == nil {
		t.Fatalf("unexpected unit seq %d idr %v", u.Seq, u.IDR)
	}
}

func TestIDRGetsParameterSetsFromSDP(t *testing.T) {
	sps, pps, idr, p := testParams(t)
	s := NewStream("cam", StreamConfig{})
	defer s.Close()
	pub, err := s.Publish(Media{Video: CodecH264, SPS: sps, PPS: pps})
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.AddReader("t", 0)
	if err != nil {
		t.Fatal(err)
	}
	// A P picture before any keyframe is useless to everyone.
	if err := pub.WriteVideo(0, time.Time{}, [][]byte{p}); err != nil {
		t.Fatal(err)
	}
	// An access unit delimiter, then the IDR alone: the camera put the
	// parameter sets only in its SDP.
	if err := pub.WriteVideo(100*time.Millisecond, time.Time{}, [][]byte{{0x09, 0xf0}, idr}); err != nil {
		t.Fatal(err)
	}
	u := readN(t, r, 1)[0]
	if !u.IDR || len(u.NALUs) != 3 || !bytes.Equal(u.NALUs[0], sps) || !bytes.Equal(u.NALUs[1], pps) || !bytes.Equal(u.NALUs[2], idr) {
		t.Fatalf("unit = IDR %v with %d NALUs, want SPS, PPS, IDR", u.IDR, len(u.NALUs))
	}
	assertEmpty(t, r)
	if info := s.Info(); info.Width != 320 || info.Height != 240 || info.State != StateLive {
		t.Fatalf("info %+v, want live 320x240", info)
	}
}

func TestIDRWithoutAnyParameterSetsIsDropped(t *testing.T) {
	_, _, idr, _ := testParams(t)
	s := NewStream("cam", StreamConfig{})
	defer s.Close()
	pub, err := s.Publish(Media{Video: CodecH264})
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.WriteVideo(0, time.Time{}, [][]byte{idr}); !errors.Is(err, ErrBadUnit) {
		t.Fatalf("err = %v, want ErrBadUnit", err)
	}
	if got := s.Info().BadUnits; got != 1 {
		t.Fatalf("BadUnits = %d, want 1", got)
	}
}

func TestJoiningReaderStartsWithCachedGOP(t *testing.T) {
	sps, pps, idr, p := testParams(t)
	s := NewStream("cam", StreamConfig{})
	defer s.Close()
	pub, _ := s.Publish(Media{Video: CodecH264, SPS: sps, PPS: pps})
	write := func(i int, au []byte) {
		t.Helper()
		if err := pub.WriteVideo(time.Duration(i)*100*time.Millisecond, time.Time{}, [][]byte{au}); err != nil {
			t.Fatal(err)
		}
	}
	write(0, idr)
	write(1, p)
	write(2, idr) // the second GOP starts here
	write(3, p)
	write(4, p)

	r, err := s.AddReader("late", 4)
	if err != nil {
		t.Fatal(err)
	}
	got := readN(t, r, 3)
	if !got[0].IDR || got[0].PTS != 200*time.Millisecond || got[1].IDR || got[2].IDR {
		t.Fatalf("cached units: IDR %v at %v, then %v %v; want the second GOP", got[0].IDR, got[0].PTS, got[1].IDR, got[2].IDR)
	}
	for _, u := range got {
		if u.Seq >= r.FirstLiveSeq() {
			t.Fatalf("cached unit seq %d not below FirstLiveSeq %d", u.Seq, r.FirstLiveSeq())
		}
	}
	write(5, p)
	if u := readN(t, r, 1)[0]; u.Seq < r.FirstLiveSeq() || u.PTS != 500*time.Millisecond {
		t.Fatalf("live unit seq %d pts %v", u.Seq, u.PTS)
	}
}

func TestSlowReaderDropsUntilKeyframeAndNeverBlocks(t *testing.T) {
	sps, pps, idr, p := testParams(t)
	s := NewStream("cam", StreamConfig{})
	defer s.Close()
	pub, _ := s.Publish(Media{Video: CodecH264, SPS: sps, PPS: pps, Audio: CodecOpus, AudioClockRateHz: 48000, AudioChannels: 2})
	slow, _ := s.AddReader("slow", 3)
	fast, _ := s.AddReader("fast", 100)

	// 1 IDR and 9 P pictures: the slow reader, never read, holds 3.
	start := time.Now()
	for i := range 10 {
		au := p
		if i == 0 {
			au = idr
		}
		if err := pub.WriteVideo(time.Duration(i)*time.Millisecond, time.Time{}, [][]byte{au}); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("publishing 10 units took %v: a slow reader blocked the publisher", d)
	}
	if len(readN(t, fast, 10)) != 10 {
		t.Fatal("fast reader lost units")
	}
	if got := slow.Dropped(); got != 7 {
		t.Fatalf("slow reader dropped %d, want 7", got)
	}
	// Drain the slow reader; P pictures keep being dropped (the reader is
	// waiting for a keyframe), audio passes, and the next IDR resumes video.
	readN(t, slow, 3)
	_ = pub.WriteVideo(10*time.Millisecond, time.Time{}, [][]byte{p})
	_ = pub.WriteAudio(10*time.Millisecond, time.Time{}, []byte{0xfc, 0x01})
	_ = pub.WriteVideo(11*time.Millisecond, time.Time{}, [][]byte{idr})
	got := readN(t, slow, 2)
	if got[0].Codec != CodecOpus || !got[1].IDR {
		t.Fatalf("after overflow the slow reader got %v then IDR=%v, want audio then a keyframe", got[0].Codec, got[1].IDR)
	}
	assertEmpty(t, slow)
	if info := s.Info(); info.ReaderDrops != 8 {
		t.Fatalf("ReaderDrops = %d, want 8", info.ReaderDrops)
	}
}

func TestReconnectKeepsPTSIncreasingAndAdvancesEpoch(t *testing.T) {
	sps, pps, idr, p := testParams(t)
	fake := clock.NewFake(time.Unix(1_700_000_000, 0))
	s := NewStream("cam", StreamConfig{Clock: fake})
	defer s.Close()
	r, _ := s.AddReader("r", 0)

	pub, _ := s.Publish(Media{Video: CodecH264, SPS: sps, PPS: pps})
	_ = pub.WriteVideo(5*time.Second, time.Time{}, [][]byte{idr})
	_ = pub.WriteVideo(5*time.Second+100*time.Millisecond, time.Time{}, [][]byte{p})
	pub.Close(errors.New("camera went away"))
	if st, lastErr := s.State(); st != StateOffline || lastErr != "camera went away" {
		t.Fatalf("state %s %q, want offline with the error", st, lastErr)
	}
	if _, err := s.Publish(Media{Video: CodecH264}); err != nil {
		t.Fatal(err)
	}
	fake.Advance(3 * time.Second)
	// A second publisher while one is attached is refused.
	if _, err := s.Publish(Media{Video: CodecH264}); !errors.Is(err, ErrPublisherExists) {
		t.Fatalf("second Publish: %v, want ErrPublisherExists", err)
	}
	if err := pub.WriteVideo(0, time.Time{}, [][]byte{p}); !errors.Is(err, ErrPublisherClosed) {
		t.Fatalf("write on a closed publisher: %v", err)
	}
	m, epoch, ok := s.Media()
	if !ok || epoch != 2 || m.SPS != nil {
		t.Fatalf("Media() = %+v, %d, %v; want epoch 2 with no SDP parameter sets", m, epoch, ok)
	}
	got := readN(t, r, 2)
	if got[0].Epoch != 1 || got[1].PTS != 100*time.Millisecond {
		t.Fatalf("first session: epoch %d, PTS %v", got[0].Epoch, got[1].PTS)
	}
}

func TestReconnectedSessionContinuesTimeline(t *testing.T) {
	sps, pps, idr, _ := testParams(t)
	fake := clock.NewFake(time.Unix(1_700_000_000, 0))
	s := NewStream("cam", StreamConfig{Clock: fake})
	defer s.Close()
	r, _ := s.AddReader("r", 0)
	pub, _ := s.Publish(Media{Video: CodecH264, SPS: sps, PPS: pps})
	_ = pub.WriteVideo(7*time.Second, time.Time{}, [][]byte{idr})
	pub.Close(nil)
	fake.Advance(3 * time.Second)
	pub2, _ := s.Publish(Media{Video: CodecH264, SPS: sps, PPS: pps})
	// The new session's clock starts again near zero.
	_ = pub2.WriteVideo(0, time.Time{}, [][]byte{idr})
	got := readN(t, r, 2)
	if got[0].PTS != 0 || got[1].PTS != 3*time.Second || got[1].Epoch != 2 {
		t.Fatalf("PTS %v then %v (epoch %d), want 0 then 3s (the outage) in epoch 2", got[0].PTS, got[1].PTS, got[1].Epoch)
	}
}

func TestStreamCloseEndsReaders(t *testing.T) {
	s := NewStream("cam", StreamConfig{})
	r, _ := s.AddReader("r", 0)
	var wg sync.WaitGroup
	wg.Add(1)
	var err error
	go func() {
		defer wg.Done()
		_, err = r.ReadUnit(context.Background())
	}()
	s.Close()
	wg.Wait()
	if !errors.Is(err, ErrStreamClosed) {
		t.Fatalf("ReadUnit = %v, want ErrStreamClosed", err)
	}
	if _, err := s.AddReader("late", 0); !errors.Is(err, ErrStreamClosed) {
		t.Fatalf("AddReader after Close = %v", err)
	}
}

func TestGOPCacheIsBounded(t *testing.T) {
	sps, pps, idr, p := testParams(t)
	s := NewStream("cam", StreamConfig{MaxGOPUnits: 4})
	defer s.Close()
	pub, _ := s.Publish(Media{Video: CodecH264, SPS: sps, PPS: pps})
	_ = pub.WriteVideo(0, time.Time{}, [][]byte{idr})
	for i := 1; i < 10; i++ {
		_ = pub.WriteVideo(time.Duration(i), time.Time{}, [][]byte{p})
	}
	// The GOP outgrew the cache: a joiner waits for the next keyframe
	// rather than getting a GOP with its start missing.
	r, _ := s.AddReader("r", 0)
	_ = pub.WriteVideo(10, time.Time{}, [][]byte{p})
	assertEmpty(t, r)
	_ = pub.WriteVideo(11, time.Time{}, [][]byte{idr})
	if u := readN(t, r, 1)[0]; !u.IDR {
		t.Fatal("first unit is not the keyframe")
	}
}

func TestSanitizeDropsBrokenNALUs(t *testing.T) {
	sps, pps, idr, p := testParams(t)
	cases := []struct {
		name    string
		au      [][]byte
		wantLen int // NAL units out; -1 for an error
		dropped int
		idr     bool
	}{
		{"P picture", [][]byte{p}, 1, 0, false},
		{"empty NALU removed", [][]byte{{}, p}, 1, 1, false},
		{"forbidden bit", [][]byte{{0x80 | 0x01, 0x00}, p}, 1, 1, false},
		{"STAP-A type inside an AU", [][]byte{{0x18, 1, 2}, p}, 1, 1, false},
		{"only garbage", [][]byte{{0x80}, {0x1f}}, -1, 2, false},
		{"bad SPS in IDR unit", [][]byte{{0x67, 0xff}, pps, idr}, 3, 1, true},
		{"full IDR kept in order", [][]byte{sps, pps, idr}, 3, 0, true},
		{"params only", [][]byte{sps, pps}, 0, 0, false},
		{"empty AU", nil, -1, 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ps := paramSets{}
			ps.update(CodecH264, sps)
			ps.update(CodecH264, pps)
			out, isIDR, dropped, err := sanitizeAU(CodecH264, c.au, &ps)
			if c.wantLen < 0 {
				if !errors.Is(err, ErrBadUnit) {
					t.Fatalf("err = %v, want ErrBadUnit", err)
				}
			} else if err != nil || len(out) != c.wantLen || isIDR != c.idr {
				t.Fatalf("got %d NALUs idr %v err %v, want %d idr %v", len(out), isIDR, err, c.wantLen, c.idr)
			}
			if dropped != c.dropped {
				t.Fatalf("dropped %d, want %d", dropped, c.dropped)
			}
			if c.idr && c.wantLen == 3 && (!bytes.Equal(out[0], sps) || !bytes.Equal(out[1], pps)) {
				t.Fatal("IDR does not start with the valid SPS and PPS")
			}
		})
	}
}

func TestOversizedAccessUnitIsDropped(t *testing.T) {
	_, _, _, p := testParams(t)
	big := make([]byte, MaxAccessUnitBytes+1)
	big[0] = 0x41
	ps := paramSets{}
	if _, _, _, err := sanitizeAU(CodecH264, [][]byte{big}, &ps); !errors.Is(err, ErrBadUnit) {
		t.Fatalf("oversized AU: err = %v", err)
	}
	many := make([][]byte, MaxNALUsPerAccessUnit+1)
	for i := range many {
		many[i] = p
	}
	if _, _, _, err := sanitizeAU(CodecH264, many, &ps); !errors.Is(err, ErrBadUnit) {
		t.Fatalf("too many NALUs: err = %v", err)
	}
}

func TestRTPPayloadsFragmentLargeUnitsOnce(t *testing.T) {
	sps, pps, _, _ := testParams(t)
	big := make([]byte, 10_000)
	big[0] = 0x65
	u := &Unit{Codec: CodecH264, NALUs: [][]byte{sps, pps, big}, IDR: true}
	a, err := u.RTPPayloads()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := u.RTPPayloads()
	if len(a) < 10 || &a[0][0] != &b[0][0] {
		t.Fatalf("%d payloads; second call must return the same slices", len(a))
	}
	for _, pl := range a {
		if len(pl) > MaxRTPPayloadBytes {
			t.Fatalf("payload of %d bytes", len(pl))
		}
	}
}

func TestValidateName(t *testing.T) {
	for _, ok := range []string{"sim/1", "drone3/front", "a.b-c_d~e"} {
		if err := ValidateName(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "/x", "x/", "a//b", "a/../b", ".", "a b", "ä", "x?y"} {
		if err := ValidateName(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// FuzzH264AccessUnit feeds arbitrary NAL unit sequences through the hub's
// access-unit handling: it must never panic, never publish a unit over
// the limits, and always start an IDR with parameter sets.
func FuzzH264AccessUnit(f *testing.F) {
	sps, pps, idr, p := testParams(f)
	join := func(nalus ...[]byte) []byte {
		var b []byte
		for _, n := range nalus {
			b = append(b, byte(len(n)>>8), byte(len(n)))
			b = append(b, n...)
		}
		return b
	}
	f.Add(join(sps, pps, idr))
	f.Add(join(idr))
	f.Add(join(p))
	f.Add(join([]byte{0x09, 0xf0}, p))
	f.Add(join([]byte{}, []byte{0x80}, []byte{0x67}))
	f.Add(join([]byte{0x67, 0x42, 0x00}, pps, idr))
	f.Add([]byte{0xff, 0xff, 0x65})
	f.Fuzz(func(t *testing.T, data []byte) {
		// data is a sequence of 2-byte-length-prefixed NAL units.
		var au [][]byte
		for len(data) >= 2 {
			n := int(data[0])<<8 | int(data[1])
			data = data[2:]
			n = min(n, len(data))
			au = append(au, data[:n])
			data = data[n:]
		}
		s := NewStream("fuzz", StreamConfig{})
		defer s.Close()
		pub, err := s.Publish(Media{Video: CodecH264, SPS: sps, PPS: pps})
		if err != nil {
			t.Fatal(err)
		}
		r, _ := s.AddReader("r", 4)
		_ = pub.WriteVideo(0, time.Time{}, au)
		_ = pub.WriteVideo(time.Millisecond, time.Time{}, au)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		for {
			u, err := r.ReadUnit(ctx)
			if err != nil {
				break
			}
			if len(u.NALUs) == 0 || len(u.NALUs) > MaxNALUsPerAccessUnit+3 || u.Size() > MaxAccessUnitBytes+2*maxParamSetBytes {
				t.Fatalf("published a unit of %d NALUs, %d bytes", len(u.NALUs), u.Size())
			}
			for _, n := range u.NALUs {
				if len(n) == 0 || n[0]&0x80 != 0 {
					t.Fatal("published an empty or forbidden NAL unit")
				}
			}
			if u.IDR && (u.NALUs[0][0]&0x1f != 7 || u.NALUs[1][0]&0x1f != 8) {
				t.Fatal("IDR without leading SPS and PPS")
			}
			if _, err := u.RTPPayloads(); err != nil {
				t.Fatalf("packetizing a published unit: %v", err)
			}
		}
	})
}

// FuzzH265AccessUnit runs arbitrary NAL units through the H.265 side of
// the access-unit checks, whose SPS parser sees untrusted bytes too.
func FuzzH265AccessUnit(f *testing.F) {
	f.Add([]byte{0, 3, 0x40, 0x01, 0x0c, 0, 3, 0x42, 0x01, 0x01, 0, 3, 0x44, 0x01, 0xc0, 0, 3, 0x26, 0x01, 0xaf})
	f.Add([]byte{0, 2, 0x02, 0x01})
	f.Add([]byte{0, 1, 0x80})
	f.Fuzz(func(t *testing.T, data []byte) {
		var au [][]byte
		for len(data) >= 2 {
			n := min(int(data[0])<<8|int(data[1]), len(data)-2)
			au = append(au, data[2:2+n])
			data = data[2+n:]
		}
		var ps paramSets
		out, idr, _, err := sanitizeAU(CodecH265, au, &ps)
		if err != nil {
			return
		}
		if idr && (len(out) < 3 || !startsWithParams(CodecH265, out)) {
			t.Fatal("H.265 keyframe without leading VPS, SPS and PPS")
		}
		u := &Unit{Codec: CodecH265, NALUs: out, IDR: idr}
		if len(out) > 0 {
			if _, err := u.RTPPayloads(); err != nil {
				t.Fatalf("packetizing: %v", err)
			}
		}
	})
}
