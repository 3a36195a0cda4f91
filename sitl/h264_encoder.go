package sitl

import (
	"bytes"
	"errors"
	"fmt"
	"image"
)

// ErrCameraConfig is returned, wrapped, when a camera or encoder
// configuration cannot be used (odd or zero sizes, no frame rate, a
// duplicate camera name...).
var ErrCameraConfig = errors.New("sitl: invalid camera configuration")

// H.264 syntax constants used by the encoder.
const (
	h264NALSlice = 1 // coded slice of a non-IDR picture
	h264NALIDR   = 5 // coded slice of an IDR picture
	h264NALSPS   = 7
	h264NALPPS   = 8

	h264ProfileBaseline = 66
	// constraint_set0_flag and constraint_set1_flag: the stream obeys the
	// Baseline and Main constraints (Constrained Baseline), which is what
	// WebRTC peers negotiate (profile-level-id 42e0xx).
	h264ConstraintFlags = 0xc0

	h264Log2MaxFrameNum = 8 // frame_num is u(8) and wraps at 256

	h264SliceTypeP    = 5 // P, and all slices of the picture are P
	h264SliceTypeI    = 7 // I, and all slices of the picture are I
	h264MbTypeIPCMinI = 25
	h264MbTypeIPCMinP = 30 // intra mb_types are offset by 5 in P slices

	h264MBBytes = 256 + 64 + 64 // one 4:2:0 8-bit I_PCM macroblock's samples

	// h264MaxMBs is level 5.2's MaxFS, the largest frame any level allows.
	h264MaxMBs = 36864
)

// H264EncoderConfig sizes an H264Encoder.
type H264EncoderConfig struct {
	// Width and Height are the picture size in pixels; both must be even
	// (4:2:0 chroma). Sizes that are not multiples of 16 are coded as whole
	// macroblocks and cropped in the SPS.
	Width, Height int
	// FPS is the frame rate written into the SPS timing info and used to
	// choose the level.
	FPS int
	// GOP is the distance between IDR pictures in frames; 1 makes every
	// picture an IDR. Zero means FPS (one IDR a second).
	GOP int
}

// H264Encoder is a minimal, lossless H.264 Constrained Baseline encoder
// for synthetic pictures. IDR pictures code a macroblock as Intra_16x16
// without residual where a prediction from its neighbours reproduces it
// exactly, and as I_PCM (raw samples) everywhere else; P pictures code
// unchanged macroblocks as P_Skip runs and changed ones as I_PCM. Decoded
// pictures are therefore byte-identical to the input, which keeps the
// burned-in time stamp exact. An unpredictable macroblock costs about 386
// bytes, so a picture of noise still makes a 1.4 MB IDR at 1280x720; the
// camera's scene is drawn to be mostly predictable.
//
// P_Skip copies the reference only because no macroblock ever carries a
// motion vector (the predicted vector of P_Skip is then zero); adding
// inter-predicted macroblocks would break "unchanged means skip".
//
// An H264Encoder is not safe for concurrent use.
type H264Encoder struct {
	cfg        H264EncoderConfig
	mbW, mbH   int
	level      uint8
	sps, pps   []byte // NAL units, header and emulation prevention included
	frameNum   uint32 // frame_num of the next picture
	idrPicID   uint32
	sinceIDR   int  // pictures coded since the last IDR
	forceIDR   bool // next picture is an IDR whatever the GOP says
	havePrev   bool // prev holds the decoder's reference picture
	prev       []byte
	totalCoeff []uint8 // per macroblock of the IDR being coded: 16 for I_PCM, 0 for predicted
	mb         [h264MBBytes]byte
	rbsp       h264BitWriter
	sliceBytes int // size hint: the last P slice's RBSP length
}

// NewH264Encoder checks cfg and builds the parameter sets.
func NewH264Encoder(cfg H264EncoderConfig) (*H264Encoder, error) {
	if cfg.GOP == 0 {
		cfg.GOP = cfg.FPS
	}
	switch {
	case cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width%2 != 0 || cfg.Height%2 != 0:
		return nil, fmt.Errorf("%w: size %dx%d must be positive and even", ErrCameraConfig, cfg.Width, cfg.Height)
	case cfg.FPS <= 0 || cfg.FPS > 1000:
		return nil, fmt.Errorf("%w: frame rate %d out of 1..1000", ErrCameraConfig, cfg.FPS)
	case cfg.GOP < 0:
		return nil, fmt.Errorf("%w: negative GOP %d", ErrCameraConfig, cfg.GOP)
	}
	e := &H264Encoder{
		cfg: cfg,
		mbW: (cfg.Width + 15) / 16,
		mbH: (cfg.Height + 15) / 16,
	}
	if e.mbW*e.mbH > h264MaxMBs || e.mbW > 543 || e.mbH > 543 {
		return nil, fmt.Errorf("%w: size %dx%d exceeds every H.264 level", ErrCameraConfig, cfg.Width, cfg.Height)
	}
	e.level = h264ChooseLevel(e.mbW, e.mbH, cfg.FPS, cfg.GOP)
	e.prev = make([]byte, e.mbW*e.mbH*h264MBBytes)
	e.totalCoeff = make([]uint8, e.mbW*e.mbH)
	e.sps = e.buildSPS()
	e.pps = e.buildPPS()
	return e, nil
}

// SPS returns a copy of the sequence parameter set NAL unit (no start code).
func (e *H264Encoder) SPS() []byte { return bytes.Clone(e.sps) }

// PPS returns a copy of the picture parameter set NAL unit (no start code).
func (e *H264Encoder) PPS() []byte { return bytes.Clone(e.pps) }

// ForceIDR makes the next encoded picture an IDR, for a new or recovering
// receiver. The GOP count restarts there.
func (e *H264Encoder) ForceIDR() { e.forceIDR = true }

// Encode codes one picture. frame must be 4:2:0 and exactly the configured
// size. The access unit is returned as NAL units without start codes: SPS,
// PPS and the IDR slice for a keyframe, one non-IDR slice otherwise. The
// returned slices are newly allocated and belong to the caller.
func (e *H264Encoder) Encode(frame *image.YCbCr) (au [][]byte, isIDR bool, err error) {
	if frame == nil || frame.Rect.Dx() != e.cfg.Width || frame.Rect.Dy() != e.cfg.Height {
		return nil, false, fmt.Errorf("%w: frame is not %dx%d", ErrCameraConfig, e.cfg.Width, e.cfg.Height)
	}
	if frame.SubsampleRatio != image.YCbCrSubsampleRatio420 {
		return nil, false, fmt.Errorf("%w: frame is not 4:2:0", ErrCameraConfig)
	}
	isIDR = e.forceIDR || !e.havePrev || e.sinceIDR >= e.cfg.GOP
	if isIDR {
		nal := e.encodeIDR(frame)
		return [][]byte{e.SPS(), e.PPS(), nal}, true, nil
	}
	return [][]byte{e.encodeP(frame)}, false, nil
}

func (e *H264Encoder) encodeIDR(frame *image.YCbCr) []byte {
	w := &e.rbsp
	w.reset()
	if cap(w.buf) < len(e.prev)+len(e.prev)/256+64 {
		w.buf = make([]byte, 0, len(e.prev)+len(e.prev)/256+64)
	}
	w.u(8, 3<<5|h264NALIDR) // nal_ref_idc 3
	w.ue(0)                 // first_mb_in_slice
	w.ue(h264SliceTypeI)
	w.ue(0) // pic_parameter_set_id
	w.u(h264Log2MaxFrameNum, 0)
	w.ue(e.idrPicID)
	w.u(1, 0) // no_output_of_prior_pics_flag
	w.u(1, 0) // long_term_reference_flag
	w.se(0)   // slice_qp_delta
	w.ue(1)   // disable_deblocking_filter_idc: keep the samples exact
	for mby := 0; mby < e.mbH; mby++ {
		for mbx := 0; mbx < e.mbW; mbx++ {
			i := mby*e.mbW + mbx
			ref := e.prev[i*h264MBBytes:][:h264MBBytes]
			h264GatherMB(frame, mbx, mby, ref)
			// Raster order: the left and top neighbours are already this
			// picture's, and what they hold is what the decoder holds.
			var nb h264Neighbours
			nA, nB := -1, -1
			if mbx > 0 {
				nb.left = e.prev[(i-1)*h264MBBytes:][:h264MBBytes]
				nA = int(e.totalCoeff[i-1])
			}
			if mby > 0 {
				nb.top = e.prev[(i-e.mbW)*h264MBBytes:][:h264MBBytes]
				nB = int(e.totalCoeff[i-e.mbW])
			}
			if luma, chroma, ok := h264PredictIntra16(ref, nb); ok {
				w.writeIntra16(luma, chroma, h264CoeffTableIndex(nA, nB), 0)
				e.totalCoeff[i] = 0
				continue
			}
			w.ue(h264MbTypeIPCMinI)
			w.alignZero()
			w.bytes(ref)
			e.totalCoeff[i] = h264PCMTotalCoeff
		}
	}
	w.trailing()

	e.idrPicID = (e.idrPicID + 1) & 0xffff // consecutive IDRs must differ
	e.frameNum = 1
	e.sinceIDR = 1
	e.forceIDR = false
	e.havePrev = true
	return e.escape(w.buf)
}

func (e *H264Encoder) encodeP(frame *image.YCbCr) []byte {
	w := &e.rbsp
	w.reset()
	if cap(w.buf) < e.sliceBytes*2+64 {
		w.buf = make([]byte, 0, e.sliceBytes*2+64)
	}
	w.u(8, 2<<5|h264NALSlice) // a reference picture: nal_ref_idc != 0
	w.ue(0)                   // first_mb_in_slice
	w.ue(h264SliceTypeP)
	w.ue(0) // pic_parameter_set_id
	w.u(h264Log2MaxFrameNum, uint64(e.frameNum))
	w.u(1, 0) // num_ref_idx_active_override_flag
	w.u(1, 0) // ref_pic_list_modification_flag_l0
	w.u(1, 0) // adaptive_ref_pic_marking_mode_flag: sliding window
	w.se(0)   // slice_qp_delta
	w.ue(1)   // disable_deblocking_filter_idc

	skip := uint32(0)
	for mby := 0; mby < e.mbH; mby++ {
		for mbx := 0; mbx < e.mbW; mbx++ {
			cur := e.mb[:]
			h264GatherMB(frame, mbx, mby, cur)
			ref := e.prev[(mby*e.mbW+mbx)*h264MBBytes:][:h264MBBytes]
			if bytes.Equal(cur, ref) {
				skip++
				continue
			}
			copy(ref, cur)
			// Every coded macroblock in a P slice is preceded by its
			// mb_skip_run, even when that is zero.
			w.ue(skip)
			skip = 0
			w.ue(h264MbTypeIPCMinP)
			w.alignZero()
			w.bytes(cur)
		}
	}
	if skip > 0 {
		w.ue(skip)
	}
	w.trailing()

	e.frameNum = (e.frameNum + 1) % (1 << h264Log2MaxFrameNum)
	e.sinceIDR++
	e.sliceBytes = len(w.buf)
	return e.escape(w.buf)
}

func (e *H264Encoder) escape(rbsp []byte) []byte {
	return h264EscapeRBSP(make([]byte, 0, h264EscapedLen(rbsp)), rbsp)
}

// h264GatherMB copies macroblock (mbx, mby) of frame into dst in I_PCM
// order: 256 luma samples row by row, then 64 Cb, then 64 Cr. Samples
// outside the picture (the cropped margin) repeat the nearest edge sample.
func h264GatherMB(frame *image.YCbCr, mbx, mby int, dst []byte) {
	r := frame.Rect
	w, h := r.Dx(), r.Dy()
	x0, y0 := mbx*16, mby*16
	if x0+16 <= w && y0+16 <= h {
		yi := frame.YOffset(r.Min.X+x0, r.Min.Y+y0)
		for row := 0; row < 16; row++ {
			copy(dst[row*16:row*16+16], frame.Y[yi:yi+16])
			yi += frame.YStride
		}
		ci := frame.COffset(r.Min.X+x0, r.Min.Y+y0)
		for row := 0; row < 8; row++ {
			copy(dst[256+row*8:256+row*8+8], frame.Cb[ci:ci+8])
			copy(dst[320+row*8:320+row*8+8], frame.Cr[ci:ci+8])
			ci += frame.CStride
		}
		return
	}
	for row := 0; row < 16; row++ {
		y := min(y0+row, h-1)
		for col := 0; col < 16; col++ {
			x := min(x0+col, w-1)
			dst[row*16+col] = frame.Y[frame.YOffset(r.Min.X+x, r.Min.Y+y)]
		}
	}
	for row := 0; row < 8; row++ {
		y := min(y0+2*row, h-1)
		for col := 0; col < 8; col++ {
			x := min(x0+2*col, w-1)
			ci := frame.COffset(r.Min.X+x, r.Min.Y+y)
			dst[256+row*8+col] = frame.Cb[ci]
			dst[320+row*8+col] = frame.Cr[ci]
		}
	}
}

func (e *H264Encoder) buildSPS() []byte {
	var w h264BitWriter
	w.u(8, 3<<5|h264NALSPS)
	w.u(8, h264ProfileBaseline)
	w.u(8, h264ConstraintFlags)
	w.u(8, uint64(e.level))
	w.ue(0)                       // seq_parameter_set_id
	w.ue(h264Log2MaxFrameNum - 4) // log2_max_frame_num_minus4
	w.ue(2)                       // pic_order_cnt_type 2: output order is decode order, no POC in slices
	w.ue(1)                       // max_num_ref_frames
	w.u(1, 0)                     // gaps_in_frame_num_value_allowed_flag
	w.ue(uint32(e.mbW - 1))
	w.ue(uint32(e.mbH - 1)) // pic_height_in_map_units_minus1
	w.u(1, 1)               // frame_mbs_only_flag
	w.u(1, 1)               // direct_8x8_inference_flag
	// Crop units are 2 samples in both directions for 4:2:0 frames.
	cropR := (e.mbW*16 - e.cfg.Width) / 2
	cropB := (e.mbH*16 - e.cfg.Height) / 2
	if cropR != 0 || cropB != 0 {
		w.u(1, 1)
		w.ue(0)
		w.ue(uint32(cropR))
		w.ue(0)
		w.ue(uint32(cropB))
	} else {
		w.u(1, 0)
	}

	w.u(1, 1) // vui_parameters_present_flag
	w.u(1, 1) // aspect_ratio_info_present_flag
	w.u(8, 1) // aspect_ratio_idc 1: square samples
	w.u(1, 0) // overscan_info_present_flag
	w.u(1, 1) // video_signal_type_present_flag
	w.u(3, 5) // video_format: unspecified
	w.u(1, 0) // video_full_range_flag: samples are 16..235
	w.u(1, 1) // colour_description_present_flag
	w.u(8, 1) // colour_primaries BT.709
	w.u(8, 1) // transfer_characteristics BT.709
	w.u(8, 1) // matrix_coefficients BT.709
	w.u(1, 0) // chroma_loc_info_present_flag
	w.u(1, 1) // timing_info_present_flag
	w.u(32, 1)
	w.u(32, uint64(2*e.cfg.FPS)) // time_scale: two ticks per frame
	w.u(1, 1)                    // fixed_frame_rate_flag
	w.u(1, 0)                    // nal_hrd_parameters_present_flag
	w.u(1, 0)                    // vcl_hrd_parameters_present_flag
	w.u(1, 0)                    // pic_struct_present_flag
	// Bitstream restrictions tell decoders that no picture is ever
	// reordered, so they can output each picture as soon as it is decoded
	// instead of holding a DPB's worth of latency.
	w.u(1, 1) // bitstream_restriction_flag
	w.u(1, 1) // motion_vectors_over_pic_boundaries_flag
	w.ue(0)   // max_bytes_per_pic_denom: no limit (I_PCM pictures are large)
	w.ue(0)   // max_bits_per_mb_denom: no limit
	w.ue(10)  // log2_max_mv_length_horizontal
	w.ue(10)  // log2_max_mv_length_vertical
	w.ue(0)   // max_num_reorder_frames
	w.ue(1)   // max_dec_frame_buffering
	w.trailing()
	return h264EscapeRBSP(nil, w.buf)
}

func (e *H264Encoder) buildPPS() []byte {
	var w h264BitWriter
	w.u(8, 3<<5|h264NALPPS)
	w.ue(0)   // pic_parameter_set_id
	w.ue(0)   // seq_parameter_set_id
	w.u(1, 0) // entropy_coding_mode_flag: CAVLC
	w.u(1, 0) // bottom_field_pic_order_in_frame_present_flag
	w.ue(0)   // num_slice_groups_minus1
	w.ue(0)   // num_ref_idx_l0_default_active_minus1
	w.ue(0)   // num_ref_idx_l1_default_active_minus1
	w.u(1, 0) // weighted_pred_flag
	w.u(2, 0) // weighted_bipred_idc
	w.se(0)   // pic_init_qp_minus26
	w.se(0)   // pic_init_qs_minus26
	w.se(0)   // chroma_qp_index_offset
	w.u(1, 1) // deblocking_filter_control_present_flag: slices switch it off
	w.u(1, 0) // constrained_intra_pred_flag
	w.u(1, 0) // redundant_pic_cnt_present_flag
	w.trailing()
	return h264EscapeRBSP(nil, w.buf)
}

// h264Level is one row of ITU-T H.264 Table A-1.
type h264Level struct {
	idc     uint8
	maxMBPS int // macroblocks per second
	maxFS   int // macroblocks per frame
	maxBR   int // kbit/s before the Baseline cpbBrVclFactor of 1.2
	minCR   int // minimum compression ratio
}

// h264ChooseLevel returns the lowest level whose limits hold for an
// I_PCM-coded stream of mbW x mbH macroblocks at fps with an IDR every gop
// pictures. Besides MaxFS and MaxMBPS this checks the per-picture size limit
// of §A.3.1 (384 * MaxMBPS / fps / MinCR bytes) against an all-I_PCM
// picture, which is what pushes 640x360@30 to level 3.2 and 1280x720@30 to
// 4.1, and the bit rate of the IDRs alone against MaxBR. Streams beyond
// every level get 5.2: decoders do not enforce levels, they only use them
// to size buffers.
func h264ChooseLevel(mbW, mbH, fps, gop int) uint8 {
	frameMBs := mbW * mbH
	levels := [...]h264Level{
		{10, 1485, 99, 64, 2},
		{11, 3000, 396, 192, 2},
		{12, 6000, 396, 384, 2},
		{13, 11880, 396, 768, 2},
		{20, 11880, 396, 2000, 2},
		{21, 19800, 792, 4000, 2},
		{22, 20250, 1620, 4000, 2},
		{30, 40500, 1620, 10000, 2},
		{31, 108000, 3600, 14000, 4},
		{32, 216000, 5120, 20000, 4},
		{40, 245760, 8192, 20000, 4},
		{41, 245760, 8192, 50000, 2},
		{42, 522240, 8704, 50000, 2},
		{50, 589824, 22080, 135000, 2},
		{51, 983040, 36864, 240000, 2},
		{52, 2073600, 36864, 240000, 2},
	}
	if gop < 1 {
		gop = 1
	}
	idrBytes := int64(frameMBs)*(h264MBBytes+2) + 64
	for _, l := range levels {
		if frameMBs > l.maxFS || int64(frameMBs)*int64(fps) > int64(l.maxMBPS) {
			continue
		}
		// Neither dimension may exceed sqrt(8 * MaxFS) macroblocks.
		if mbW*mbW > 8*l.maxFS || mbH*mbH > 8*l.maxFS {
			continue
		}
		if idrBytes*int64(fps)*int64(l.minCR) > 384*int64(l.maxMBPS) {
			continue
		}
		idrBitsPerSec := idrBytes * 8 * int64(fps) / int64(gop)
		if idrBitsPerSec > int64(l.maxBR)*1200 {
			continue
		}
		return l.idc
	}
	return 52
}
