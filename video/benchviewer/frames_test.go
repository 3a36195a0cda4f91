package benchviewer

import (
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
		// The first picture starts the stream: nothing says it is whole.
		if got[0].complete || !got[1].complete || !got[2].complete || !got[3].complete {
			t.Fatalf("completeness %+v", got)
		}
		if k, _, _ := pictureKey([]byte{0x65, 4, 4, 4}); got[3].key != k {
			t.Errorf("STAP-A key %x, want the IDR's %x", got[3].key, k)
		}
		if k, _, _ := pictureKey([]byte{0x41, 6, 6}); got[2].key != k {
			t.Errorf("FU-A key %x, want the same as the unfragmented NAL %x", got[2].key, k)
		}
	})
	t.Run("gap, lost marker, late packet", func(t *testing.T) {
		var got []frame
		ft := frameTracker{onFrame: func(f frame) { got = append(got, f) }}
		ps := pkts(10, 1, p1, p2, p1, p2, p1)
		// p2's first packet lost; the next p1 arrives; then p2's end is
		// lost; then a retransmission of an old packet; then p1.
		for _, i := range []int{0, 2, 3, 4, 1, 6} {
			ft.packet(ps[i], at)
		}
		var complete []bool
		for _, f := range got {
			complete = append(complete, f.complete)
		}
		// p1 (first: unknown start), p2 (head lost), p1, p2 (tail lost,
		// ended by the next picture), p1 (after the gap).
		if len(got) != 5 || complete[0] || complete[1] || !complete[2] || complete[3] || complete[4] || got[1].key != 0 {
			t.Fatalf("frames %+v", got)
		}
	})
}

func FuzzPictureKey(f *testing.F) {
	for _, s := range [][]byte{{0x65, 1}, {0x78, 0, 2, 0x67, 1, 0, 2, 0x65, 4}, {0x7c, 0x85, 1}, {0x78, 0xff, 0xff}, {0x78, 0, 0}, {}} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		k, _, ok := pictureKey(b)
		if ok && k == 0 {
			t.Fatal("key 0 means unknown")
		}
	})
}
