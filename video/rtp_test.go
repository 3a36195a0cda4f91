package video

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/bluenviron/gortsplib/v4/pkg/format/rtph264"
	"github.com/pion/rtp"
)

// depacketizeH264 runs payloads through gortsplib's H.264 depacketizer, the
// one the relay's RTSP side and our test viewers use, as one access unit.
func depacketizeH264(t testing.TB, payloads [][]byte) [][]byte {
	t.Helper()
	dec := &rtph264.Decoder{}
	if err := dec.Init(); err != nil {
		t.Fatal(err)
	}
	for i, pl := range payloads {
		pkt := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: uint16(100 + i),
			Timestamp: 9000, Marker: i == len(payloads)-1}, Payload: pl}
		nalus, err := dec.Decode(pkt)
		switch {
		case i < len(payloads)-1 && errors.Is(err, rtph264.ErrMorePacketsNeeded):
		case i == len(payloads)-1 && err == nil:
			return nalus
		default:
			t.Fatalf("payload %d of %d: %v", i, len(payloads), err)
		}
	}
	t.Fatal("no payloads")
	return nil
}

func testNALU(rnd *rand.Rand, typ byte, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rnd.Uint32())
	}
	b[0] = 0x60 | typ
	return b
}

// TestPacketizeH264 splits access units of every shape and checks what a
// depacketizer rebuilds: the same NAL units, from payloads that are never
// over the limit, with small NAL units aggregated and large ones
// fragmented.
func TestPacketizeH264(t *testing.T) {
	const maxSize = MaxRTPPayloadBytes
	rnd := rand.New(rand.NewPCG(1, 2))
	sps, pps := testNALU(rnd, 7, 20), testNALU(rnd, 8, 4)
	sps[0], pps[0] = 0x67, 0x68
	many := make([][]byte, 45) // depacketizers allow 50 per unit
	for i := range many {
		many[i] = testNALU(rnd, 6, 1+rnd.IntN(100))
	}
	for _, c := range []struct {
		name  string
		au    [][]byte
		pkts  int // expected payload count, 0: not checked
		first byte
	}{
		{"parameter sets and an IDR", [][]byte{sps, pps, testNALU(rnd, 5, 100_000)}, 1 + (100_000-1+1169)/1170, h264STAPA | 0x60},
		{"one small slice", [][]byte{testNALU(rnd, 1, 500)}, 1, 0x61},
		{"exactly the limit", [][]byte{testNALU(rnd, 1, maxSize)}, 1, 0x61},
		{"one over the limit", [][]byte{testNALU(rnd, 1, maxSize+1)}, 2, 0x60 | h264FUA},
		{"fragments that end exactly", [][]byte{testNALU(rnd, 1, 1+3*(maxSize-2))}, 3, 0x60 | h264FUA},
		{"two that cannot share", [][]byte{testNALU(rnd, 1, maxSize-3), testNALU(rnd, 1, 2)}, 2, 0x61},
		{"two that just share", [][]byte{testNALU(rnd, 1, maxSize-6), testNALU(rnd, 1, 1)}, 1, h264STAPA | 0x60},
		{"dozens of small ones", many, 0, h264STAPA | 0x60},
		{"a one-byte NAL unit", [][]byte{{0x09}}, 1, 0x09},
	} {
		t.Run(c.name, func(t *testing.T) {
			payloads, err := packetizeH264(c.au, maxSize)
			if err != nil {
				t.Fatal(err)
			}
			if c.pkts != 0 && len(payloads) != c.pkts {
				t.Errorf("%d payloads, want %d", len(payloads), c.pkts)
			}
			if payloads[0][0] != c.first {
				t.Errorf("first payload starts %#x, want %#x", payloads[0][0], c.first)
			}
			for i, pl := range payloads {
				if len(pl) > maxSize || len(pl) == 0 {
					t.Fatalf("payload %d is %d bytes", i, len(pl))
				}
			}
			got := depacketizeH264(t, payloads)
			if len(got) != len(c.au) {
				t.Fatalf("rebuilt %d NAL units, want %d", len(got), len(c.au))
			}
			for i := range got {
				if !bytes.Equal(got[i], c.au[i]) {
					t.Fatalf("NAL unit %d differs", i)
				}
			}
		})
	}
	if _, err := packetizeH264([][]byte{sps, {}}, maxSize); !errors.Is(err, errEmptyNALU) {
		t.Errorf("empty NAL unit: %v", err)
	}
}

// TestPacketizeH264Allocations: two allocations per access unit whatever
// its size, so one picture costs the relay the same garbage with one viewer
// or two hundred.
func TestPacketizeH264Allocations(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 4))
	au := [][]byte{testNALU(rnd, 7, 20), testNALU(rnd, 8, 4), testNALU(rnd, 5, 130_000)}
	if n := testing.AllocsPerRun(20, func() { _, _ = packetizeH264(au, MaxRTPPayloadBytes) }); n > 2 {
		t.Fatalf("%v allocations per access unit, want 2", n)
	}
}

// FuzzPacketizeH264: any access unit of non-empty NAL units survives
// packetizing and depacketizing unchanged, in payloads within the limit.
func FuzzPacketizeH264(f *testing.F) {
	f.Add([]byte{0, 3, 0x67, 1, 2, 0, 1, 0x68, 0x04, 0xb0}, uint16(1172))
	f.Add(bytes.Repeat([]byte{0x65}, 5000), uint16(100))
	f.Fuzz(func(t *testing.T, data []byte, limit uint16) {
		maxSize := 16 + int(limit)%2000 // the smallest useful limit and up
		var au [][]byte
		for len(data) >= 2 {
			n := min(int(data[0])<<8|int(data[1]), len(data)-2)
			if n > 0 {
				nalu := bytes.Clone(data[2 : 2+n])
				nalu[0] = nalu[0]&0x7f | 0x01 // no forbidden bit; never an aggregate or fragment type
				if typ := nalu[0] & 0x1f; typ >= 24 {
					nalu[0] &^= 0x10
				}
				for _, code := range [][]byte{{0, 0, 0}, {0, 0, 1}, {0, 0, 2}} {
					if bytes.Contains(nalu, code) {
						return // emulation prevention keeps these out of real NAL units; depacketizers split at them
					}
				}
				au = append(au, nalu)
			}
			data = data[2+n:]
		}
		if len(au) == 0 || len(au) > 45 {
			return // depacketizers allow 50 NAL units per unit
		}
		payloads, err := packetizeH264(au, maxSize)
		if err != nil {
			t.Fatal(err)
		}
		for _, pl := range payloads {
			if len(pl) > maxSize {
				t.Fatalf("payload of %d bytes over %d", len(pl), maxSize)
			}
		}
		got := depacketizeH264(t, payloads)
		if fmt.Sprint(got) != fmt.Sprint(au) {
			t.Fatal("NAL units changed on the way")
		}
	})
}
