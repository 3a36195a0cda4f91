package sitl

import (
	"errors"
	"image"
	"image/color"
	"image/draw"
	"math/rand/v2"
	"testing"
	"time"
)

func TestCamStampCellWidth(t *testing.T) {
	for _, c := range []struct{ w, cw int }{
		{223, 0}, {224, 4}, {447, 4}, {448, 8}, {640, 8}, {895, 8}, {896, 16}, {1280, 16}, {3840, 16},
	} {
		if got := camStampCellWidth(c.w); got != c.cw {
			t.Errorf("cell width for %d = %d, want %d", c.w, got, c.cw)
		}
	}
}

// camTestStampImage returns a scene picture stamped with ts.
func camTestStampImage(t *testing.T, w, h int, ts time.Time) *image.YCbCr {
	t.Helper()
	s, err := newCamScene(w, h, "cam 7")
	if err != nil {
		t.Fatal(err)
	}
	return s.render(ts)
}

func TestDecodeStampRoundTrip(t *testing.T) {
	times := []time.Time{
		time.UnixMilli(0),
		time.UnixMilli(1),
		time.Date(2026, 3, 4, 5, 6, 7, 891e6, time.UTC),
		time.UnixMilli(1<<47 + 12345),
		time.UnixMilli(1<<48 - 1),
	}
	for _, w := range []int{224, 300, 448, 640, 896, 1280} {
		for _, ts := range times {
			img := camTestStampImage(t, w, 64, ts)
			got, ok := DecodeStamp(img)
			if !ok || !got.Equal(ts) {
				t.Fatalf("width %d: DecodeStamp = %v %v, want %v", w, got, ok, ts)
			}
			// The same picture as the browser sees it: RGBA.
			rgba := image.NewRGBA(img.Bounds())
			draw.Draw(rgba, rgba.Bounds(), img, image.Point{}, draw.Src)
			if got, ok := DecodeStamp(rgba); !ok || !got.Equal(ts) {
				t.Fatalf("width %d RGBA: DecodeStamp = %v %v, want %v", w, got, ok, ts)
			}
			// A sub-image keeps working off its own origin.
			big := image.NewGray(image.Rect(-10, -20, w+30, 80))
			draw.Draw(big, image.Rect(5, 7, 5+w, 7+64), img, image.Point{}, draw.Src)
			sub := big.SubImage(image.Rect(5, 7, 5+w, 7+64))
			if got, ok := DecodeStamp(sub); !ok || !got.Equal(ts) {
				t.Fatalf("width %d sub-image: DecodeStamp = %v %v, want %v", w, got, ok, ts)
			}
		}
	}
}

func TestDecodeStampToleratesNoise(t *testing.T) {
	ts := time.Date(2030, 1, 2, 3, 4, 5, 678e6, time.UTC)
	img := camTestStampImage(t, 640, 64, ts)
	rnd := rand.New(rand.NewPCG(3, 4))
	for i := range img.Y {
		v := int(img.Y[i]) + rnd.IntN(141) - 70 // +-70 around 16 and 235
		img.Y[i] = uint8(max(0, min(255, v)))
	}
	if got, ok := DecodeStamp(img); !ok || !got.Equal(ts) {
		t.Fatalf("noisy stamp: %v %v, want %v", got, ok, ts)
	}
	// A generic image type goes through the slow path.
	pal := image.NewPaletted(img.Bounds(), color.Palette{color.Gray{0}, color.Gray{255}})
	draw.Draw(pal, pal.Bounds(), img, image.Point{}, draw.Src)
	if got, ok := DecodeStamp(pal); !ok || !got.Equal(ts) {
		t.Fatalf("paletted stamp: %v %v, want %v", got, ok, ts)
	}
}

func TestDecodeStampRejects(t *testing.T) {
	ts := time.Date(2030, 1, 2, 3, 4, 5, 678e6, time.UTC)
	cw := camStampCellWidth(640)
	setCell := func(img *image.YCbCr, k int, v uint8) {
		for y := range camStampRows {
			for x := k * cw; x < (k+1)*cw; x++ {
				img.Y[img.YOffset(x, y)] = v
			}
		}
	}
	flip := func(k int) func(*image.YCbCr) {
		return func(img *image.YCbCr) {
			if img.Y[img.YOffset(k*cw+cw/2, 8)] > 128 {
				setCell(img, k, camStampZero)
			} else {
				setCell(img, k, camStampOne)
			}
		}
	}
	cases := map[string]func(*image.YCbCr){
		"black": func(img *image.YCbCr) {
			for i := range img.Y {
				img.Y[i] = 16
			}
		},
		"white": func(img *image.YCbCr) {
			for i := range img.Y {
				img.Y[i] = 235
			}
		},
		"start marker":  flip(1),
		"stop marker":   flip(camStampCells - 1),
		"one data bit":  flip(camStampDataCell + 20),
		"parity bit":    flip(camStampParity),
		"two data bits": func(img *image.YCbCr) { flip(camStampDataCell + 3)(img); flip(camStampDataCell + 40)(img) },
	}
	for name, spoil := range cases {
		img := camTestStampImage(t, 640, 64, ts)
		spoil(img)
		got, ok := DecodeStamp(img)
		if name == "two data bits" {
			// Parity cannot see an even number of errors; the value must differ.
			if ok && got.Equal(ts) {
				t.Errorf("%s: decoded the original time", name)
			}
			continue
		}
		if ok {
			t.Errorf("%s: DecodeStamp accepted %v", name, got)
		}
	}
	if _, ok := DecodeStamp(nil); ok {
		t.Error("nil image accepted")
	}
	if _, ok := DecodeStamp(image.NewGray(image.Rect(0, 0, 223, 64))); ok {
		t.Error("too narrow image accepted")
	}
	if _, ok := DecodeStamp(image.NewGray(image.Rect(0, 0, 640, 15))); ok {
		t.Error("too short image accepted")
	}
}

func TestCamSceneConfig(t *testing.T) {
	for _, c := range []struct{ w, h int }{{222, 64}, {640, 30}, {641, 360}, {640, 361}} {
		if _, err := newCamScene(c.w, c.h, "x"); !errors.Is(err, ErrCameraConfig) {
			t.Errorf("%dx%d: err = %v", c.w, c.h, err)
		}
	}
}

// TestCamSceneSmallChanges checks the property the bit rate depends on:
// from one picture to the next only the box edges and some stamp cells
// change, a small fraction of the macroblocks, and the label and box
// actually appear.
func TestCamSceneSmallChanges(t *testing.T) {
	const w, h = 1280, 720
	s, err := newCamScene(w, h, "SIM 1")
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Unix(1_800_000_000, 0)
	prev := h264TestClone(s.render(t0))
	mbs := (w / 16) * (h / 16)
	var mb1, mb2 [h264MBBytes]byte
	for i := 1; i < 60; i++ {
		cur := s.render(t0.Add(time.Duration(i) * 33 * time.Millisecond))
		changed := 0
		for mby := range h / 16 {
			for mbx := range w / 16 {
				h264GatherMB(prev, mbx, mby, mb1[:])
				h264GatherMB(cur, mbx, mby, mb2[:])
				if mb1 != mb2 {
					changed++
				}
			}
		}
		if changed == 0 || changed > mbs/40 {
			t.Fatalf("picture %d: %d of %d macroblocks changed", i, changed, mbs)
		}
		prev = h264TestClone(cur)
	}
	// The box colour is in the picture, and the label is drawn in white.
	var sawBox, sawLabel bool
	for y := camStampRows; y < h; y++ {
		for x := 0; x < w; x++ {
			v := prev.Y[prev.YOffset(x, y)]
			sawBox = sawBox || v == s.colour[0] && prev.Cr[prev.COffset(x, y)] == s.colour[2]
			sawLabel = sawLabel || v == 235 && y < 100
		}
	}
	if !sawBox || !sawLabel {
		t.Fatalf("box drawn %v, label drawn %v", sawBox, sawLabel)
	}
}
