package benchviewer

import (
	"fmt"
	"hash/crc32"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// pkts builds packets of pictures: each picture is a list of payloads,
// the last one marked.
func pkts(seq uint16, ts uint32, pictures ...[][]byte) []*rtp.Packet {
	var out []*rtp.Packet
	for i, pic := range pictures {
		for j, pl := range pic {
			out = append(out, &rtp.Packet{Header: rtp.Header{SequenceNumber: seq, Timestamp: ts + uint32(i)*3000, Marker: j == len(pic)-1}, Payload: pl})
			seq++
		}
	}
	return out
}

func TestFrameTracker(t *testing.T) {
	idr := [][]byte{{0x67, 1, 2}, {0x68, 3}, {0x7c, 0x85, 9, 9, 9}, {0x7c, 0x45, 8}} // SPS, PPS, FU-A start/end of an IDR
	p1 := [][]byte{{0x41, 7, 7, 7}}                                                  // one-packet P picture
	p2 := [][]byte{{0x5c, 0x81, 6, 6}, {0x5c, 0x41, 5}}                              // two-packet P picture (FU-A)
	stap := [][]byte{{0x78, 0, 2, 0x67, 1, 0, 4, 0x65, 4, 4, 4}}                     // STAP-A: SPS + IDR
	at := time.Unix(100, 0)

	t.Run("in order", func(t *testing.T) {
		var got []frame
		ft := frameTracker{onFrame: func(f frame) { got = append(got, f) }}
		for _, p := range pkts(65530, 1, idr, p1, p2, stap) { // wraps
			ft.packet(p, at)
		}
		if len(got) != 4 || !got[0].idr || got[1].idr || !got[3].idr {
			t.Fatalf("%+v", got)
		}
		// The stream starts on a NAL unit, so its first picture counts.
		if !got[0].complete || !got[1].complete || !got[2].complete || !got[3].complete {
			t.Fatalf("completeness %+v", got)
		}
		if k := sliceKey(0x65, 4, 4, 4); got[3].key != k {
			t.Errorf("STAP-A key %x, want the IDR's %x", got[3].key, k)
		}
		if k := sliceKey(0x41, 6, 6, 5); got[2].key != k {
			t.Errorf("FU-A key %x, want the reassembled NAL's %x", got[2].key, k)
		}
		if k := sliceKey(0x65, 9, 9, 9, 8); got[0].key != k {
			t.Errorf("IDR key %x, want %x", got[0].key, k)
		}
	})
	t.Run("joins mid-picture, gap, lost marker, late packet", func(t *testing.T) {
		var got []frame
		ft := frameTracker{onFrame: func(f frame) { got = append(got, f) }}
		tail := [][]byte{{0x5c, 0x41, 5}} // the end of a fragmented picture
		ps := pkts(9, 0, tail, p1, p2, p1, p2, p1)
		// The tail (no start: incomplete); p1; p2 without its head; p1;
		// p2 without its tail, with a late retransmission of the lost
		// head in between; p1 after the gap.
		for _, i := range []int{0, 1, 3, 4, 5, 2, 7} {
			ft.packet(ps[i], at)
		}
		var complete []bool
		for _, f := range got {
			complete = append(complete, f.complete)
		}
		if fmt.Sprint(complete) != "[false true false true false false]" || got[2].key != 0 || got[3].key != sliceKey(0x41, 7, 7, 7) {
			t.Fatalf("complete %v, frames %+v", complete, got)
		}
	})
}

// sliceKey is the key of a whole slice NAL unit.
func sliceKey(nal ...byte) uint64 {
	return uint64(len(nal))<<32 | uint64(crc32.Checksum(nal, castagnoli))
}

func FuzzFrameTracker(f *testing.F) {
	for _, s := range [][]byte{{0x65, 1}, {0x78, 0, 2, 0x67, 1, 0, 2, 0x65, 4}, {0x7c, 0x85, 1}, {0x7c, 0x45}, {0x78, 0xff, 0xff}, {0x78, 0, 0}, {}} {
		f.Add(s, uint16(1), true)
	}
	f.Fuzz(func(t *testing.T, payload []byte, seq uint16, marker bool) {
		ft := frameTracker{onFrame: func(fr frame) {
			if fr.complete && fr.key == 0 {
				t.Fatal("a complete picture without a key")
			}
		}}
		for i := range 3 {
			ft.packet(&rtp.Packet{Header: rtp.Header{SequenceNumber: seq + uint16(i), Timestamp: uint32(i / 2), Marker: marker}, Payload: payload}, time.Time{})
		}
		_ = startsKeyframe(payload)
	})
}
