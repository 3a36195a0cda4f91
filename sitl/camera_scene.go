package sitl

import (
	"fmt"
	"hash/fnv"
	"image"
	"image/color"
	"strings"
	"time"
)

// The stamp layout; DecodeStamp's comment is its specification.
const (
	camStampCells    = 56
	camStampBits     = 48
	camStampRows     = 16
	camStampStart    = "1011"
	camStampStop     = "010"
	camStampDataCell = len(camStampStart)              // first data cell
	camStampParity   = camStampDataCell + camStampBits // parity cell
	camStampStopCell = camStampParity + 1              // first stop cell
	camStampOne      = 235                             // luma of a 1 cell
	camStampZero     = 16                              // luma of a 0 cell
	camStampThresh   = 126                             // decision level on luma or RGB
	camStampMinWidth = camStampCells * 4               // narrowest picture with a stamp
	camStampBandLuma = 48                              // the band right of the cells
	camMinHeight     = 32                              // stamp band plus some picture
	camNeutralChroma = 128
)

// camStampCellWidth returns the stamp cell width for a picture w pixels
// wide, or 0 when the picture is too narrow for a stamp.
func camStampCellWidth(w int) int {
	for cw := 16; cw >= 4; cw /= 2 {
		if camStampCells*cw <= w {
			return cw
		}
	}
	return 0
}

// camStampPattern returns the 56 cell values (0 or 1) for t.
func camStampPattern(t time.Time) [camStampCells]byte {
	var p [camStampCells]byte
	for i := range len(camStampStart) {
		p[i] = camStampStart[i] - '0'
	}
	ms := uint64(t.UnixMilli()) & (1<<camStampBits - 1)
	parity := byte(0)
	for i := range camStampBits {
		b := byte(ms>>(camStampBits-1-i)) & 1
		p[camStampDataCell+i] = b
		parity ^= b
	}
	p[camStampParity] = parity
	for i := range len(camStampStop) {
		p[camStampStopCell+i] = camStampStop[i] - '0'
	}
	return p
}

// DecodeStamp reads the capture time stamp that the simulated camera burns
// into every picture. img may be the decoder's *image.YCbCr or *image.Gray
// luma plane, or an RGB image such as a canvas capture or a screenshot.
// ok is false when the picture carries no valid stamp.
//
// The layout, for writing readers elsewhere (a browser reads it with
// canvas getImageData):
//
//   - The stamp is a row of 56 cells along the top edge of the picture,
//     starting at x = 0. Every cell is 16 pixels tall (y 0..15) and cw
//     pixels wide, where cw depends only on the picture width W:
//     cw = 16 if W >= 896, 8 if W >= 448, 4 if W >= 224. Narrower pictures
//     carry no stamp. Cell k spans x = k*cw .. k*cw+cw-1.
//   - A cell is a 1 when its luma is 235 (white) and a 0 when it is 16
//     (black); chroma is neutral, so in RGB the cells are white (255) and
//     black (0). Read a cell by averaging the luma (or any RGB channel)
//     over its centre, x = k*cw+cw/4 .. k*cw+cw-cw/4-1 and y = 4..11, and
//     comparing with 126, about the midpoint of black and white both in
//     video range (16..235) and in full-range RGB (0..255). Sampling the
//     centres against the midpoint tolerates mild compression.
//   - Cells 0..3 are the start marker 1 0 1 1.
//   - Cells 4..51 are the capture time in Unix milliseconds as a 48-bit
//     unsigned number, most significant bit first (cell 4 is bit 47, cell
//     51 is bit 0). 48 bits last until the year 10889, so there is no wrap
//     to handle. JavaScript bitwise operators are 32-bit: build the number
//     with arithmetic (v = v*2 + bit), which is exact below 2^53.
//   - Cell 52 is an even-parity bit: the number of ones in cells 4..52 is
//     even.
//   - Cells 53..55 are the stop marker 0 1 0.
//   - Right of cell 55 the 16-pixel band is dark grey, not part of the stamp.
//
// A picture whose markers or parity do not check out carries no valid
// stamp; an all-black frame (which a browser can paint before the first
// decoded picture) fails at cell 0. The time is the camera clock at
// capture, so on a viewer sharing that clock, now minus stamp is the
// glass-to-glass latency.
func DecodeStamp(img image.Image) (t time.Time, ok bool) {
	if img == nil {
		return time.Time{}, false
	}
	b := img.Bounds()
	cw := camStampCellWidth(b.Dx())
	if cw == 0 || b.Dy() < camStampRows {
		return time.Time{}, false
	}
	luma := camLumaReader(img)
	var cells [camStampCells]byte
	for k := range camStampCells {
		x0 := b.Min.X + k*cw + cw/4
		x1 := b.Min.X + k*cw + cw - cw/4
		sum, n := 0, 0
		for y := b.Min.Y + 4; y < b.Min.Y+12; y++ {
			for x := x0; x < x1; x++ {
				sum += int(luma(x, y))
				n++
			}
		}
		if sum >= camStampThresh*n {
			cells[k] = 1
		}
	}
	for i := range len(camStampStart) {
		if cells[i] != camStampStart[i]-'0' {
			return time.Time{}, false
		}
	}
	for i := range len(camStampStop) {
		if cells[camStampStopCell+i] != camStampStop[i]-'0' {
			return time.Time{}, false
		}
	}
	var ms uint64
	parity := byte(0)
	for i := range camStampBits {
		bit := cells[camStampDataCell+i]
		ms = ms<<1 | uint64(bit)
		parity ^= bit
	}
	if parity != cells[camStampParity] {
		return time.Time{}, false
	}
	return time.UnixMilli(int64(ms)), true
}

// camLumaReader returns a function giving an 8-bit luma-like level at
// (x, y): the Y sample for YCbCr and Gray pictures, a BT.601 weighting of
// R, G and B otherwise.
func camLumaReader(img image.Image) func(x, y int) uint8 {
	switch m := img.(type) {
	case *image.YCbCr:
		return func(x, y int) uint8 { return m.Y[m.YOffset(x, y)] }
	case *image.Gray:
		return func(x, y int) uint8 { return m.Pix[m.PixOffset(x, y)] }
	case *image.RGBA:
		return func(x, y int) uint8 {
			i := m.PixOffset(x, y)
			return camRGBLuma(uint32(m.Pix[i]), uint32(m.Pix[i+1]), uint32(m.Pix[i+2]))
		}
	case *image.NRGBA:
		return func(x, y int) uint8 {
			i := m.PixOffset(x, y)
			return camRGBLuma(uint32(m.Pix[i]), uint32(m.Pix[i+1]), uint32(m.Pix[i+2]))
		}
	default:
		return func(x, y int) uint8 {
			return color.GrayModel.Convert(img.At(x, y)).(color.Gray).Y
		}
	}
}

func camRGBLuma(r, g, b uint32) uint8 {
	return uint8((299*r + 587*g + 114*b + 500) / 1000)
}

// camScene draws the simulated camera's picture: a static background (sky,
// ground, the label), a solid box bouncing over it and the time stamp.
// Only the box's edges and a few stamp cells change from one picture to
// the next, which keeps the P pictures of the I_PCM/P_Skip encoder small.
type camScene struct {
	w, h    int
	bg      *image.YCbCr // the static picture, for erasing the box
	frame   *image.YCbCr // the picture handed to the encoder
	cw      int          // stamp cell width
	box     int          // box side, even
	vx, vy  int          // box speed in pixels per picture, even
	lastX   int          // where the box was drawn, -1 before the first picture
	lastY   int
	colour  [3]uint8 // Y, Cb, Cr of the box
	counter int      // pictures rendered
}

// newCamScene builds the background for a w x h picture labelled label.
func newCamScene(w, h int, label string) (*camScene, error) {
	if w < camStampMinWidth || h < camMinHeight || w%2 != 0 || h%2 != 0 {
		return nil, fmt.Errorf("%w: picture %dx%d must be even and at least %dx%d",
			ErrCameraConfig, w, h, camStampMinWidth, camMinHeight)
	}
	s := &camScene{
		w:     w,
		h:     h,
		cw:    camStampCellWidth(w),
		lastX: -1,
	}
	s.box = max(16, min(w, h-camStampRows)/5) &^ 1
	s.vx = max(2, w/160) &^ 1
	s.vy = max(2, h/180) &^ 1

	// Distinct labels get distinct box colours, so feeds side by side in a
	// command-centre grid are easy to tell apart.
	palette := [...][3]uint8{
		{81, 90, 240},   // red
		{145, 54, 34},   // green
		{41, 240, 110},  // blue
		{210, 16, 146},  // yellow
		{170, 166, 16},  // cyan
		{106, 202, 222}, // magenta
	}
	hsh := fnv.New32a()
	_, _ = hsh.Write([]byte(label))
	s.colour = palette[hsh.Sum32()%uint32(len(palette))]

	rect := image.Rect(0, 0, w, h)
	s.bg = image.NewYCbCr(rect, image.YCbCrSubsampleRatio420)
	// Sky above a horizon two fifths down, ground below: every row is one
	// colour, so the encoder predicts the background from the macroblock to
	// the left and the keyframe stays the size a real camera's is.
	horizon := 2 * h / 5
	for y := range h {
		luma := uint8(170 - 60*y/max(1, horizon)) // bright sky darkening towards the horizon
		if y >= horizon {
			luma = uint8(70 + 50*(y-horizon)/max(1, h-horizon)) // ground lighter towards the camera
		}
		row := s.bg.Y[s.bg.YOffset(0, y):][:w]
		for x := range row {
			row[x] = luma
		}
	}
	for cy := range (h + 1) / 2 {
		cb, cr := uint8(150-20*cy/max(1, (h+1)/2)), uint8(118) // bluish sky
		if 2*cy >= horizon {
			cb, cr = 110, uint8(124+12*cy/max(1, (h+1)/2)) // brownish ground
		}
		i := s.bg.COffset(0, 2*cy)
		for cx := range (w + 1) / 2 {
			s.bg.Cb[i+cx] = cb
			s.bg.Cr[i+cx] = cr
		}
	}
	s.drawTreeline(horizon)
	camFillRect(s.bg, 0, 0, w, camStampRows, camStampBandLuma, camNeutralChroma, camNeutralChroma)
	s.drawLabel(label)

	s.frame = image.NewYCbCr(rect, image.YCbCrSubsampleRatio420)
	copy(s.frame.Y, s.bg.Y)
	copy(s.frame.Cb, s.bg.Cb)
	copy(s.frame.Cr, s.bg.Cr)
	return s, nil
}

// render draws the next picture, stamped with t, and returns it. The
// returned picture is reused by the next call.
func (s *camScene) render(t time.Time) *image.YCbCr {
	if s.lastX >= 0 {
		camCopyRect(s.frame, s.bg, s.lastX, s.lastY, s.box, s.box)
	}
	// The box bounces between the picture edges, below the stamp band.
	x := camTriangle(s.counter*s.vx, s.w-s.box) &^ 1
	y := (camStampRows + camTriangle(s.counter*s.vy, s.h-camStampRows-s.box)) &^ 1
	camFillRect(s.frame, x, y, s.box, s.box, s.colour[0], s.colour[1], s.colour[2])
	s.lastX, s.lastY = x, y

	cells := camStampPattern(t)
	for k, bit := range cells {
		v := uint8(camStampZero)
		if bit == 1 {
			v = camStampOne
		}
		for row := range camStampRows {
			i := s.frame.YOffset(k*s.cw, row)
			line := s.frame.Y[i : i+s.cw]
			for j := range line {
				line[j] = v
			}
		}
	}
	s.counter++
	return s.frame
}

// camTriangle folds p into 0..span and back, a bounce.
func camTriangle(p, span int) int {
	if span <= 0 {
		return 0
	}
	m := p % (2 * span)
	if m > span {
		m = 2*span - m
	}
	return m
}

// camFillRect paints a rectangle (clipped to the picture) one colour. x, y,
// w and h should be even so the chroma samples line up with the luma.
func camFillRect(m *image.YCbCr, x, y, w, h int, yv, cb, cr uint8) {
	r := image.Rect(x, y, x+w, y+h).Intersect(m.Rect)
	if r.Empty() {
		return
	}
	for yy := r.Min.Y; yy < r.Max.Y; yy++ {
		i := m.YOffset(r.Min.X, yy)
		line := m.Y[i : i+r.Dx()]
		for j := range line {
			line[j] = yv
		}
	}
	for yy := r.Min.Y; yy < r.Max.Y; yy += 2 {
		for xx := r.Min.X; xx < r.Max.X; xx += 2 {
			i := m.COffset(xx, yy)
			m.Cb[i] = cb
			m.Cr[i] = cr
		}
	}
}

// camCopyRect copies a rectangle (clipped) from src to dst, same geometry.
func camCopyRect(dst, src *image.YCbCr, x, y, w, h int) {
	r := image.Rect(x, y, x+w, y+h).Intersect(dst.Rect)
	if r.Empty() {
		return
	}
	for yy := r.Min.Y; yy < r.Max.Y; yy++ {
		i := dst.YOffset(r.Min.X, yy)
		copy(dst.Y[i:i+r.Dx()], src.Y[i:i+r.Dx()])
	}
	cw := (r.Max.X+1)/2 - r.Min.X/2
	for yy := r.Min.Y; yy < r.Max.Y; yy += 2 {
		i := dst.COffset(r.Min.X, yy)
		copy(dst.Cb[i:i+cw], src.Cb[i:i+cw])
		copy(dst.Cr[i:i+cw], src.Cr[i:i+cw])
	}
}

// drawTreeline paints a band of fine, static texture along the horizon. No
// prediction reproduces it, so it is what makes the keyframe weigh what a
// real camera's does (about 120 KB at 1280x720, three times a P picture);
// being static it costs the P pictures nothing until the box uncovers it.
func (s *camScene) drawTreeline(horizon int) {
	band := max(16, s.h/15) &^ 1
	top := max(camStampRows, horizon-band)
	for y := top; y < horizon; y++ {
		row := s.bg.Y[s.bg.YOffset(0, y):][:s.w]
		for x := range row {
			// A fixed hash of the 2x2 cell: texture without a random source.
			hsh := uint32(x/2)*73856093 ^ uint32(y/2)*19349663
			row[x] = uint8(45 + (hsh>>9)%70)
		}
	}
	for y := top &^ 1; y < horizon; y += 2 { // greenish
		i := s.bg.COffset(0, y)
		for cx := range (s.w + 1) / 2 {
			s.bg.Cb[i+cx], s.bg.Cr[i+cx] = 112, 120
		}
	}
}

// drawLabel writes label in white block letters on a dark panel below the
// stamp band, into the background.
func (s *camScene) drawLabel(label string) {
	label = strings.ToUpper(strings.TrimSpace(label))
	if label == "" {
		return
	}
	scale := max(2, s.h/144) &^ 1
	adv := 6 * scale // glyph advance: 5 columns and a gap
	x0, y0 := 2*scale+8, camStampRows+8
	maxChars := (s.w - 2*x0) / adv
	if maxChars <= 0 || y0+9*scale > s.h {
		return
	}
	runes := []rune(label)
	if len(runes) > maxChars {
		runes = runes[:maxChars]
	}
	camFillRect(s.bg, x0-scale*2, y0-scale*2, len(runes)*adv+3*scale, 11*scale, 32, camNeutralChroma, camNeutralChroma)
	for i, r := range runes {
		g := camGlyph(r)
		for row, bitsRow := range g {
			for col := range 5 {
				if bitsRow[col] != '#' {
					continue
				}
				camFillRect(s.bg, x0+i*adv+col*scale, y0+row*scale, scale, scale, 235, camNeutralChroma, camNeutralChroma)
			}
		}
	}
}

// camGlyph returns a 5x7 bitmap of r ('#' set, '.' clear) for digits,
// capital letters and a little punctuation; other runes get a '?'.
func camGlyph(r rune) [7]string {
	switch r {
	case '0':
		return [7]string{".###.", "#...#", "#..##", "#.#.#", "##..#", "#...#", ".###."}
	case '1':
		return [7]string{"..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###."}
	case '2':
		return [7]string{".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####"}
	case '3':
		return [7]string{"#####", "...#.", "..#..", "...#.", "....#", "#...#", ".###."}
	case '4':
		return [7]string{"...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#."}
	case '5':
		return [7]string{"#####", "#....", "####.", "....#", "....#", "#...#", ".###."}
	case '6':
		return [7]string{"..##.", ".#...", "#....", "####.", "#...#", "#...#", ".###."}
	case '7':
		return [7]string{"#####", "....#", "...#.", "..#..", ".#...", ".#...", ".#..."}
	case '8':
		return [7]string{".###.", "#...#", "#...#", ".###.", "#...#", "#...#", ".###."}
	case '9':
		return [7]string{".###.", "#...#", "#...#", ".####", "....#", "...#.", ".##.."}
	case 'A':
		return [7]string{".###.", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"}
	case 'B':
		return [7]string{"####.", "#...#", "#...#", "####.", "#...#", "#...#", "####."}
	case 'C':
		return [7]string{".###.", "#...#", "#....", "#....", "#....", "#...#", ".###."}
	case 'D':
		return [7]string{"###..", "#..#.", "#...#", "#...#", "#...#", "#..#.", "###.."}
	case 'E':
		return [7]string{"#####", "#....", "#....", "####.", "#....", "#....", "#####"}
	case 'F':
		return [7]string{"#####", "#....", "#....", "####.", "#....", "#....", "#...."}
	case 'G':
		return [7]string{".###.", "#...#", "#....", "#.###", "#...#", "#...#", ".####"}
	case 'H':
		return [7]string{"#...#", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"}
	case 'I':
		return [7]string{".###.", "..#..", "..#..", "..#..", "..#..", "..#..", ".###."}
	case 'J':
		return [7]string{"..###", "...#.", "...#.", "...#.", "...#.", "#..#.", ".##.."}
	case 'K':
		return [7]string{"#...#", "#..#.", "#.#..", "##...", "#.#..", "#..#.", "#...#"}
	case 'L':
		return [7]string{"#....", "#....", "#....", "#....", "#....", "#....", "#####"}
	case 'M':
		return [7]string{"#...#", "##.##", "#.#.#", "#.#.#", "#...#", "#...#", "#...#"}
	case 'N':
		return [7]string{"#...#", "#...#", "##..#", "#.#.#", "#..##", "#...#", "#...#"}
	case 'O':
		return [7]string{".###.", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."}
	case 'P':
		return [7]string{"####.", "#...#", "#...#", "####.", "#....", "#....", "#...."}
	case 'Q':
		return [7]string{".###.", "#...#", "#...#", "#...#", "#.#.#", "#..#.", ".##.#"}
	case 'R':
		return [7]string{"####.", "#...#", "#...#", "####.", "#.#..", "#..#.", "#...#"}
	case 'S':
		return [7]string{".####", "#....", "#....", ".###.", "....#", "....#", "####."}
	case 'T':
		return [7]string{"#####", "..#..", "..#..", "..#..", "..#..", "..#..", "..#.."}
	case 'U':
		return [7]string{"#...#", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."}
	case 'V':
		return [7]string{"#...#", "#...#", "#...#", "#...#", "#...#", ".#.#.", "..#.."}
	case 'W':
		return [7]string{"#...#", "#...#", "#...#", "#.#.#", "#.#.#", "#.#.#", ".#.#."}
	case 'X':
		return [7]string{"#...#", "#...#", ".#.#.", "..#..", ".#.#.", "#...#", "#...#"}
	case 'Y':
		return [7]string{"#...#", "#...#", ".#.#.", "..#..", "..#..", "..#..", "..#.."}
	case 'Z':
		return [7]string{"#####", "....#", "...#.", "..#..", ".#...", "#....", "#####"}
	case ' ':
		return [7]string{".....", ".....", ".....", ".....", ".....", ".....", "....."}
	case '-':
		return [7]string{".....", ".....", ".....", "#####", ".....", ".....", "....."}
	case '_':
		return [7]string{".....", ".....", ".....", ".....", ".....", ".....", "#####"}
	case '/':
		return [7]string{"....#", "....#", "...#.", "..#..", ".#...", "#....", "#...."}
	case '.':
		return [7]string{".....", ".....", ".....", ".....", ".....", ".##..", ".##.."}
	case ':':
		return [7]string{".....", ".##..", ".##..", ".....", ".##..", ".##..", "....."}
	case '#':
		return [7]string{".#.#.", ".#.#.", "#####", ".#.#.", "#####", ".#.#.", ".#.#."}
	default:
		return [7]string{".###.", "#...#", "....#", "...#.", "..#..", ".....", "..#.."}
	}
}
