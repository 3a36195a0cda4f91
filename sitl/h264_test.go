package sitl

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"
	"time"

	mch264 "github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
)

// h264TestBits renders the writer's output as a string of 0/1, for
// comparing with the code tables of the spec; pending bits are included.
func h264TestBits(w *h264BitWriter) string {
	var sb strings.Builder
	for _, b := range w.buf {
		fmt.Fprintf(&sb, "%08b", b)
	}
	for i := int(w.nbits) - 1; i >= 0; i-- {
		sb.WriteByte('0' + byte(w.acc>>uint(i))&1)
	}
	return sb.String()
}

func TestH264BitWriterExpGolomb(t *testing.T) {
	ue := []struct {
		v    uint32
		want string
	}{
		{0, "1"},
		{1, "010"},
		{2, "011"},
		{3, "00100"},
		{6, "00111"},
		{7, "0001000"},
		{25, "000011010"},
		{30, "000011111"},
		{1<<16 - 1, "0000000000000000" + "10000000000000000"},
		{1<<32 - 2, strings.Repeat("0", 31) + strings.Repeat("1", 32)},
	}
	for _, c := range ue {
		var w h264BitWriter
		w.ue(c.v)
		if got := h264TestBits(&w); got != c.want {
			t.Errorf("ue(%d) = %s, want %s", c.v, got, c.want)
		}
	}
	se := []struct {
		v    int32
		want string
	}{
		{0, "1"},
		{1, "010"},
		{-1, "011"},
		{2, "00100"},
		{-2, "00101"},
		{3, "00110"},
		{-3, "00111"},
	}
	for _, c := range se {
		var w h264BitWriter
		w.se(c.v)
		if got := h264TestBits(&w); got != c.want {
			t.Errorf("se(%d) = %s, want %s", c.v, got, c.want)
		}
	}
}

func TestH264BitWriterAlignment(t *testing.T) {
	var w h264BitWriter
	w.u(3, 0b101)
	if w.aligned() {
		t.Fatal("aligned after 3 bits")
	}
	w.alignZero()
	if !w.aligned() || !bytes.Equal(w.buf, []byte{0b10100000}) {
		t.Fatalf("alignZero: %08b", w.buf)
	}
	w.alignZero() // already aligned: writes nothing
	w.bytes([]byte{0x00, 0xff})
	w.flag(true)
	w.bytes([]byte{0x81}) // unaligned path
	w.trailing()
	want := []byte{0b10100000, 0x00, 0xff, 0b11000000, 0b11000000}
	if !bytes.Equal(w.buf, want) {
		t.Fatalf("got % x, want % x", w.buf, want)
	}
	w.u(32, 0xdeadbeef)
	w.u(1, 1)
	w.trailing()
	if !bytes.Equal(w.buf[len(want):], []byte{0xde, 0xad, 0xbe, 0xef, 0xc0}) {
		t.Fatalf("u(32): % x", w.buf[len(want):])
	}
	w.reset()
	if len(w.buf) != 0 || !w.aligned() {
		t.Fatal("reset left data")
	}
}

// h264TestEscapeNaive is the byte-at-a-time statement of §7.4.1, the
// reference for the fast implementation.
func h264TestEscapeNaive(rbsp []byte) []byte {
	var out []byte
	zeros := 0
	for _, b := range rbsp {
		if zeros >= 2 && b <= 3 {
			out = append(out, 3)
			zeros = 0
		}
		out = append(out, b)
		if b == 0 {
			zeros++
		} else {
			zeros = 0
		}
	}
	if len(rbsp) > 0 && rbsp[len(rbsp)-1] == 0 {
		out = append(out, 3)
	}
	return out
}

// h264TestCheckEscaped fails when esc could contain a start code or is not
// the escaped form of rbsp.
func h264TestCheckEscaped(t *testing.T, rbsp, esc []byte) {
	t.Helper()
	for _, bad := range [][]byte{{0, 0, 0}, {0, 0, 1}, {0, 0, 2}} {
		if bytes.Contains(esc, bad) {
			t.Fatalf("escaped % x contains % x", esc, bad)
		}
	}
	if len(esc) > 0 && esc[len(esc)-1] == 0 {
		t.Fatalf("escaped % x ends in zero", esc)
	}
	if want := h264TestEscapeNaive(rbsp); !bytes.Equal(esc, want) {
		t.Fatalf("escape(% x) = % x, want % x", rbsp, esc, want)
	}
	if n := h264EscapedLen(rbsp); n != len(esc) {
		t.Fatalf("escapedLen = %d, escaped %d bytes", n, len(esc))
	}
	if back := mch264.EmulationPreventionRemove(esc); !bytes.Equal(back, rbsp) && !(len(rbsp) > 0 && rbsp[len(rbsp)-1] == 0) {
		t.Fatalf("unescape(% x) = % x, want % x", esc, back, rbsp)
	}
}

var h264TestEscapeCases = []struct {
	in, want []byte
}{
	{nil, nil},
	{[]byte{1, 2, 3}, []byte{1, 2, 3}},
	{[]byte{0, 0, 0}, []byte{0, 0, 3, 0, 3}},
	{[]byte{0, 0, 1}, []byte{0, 0, 3, 1}},
	{[]byte{0, 0, 2}, []byte{0, 0, 3, 2}},
	{[]byte{0, 0, 3}, []byte{0, 0, 3, 3}},
	{[]byte{0, 0, 4}, []byte{0, 0, 4}},
	{[]byte{0, 0, 0, 1}, []byte{0, 0, 3, 0, 1}},
	{[]byte{0, 0, 0, 0, 0, 1}, []byte{0, 0, 3, 0, 0, 3, 0, 1}},
	{[]byte{5, 0, 0, 5, 0, 0, 1}, []byte{5, 0, 0, 5, 0, 0, 3, 1}},
	{[]byte{0x80, 0}, []byte{0x80, 0, 3}},
	{[]byte{0, 0}, []byte{0, 0, 3}},
}

func TestH264EscapeRBSP(t *testing.T) {
	for _, c := range h264TestEscapeCases {
		got := h264EscapeRBSP(nil, c.in)
		if !bytes.Equal(got, c.want) {
			t.Errorf("escape(% x) = % x, want % x", c.in, got, c.want)
		}
		h264TestCheckEscaped(t, c.in, got)
	}
	// Zero-heavy random payloads, like dark I_PCM samples.
	rnd := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		b := make([]byte, rnd.IntN(64))
		for i := range b {
			if rnd.IntN(3) != 0 {
				b[i] = byte(rnd.IntN(5))
			} else {
				b[i] = byte(rnd.Uint32())
			}
		}
		h264TestCheckEscaped(t, b, h264EscapeRBSP([]byte{0x65}, b)[1:])
	}
}

func FuzzH264EscapeRBSP(f *testing.F) {
	for _, c := range h264TestEscapeCases {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h264TestCheckEscaped(t, b, h264EscapeRBSP(nil, b))
	})
}

func TestH264ParameterSets(t *testing.T) {
	// Expected levels worked out by hand from Table A-1 (MaxFS, MaxMBPS,
	// the §A.3.1 picture size limit 384*MaxMBPS/fps/MinCR for an all-I_PCM
	// picture of 386 bytes a macroblock, and MaxBR*1.2 for the IDRs' rate).
	cases := []struct {
		w, h, fps, gop int
		level          uint8
	}{
		{640, 360, 30, 30, 32},   // 920 MBs: 355 KB IDRs exceed 3.1's 346 KB
		{1280, 720, 30, 30, 41},  // 3600 MBs: 4.0 has MinCR 4, 4.1 MinCR 2
		{1280, 720, 30, 60, 41},  //
		{1280, 720, 60, 60, 42},  // 4.1's picture size limit halves at 60 fps
		{1920, 1080, 30, 30, 42}, // 8160 MBs
		{320, 240, 30, 30, 21},   // 300 MBs: 1.3 and 2 are too slow for the IDR size
		{352, 202, 15, 15, 13},   // 22x13 MBs, cropped both ways
		{226, 34, 5, 5, 11},      // level 1's 64 kbit/s is too little
		{7680, 64, 1, 1, 51},     // 480 MBs wide needs MaxFS >= 480^2/8
		{3840, 2160, 30, 30, 52}, // only 5.2's MaxMBPS takes the IDR size
		{1280, 720, 30, 1, 52},   // all-IDR exceeds every level's bit rate: the top
	}
	for _, c := range cases {
		enc, err := NewH264Encoder(H264EncoderConfig{Width: c.w, Height: c.h, FPS: c.fps, GOP: c.gop})
		if err != nil {
			t.Fatalf("%dx%d: %v", c.w, c.h, err)
		}
		sps := enc.SPS()
		if sps[0]&0x1f != h264NALSPS || enc.PPS()[0]&0x1f != h264NALPPS {
			t.Fatalf("NAL types %d %d", sps[0]&0x1f, enc.PPS()[0]&0x1f)
		}
		var p mch264.SPS
		if err := p.Unmarshal(sps); err != nil {
			t.Fatalf("%dx%d: SPS does not parse: %v", c.w, c.h, err)
		}
		if p.Width() != c.w || p.Height() != c.h {
			t.Errorf("%dx%d: SPS says %dx%d", c.w, c.h, p.Width(), p.Height())
		}
		if p.FPS() != float64(c.fps) {
			t.Errorf("%dx%d@%d: SPS says %v fps", c.w, c.h, c.fps, p.FPS())
		}
		if p.ProfileIdc != 66 || p.LevelIdc != c.level {
			t.Errorf("%dx%d@%d gop %d: profile %d level %d, want 66 level %d",
				c.w, c.h, c.fps, c.gop, p.ProfileIdc, p.LevelIdc, c.level)
		}
		if p.VUI == nil || p.VUI.BitstreamRestriction == nil || p.VUI.BitstreamRestriction.MaxNumReorderFrames != 0 {
			t.Errorf("%dx%d: no bitstream restriction with zero reordering", c.w, c.h)
		}
		h264TestCheckEscaped(t, mch264.EmulationPreventionRemove(sps), sps)
	}
}

func TestH264EncoderConfigErrors(t *testing.T) {
	for _, cfg := range []H264EncoderConfig{
		{Width: 0, Height: 240, FPS: 30},
		{Width: 321, Height: 240, FPS: 30},
		{Width: 320, Height: 241, FPS: 30},
		{Width: 320, Height: 240, FPS: 0},
		{Width: 320, Height: 240, FPS: 30, GOP: -1},
		{Width: 8704, Height: 8704, FPS: 1},
	} {
		if _, err := NewH264Encoder(cfg); !errors.Is(err, ErrCameraConfig) {
			t.Errorf("%+v: err = %v, want ErrCameraConfig", cfg, err)
		}
	}
	enc, err := NewH264Encoder(H264EncoderConfig{Width: 320, Height: 240, FPS: 30})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := enc.Encode(image.NewYCbCr(image.Rect(0, 0, 320, 242), image.YCbCrSubsampleRatio420)); !errors.Is(err, ErrCameraConfig) {
		t.Errorf("wrong size frame: err = %v", err)
	}
	if _, _, err := enc.Encode(image.NewYCbCr(image.Rect(0, 0, 320, 240), image.YCbCrSubsampleRatio444)); !errors.Is(err, ErrCameraConfig) {
		t.Errorf("4:4:4 frame: err = %v", err)
	}
	if _, _, err := enc.Encode(nil); !errors.Is(err, ErrCameraConfig) {
		t.Errorf("nil frame: err = %v", err)
	}
}

func h264TestNALTypes(au [][]byte) []int {
	var ts []int
	for _, n := range au {
		ts = append(ts, int(n[0]&0x1f))
	}
	return ts
}

func TestH264EncoderStructure(t *testing.T) {
	const w, h = 320, 240
	enc, err := NewH264Encoder(H264EncoderConfig{Width: w, Height: h, FPS: 30, GOP: 4})
	if err != nil {
		t.Fatal(err)
	}
	frame := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	for _, plane := range [][]byte{frame.Y, frame.Cb, frame.Cr} {
		for i := range plane {
			plane[i] = 100 // no zeros, so no emulation prevention bytes
		}
	}
	mbs := (w / 16) * (h / 16)
	for i := range 10 {
		if i == 6 {
			enc.ForceIDR()
		}
		if i == 2 {
			frame.Y[5*frame.YStride+40] = 200 // one macroblock changes
		}
		au, idr, err := enc.Encode(frame)
		if err != nil {
			t.Fatal(err)
		}
		// IDRs at 0 and 4, forced at 6, and the GOP restarts there: 10.
		wantIDR := i == 0 || i == 4 || i == 6
		if idr != wantIDR {
			t.Fatalf("picture %d: idr = %v", i, idr)
		}
		types := fmt.Sprint(h264TestNALTypes(au))
		for _, n := range au {
			if n[0]&0x80 != 0 || n[0]>>5 == 0 {
				t.Fatalf("picture %d: NAL header %02x: forbidden bit or non-reference", i, n[0])
			}
			h264TestCheckEscaped(t, mch264.EmulationPreventionRemove(n), n)
		}
		switch {
		case idr:
			if types != "[7 8 5]" {
				t.Fatalf("picture %d: NAL types %s, want SPS PPS IDR", i, types)
			}
			if !mch264.IsRandomAccess(au) {
				t.Fatalf("picture %d: not random access", i)
			}
			// A flat picture: the first macroblock has no neighbours to
			// predict from and is I_PCM; every other one is predicted
			// exactly, in a few bits.
			if n := len(au[2]); n < h264MBBytes || n > h264MBBytes+2*mbs+32 {
				t.Fatalf("flat IDR is %d bytes, want one I_PCM macroblock and %d predicted ones", n, mbs-1)
			}
		default:
			if types != "[1]" {
				t.Fatalf("picture %d: NAL types %s, want one non-IDR slice", i, types)
			}
			n := len(au[0])
			if i == 2 && (n < h264MBBytes || n > h264MBBytes+32) {
				t.Fatalf("picture %d with one changed macroblock is %d bytes", i, n)
			}
			if i != 2 && n > 16 {
				t.Fatalf("unchanged picture %d is %d bytes", i, n)
			}
		}
	}
}

// h264TestSlice is the part of a slice header the tests check.
type h264TestSlice struct {
	idr       bool
	sliceType uint32
	frameNum  uint32
	idrPicID  uint32
}

// h264TestParseSlice reads the start of a slice header (§7.3.3) as the
// encoder writes it: first_mb_in_slice, slice_type, pic_parameter_set_id,
// frame_num, idr_pic_id.
func h264TestParseSlice(t *testing.T, nal []byte) h264TestSlice {
	t.Helper()
	rbsp := mch264.EmulationPreventionRemove(nal)
	pos := 8 // the NAL header
	bit := func() uint32 {
		if pos >= 8*len(rbsp) {
			t.Fatalf("slice header runs past the NAL unit")
		}
		b := uint32(rbsp[pos/8]>>(7-pos%8)) & 1
		pos++
		return b
	}
	u := func(n int) uint32 {
		v := uint32(0)
		for range n {
			v = v<<1 | bit()
		}
		return v
	}
	ue := func() uint32 {
		zeros := 0
		for bit() == 0 {
			zeros++
		}
		return (1<<zeros - 1) + u(zeros)
	}
	var sh h264TestSlice
	sh.idr = nal[0]&0x1f == h264NALIDR
	if first := ue(); first != 0 {
		t.Fatalf("first_mb_in_slice %d", first)
	}
	sh.sliceType = ue()
	if pps := ue(); pps != 0 {
		t.Fatalf("pic_parameter_set_id %d", pps)
	}
	sh.frameNum = u(h264Log2MaxFrameNum)
	if sh.idr {
		sh.idrPicID = ue()
	}
	return sh
}

// TestH264SliceHeaders checks the header fields decoders rely on but
// FFmpeg forgives: frame_num counts reference pictures modulo 256 from 0
// at each IDR, and consecutive IDRs have different idr_pic_id.
func TestH264SliceHeaders(t *testing.T) {
	const gop = 300
	enc, err := NewH264Encoder(H264EncoderConfig{Width: 64, Height: 32, FPS: 30, GOP: gop})
	if err != nil {
		t.Fatal(err)
	}
	frame := image.NewYCbCr(image.Rect(0, 0, 64, 32), image.YCbCrSubsampleRatio420)
	var lastIDR *h264TestSlice
	for i := range 2*gop + 5 {
		frame.Y[0] = byte(i) // keep some pictures changing
		au, idr, err := enc.Encode(frame)
		if err != nil {
			t.Fatal(err)
		}
		sh := h264TestParseSlice(t, au[len(au)-1])
		if sh.idr != idr || idr != (i%gop == 0) {
			t.Fatalf("picture %d: idr %v, NAL says %v", i, idr, sh.idr)
		}
		wantType := uint32(h264SliceTypeP)
		if idr {
			wantType = h264SliceTypeI
		}
		if sh.sliceType != wantType {
			t.Fatalf("picture %d: slice_type %d, want %d", i, sh.sliceType, wantType)
		}
		if want := uint32(i%gop) % 256; sh.frameNum != want {
			t.Fatalf("picture %d: frame_num %d, want %d", i, sh.frameNum, want)
		}
		if idr {
			if lastIDR != nil && lastIDR.idrPicID == sh.idrPicID {
				t.Fatalf("picture %d: idr_pic_id %d repeats", i, sh.idrPicID)
			}
			lastIDR = &sh
		}
	}
}

// h264TestFFmpeg decodes an Annex-B stream of aus with ffmpeg, treating
// every decoder complaint as an error, and returns the decoded 4:2:0
// pictures. The test is skipped when ffmpeg is not installed.
func h264TestFFmpeg(t *testing.T, aus [][][]byte, w, h int) []*image.YCbCr {
	t.Helper()
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Skip("ffmpeg not on PATH: install it (Debian: apt-get install -y ffmpeg) to run the decode checks")
	}
	var stream bytes.Buffer
	for _, au := range aus {
		b, err := mch264.AnnexB(au).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		stream.Write(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, ffmpeg, "-nostdin", "-hide_banner", "-v", "error", "-err_detect", "explode",
		"-f", "h264", "-i", "pipe:0", "-vsync", "passthrough", "-f", "rawvideo", "-pix_fmt", "yuv420p", "pipe:1")
	cmd.Stdin = &stream
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("ffmpeg: %v: %s", err, stderr.String())
	}
	if msg := strings.TrimSpace(stderr.String()); msg != "" {
		t.Fatalf("ffmpeg complained: %s", msg)
	}
	size := w*h + 2*((w+1)/2)*((h+1)/2)
	if stdout.Len()%size != 0 {
		t.Fatalf("ffmpeg output %d bytes, not a whole number of %dx%d pictures", stdout.Len(), w, h)
	}
	var pics []*image.YCbCr
	raw := stdout.Bytes()
	for off := 0; off < len(raw); off += size {
		p := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
		copy(p.Y, raw[off:off+w*h])
		copy(p.Cb, raw[off+w*h:off+w*h+len(p.Cb)])
		copy(p.Cr, raw[off+w*h+len(p.Cb):off+size])
		pics = append(pics, p)
	}
	return pics
}

func h264TestSamePicture(a, b *image.YCbCr) bool {
	if a.Rect != b.Rect {
		return false
	}
	w, h := a.Rect.Dx(), a.Rect.Dy()
	for y := range h {
		if !bytes.Equal(a.Y[a.YOffset(0, y):a.YOffset(0, y)+w], b.Y[b.YOffset(0, y):b.YOffset(0, y)+w]) {
			return false
		}
	}
	cw := (w + 1) / 2
	for y := 0; y < h; y += 2 {
		ai, bi := a.COffset(0, y), b.COffset(0, y)
		if !bytes.Equal(a.Cb[ai:ai+cw], b.Cb[bi:bi+cw]) || !bytes.Equal(a.Cr[ai:ai+cw], b.Cr[bi:bi+cw]) {
			return false
		}
	}
	return true
}

func h264TestClone(p *image.YCbCr) *image.YCbCr {
	c := *p
	c.Y = bytes.Clone(p.Y)
	c.Cb = bytes.Clone(p.Cb)
	c.Cr = bytes.Clone(p.Cr)
	return &c
}

// TestH264DecodesWithFFmpeg encodes the camera scene and checks that FFmpeg
// decodes every picture without complaint, at the right size, identical
// to the source, with the stamps that were burned in.
func TestH264DecodesWithFFmpeg(t *testing.T) {
	for _, c := range []struct{ w, h, gop, n int }{
		{352, 202, 10, 60}, // cropped both ways, 4-pixel stamp cells
		{640, 360, 30, 45}, // the reference's case: 23 macroblock rows, crop 8 lines
		{896, 64, 7, 20},   // 16-pixel stamp cells
	} {
		t.Run(fmt.Sprintf("%dx%d", c.w, c.h), func(t *testing.T) {
			enc, err := NewH264Encoder(H264EncoderConfig{Width: c.w, Height: c.h, FPS: 30, GOP: c.gop})
			if err != nil {
				t.Fatal(err)
			}
			scene, err := newCamScene(c.w, c.h, "sim 1")
			if err != nil {
				t.Fatal(err)
			}
			base := time.Date(2031, 5, 6, 7, 8, 9, 123e6, time.UTC)
			var aus [][][]byte
			var src []*image.YCbCr
			var stamps []time.Time
			for i := range c.n {
				ts := base.Add(time.Duration(i) * 33333 * time.Microsecond)
				pic := scene.render(ts)
				au, _, err := enc.Encode(pic)
				if err != nil {
					t.Fatal(err)
				}
				aus = append(aus, au)
				src = append(src, h264TestClone(pic))
				stamps = append(stamps, ts.Truncate(time.Millisecond))
			}
			got := h264TestFFmpeg(t, aus, c.w, c.h)
			if len(got) != c.n {
				t.Fatalf("ffmpeg decoded %d pictures, want %d", len(got), c.n)
			}
			for i, p := range got {
				if !h264TestSamePicture(p, src[i]) {
					t.Fatalf("picture %d differs from the source", i)
				}
				st, ok := DecodeStamp(p)
				if !ok || !st.Equal(stamps[i]) {
					t.Fatalf("picture %d: stamp %v %v, want %v", i, st, ok, stamps[i])
				}
			}
		})
	}
}

// TestH264RandomPicturesLossless is a property test: random pictures, and
// random partial changes between them, always decode in FFmpeg to exactly
// the source, zero samples and frame edges included.
func TestH264RandomPicturesLossless(t *testing.T) {
	rnd := rand.New(rand.NewPCG(7, 11))
	for run := range 4 {
		w := 2 * (8 + rnd.IntN(100))
		h := 2 * (8 + rnd.IntN(60))
		gop := 1 + rnd.IntN(8)
		enc, err := NewH264Encoder(H264EncoderConfig{Width: w, Height: h, FPS: 25, GOP: gop})
		if err != nil {
			t.Fatal(err)
		}
		pic := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
		for _, plane := range [][]byte{pic.Y, pic.Cb, pic.Cr} {
			for i := range plane {
				plane[i] = byte(rnd.Uint32())
			}
		}
		var aus [][][]byte
		var src []*image.YCbCr
		for range 12 {
			// Change a few random rectangles, some to zeros.
			for range rnd.IntN(4) {
				x, y := rnd.IntN(w), rnd.IntN(h)
				rw, rh := 1+rnd.IntN(40), 1+rnd.IntN(40)
				v := byte(rnd.Uint32())
				if rnd.IntN(2) == 0 {
					v = 0
				}
				for yy := y; yy < min(h, y+rh); yy++ {
					for xx := x; xx < min(w, x+rw); xx++ {
						pic.Y[pic.YOffset(xx, yy)] = v
						pic.Cb[pic.COffset(xx, yy)] = v ^ byte(xx)
					}
				}
			}
			au, _, err := enc.Encode(pic)
			if err != nil {
				t.Fatal(err)
			}
			aus = append(aus, au)
			src = append(src, h264TestClone(pic))
		}
		got := h264TestFFmpeg(t, aus, w, h)
		if len(got) != len(src) {
			t.Fatalf("run %d (%dx%d gop %d): decoded %d pictures, want %d", run, w, h, gop, len(got), len(src))
		}
		for i := range got {
			if !h264TestSamePicture(got[i], src[i]) {
				t.Fatalf("run %d (%dx%d gop %d): picture %d differs", run, w, h, gop, i)
			}
		}
	}
}

// BenchmarkH264Encode720p renders and encodes the camera scene at
// 1280x720, GOP 30, and reports the average bytes per picture and the IDR
// and P picture sizes. At 30 fps the CPU share of one core is
// ns/op / 33.3 ms.
func BenchmarkH264Encode720p(b *testing.B) {
	const w, h, gop = 1280, 720, 30
	enc, err := NewH264Encoder(H264EncoderConfig{Width: w, Height: h, FPS: 30, GOP: gop})
	if err != nil {
		b.Fatal(err)
	}
	scene, err := newCamScene(w, h, "sim 1")
	if err != nil {
		b.Fatal(err)
	}
	t0 := time.Unix(1_900_000_000, 0)
	var total, idrBytes, pBytes, idrs, ps int
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		au, idr, err := enc.Encode(scene.render(t0.Add(time.Duration(i) * 33333 * time.Microsecond)))
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for _, nal := range au {
			n += len(nal)
		}
		total += n
		if idr {
			idrBytes += n
			idrs++
		} else {
			pBytes += n
			ps++
		}
	}
	frames := idrs + ps
	b.ReportMetric(float64(total)/float64(frames), "bytes/frame")
	if idrs > 0 {
		b.ReportMetric(float64(idrBytes)/float64(idrs), "IDR-bytes")
	}
	if ps > 0 {
		b.ReportMetric(float64(pBytes)/float64(ps), "P-bytes")
	}
	b.ReportMetric(float64(total)/float64(frames)*8*30/1e6, "Mbit/s@30fps")
}

// h264TestPredictedPicture builds a w x h picture macroblock by macroblock
// in raster order: each one is either random samples or exactly what an
// Intra_16x16 luma mode and a chroma mode predict from the macroblocks
// already built (written here from §8.3.3 and §8.3.4 without the encoder's
// code, so the two readings of the spec check each other and FFmpeg checks
// both). It returns how many macroblocks were made predictable.
func h264TestPredictedPicture(rnd *rand.Rand, w, h int) (*image.YCbCr, int) {
	pic := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	predicted := 0
	// Sample accessors clamp nothing: w and h are multiples of 16 here.
	type plane struct {
		pix    []byte
		stride int
		size   int // 16 luma, 8 chroma
	}
	planes := func() []plane {
		return []plane{{pic.Y, pic.YStride, 16}, {pic.Cb, pic.CStride, 8}, {pic.Cr, pic.CStride, 8}}
	}
	for mby := 0; mby < h/16; mby++ {
		for mbx := 0; mbx < w/16; mbx++ {
			if rnd.IntN(3) == 0 {
				for _, p := range planes() {
					x0, y0 := mbx*p.size, mby*p.size
					flat := rnd.IntN(2) == 0 // flat random blocks give DC a chance later
					v := byte(rnd.Uint32())
					for y := y0; y < y0+p.size; y++ {
						for x := x0; x < x0+p.size; x++ {
							if !flat {
								v = byte(rnd.Uint32())
							}
							p.pix[y*p.stride+x] = v
						}
					}
				}
				continue
			}
			predicted++
			lumaMode, chromaMode := rnd.IntN(3), rnd.IntN(3) // luma: V H DC; chroma: DC H V
			if mby == 0 && (lumaMode == 0 || chromaMode == 2) || mbx == 0 && (lumaMode == 1 || chromaMode == 1) {
				lumaMode, chromaMode = 2, 0 // DC works with whatever is available
			}
			for pi, p := range planes() {
				x0, y0, n := mbx*p.size, mby*p.size, p.size
				at := func(x, y int) int { return int(p.pix[y*p.stride+x]) }
				set := func(x, y, v int) { p.pix[y*p.stride+x] = byte(v) }
				mode := lumaMode
				if pi > 0 {
					mode = [3]int{2, 1, 0}[chromaMode] // map chroma DC/H/V onto the luma numbering
				}
				switch mode {
				case 0: // vertical
					for y := range n {
						for x := range n {
							set(x0+x, y0+y, at(x0+x, y0-1))
						}
					}
				case 1: // horizontal
					for y := range n {
						for x := range n {
							set(x0+x, y0+y, at(x0-1, y0+y))
						}
					}
				case 2: // DC: the whole block for luma, each 4x4 block for chroma
					blk := n
					if pi > 0 {
						blk = 4
					}
					for by := 0; by < n; by += blk {
						for bx := 0; bx < n; bx += blk {
							haveTop, haveLeft := mby > 0, mbx > 0
							if pi > 0 && bx > 0 && by == 0 && haveTop {
								haveLeft = false
							}
							if pi > 0 && bx == 0 && by > 0 && haveLeft {
								haveTop = false
							}
							sum, cnt := 0, 0
							if haveTop {
								for x := bx; x < bx+blk; x++ {
									sum += at(x0+x, y0-1)
								}
								cnt += blk
							}
							if haveLeft {
								for y := by; y < by+blk; y++ {
									sum += at(x0-1, y0+y)
								}
								cnt += blk
							}
							dc := 128
							if cnt > 0 {
								dc = (sum + cnt/2) / cnt
							}
							for y := by; y < by+blk; y++ {
								for x := bx; x < bx+blk; x++ {
									set(x0+x, y0+y, dc)
								}
							}
						}
					}
				}
			}
		}
	}
	return pic, predicted
}

// TestH264IntraPredictionLossless: IDRs made of random and predictable
// macroblocks in every luma and chroma mode, next to I_PCM and predicted
// neighbours (so every coeff_token table for an empty DC block is used),
// decode in FFmpeg to exactly the source, and the predictable macroblocks
// are coded in a few bits rather than as I_PCM.
func TestH264IntraPredictionLossless(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 5))
	for run := range 4 {
		w, h := 16*(2+rnd.IntN(12)), 16*(2+rnd.IntN(8))
		enc, err := NewH264Encoder(H264EncoderConfig{Width: w, Height: h, FPS: 25, GOP: 1})
		if err != nil {
			t.Fatal(err)
		}
		var aus [][][]byte
		var src []*image.YCbCr
		for range 3 {
			pic, predicted := h264TestPredictedPicture(rnd, w, h)
			au, idr, err := enc.Encode(pic)
			if err != nil || !idr {
				t.Fatalf("encode: %v, idr %v", err, idr)
			}
			pcm := (w/16)*(h/16) - predicted
			if n := len(au[2]); n > pcm*(h264MBBytes+4)+predicted*2+64 {
				t.Fatalf("run %d: IDR of %d I_PCM and %d predictable macroblocks is %d bytes: prediction missed",
					run, pcm, predicted, n)
			}
			aus = append(aus, au)
			src = append(src, h264TestClone(pic))
		}
		got := h264TestFFmpeg(t, aus, w, h)
		if len(got) != len(src) {
			t.Fatalf("run %d: decoded %d pictures, want %d", run, len(got), len(src))
		}
		for i := range got {
			if !h264TestSamePicture(got[i], src[i]) {
				t.Fatalf("run %d (%dx%d): picture %d differs from the source", run, w, h, i)
			}
		}
	}
}
