package whep

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/ospreygcs/osprey/video"
)

// countingReader yields n bytes of 'a' and counts what was read.
type countingReader struct {
	left int
	read atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.left == 0 {
		return 0, io.EOF
	}
	n := min(len(p), c.left)
	for i := range p[:n] {
		p[i] = 'a'
	}
	c.left -= n
	c.read.Add(int64(n))
	return n, nil
}

func TestBadRequests(t *testing.T) {
	r := newRig(t, Config{}, rigCam{name: "sim/1", w: 320, h: 240, fps: 10, gop: 10})
	// A stream that announces H.265, for the codec-mismatch case.
	h265, _ := r.hub.Add("hevc")
	if _, err := h265.Publish(video.Media{Video: video.CodecH265}); err != nil {
		t.Fatal(err)
	}
	api := clientAPI(t)
	pc, offer := makeOffer(t, api)
	defer pc.Close()

	cases := []struct {
		name, method, path, ctype, body string
		want                            int
		wantText                        string
	}{
		{"malformed SDP", "POST", "/api/v1/streams/sim/1/whep", "application/sdp", "hello, I am not SDP", 400, "malformed SDP"},
		{"SDP without media", "POST", "/api/v1/streams/sim/1/whep", "application/sdp", "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n", 400, "no media"},
		{"empty body", "POST", "/api/v1/streams/sim/1/whep", "application/sdp", "", 400, "empty"},
		{"wrong content type", "POST", "/api/v1/streams/sim/1/whep", "application/json", `{"sdp":"x"}`, 415, "application/sdp"},
		{"no content type", "POST", "/api/v1/streams/sim/1/whep", "", offer, 415, "application/sdp"},
		{"unknown stream", "POST", "/api/v1/streams/nope/whep", "application/sdp", offer, 404, "nope"},
		{"not a WHEP path", "POST", "/api/v1/streams/sim/1", "application/sdp", offer, 404, "not a WHEP endpoint"},
		{"H.265 stream, H.264-only offer", "POST", "/api/v1/streams/hevc/whep", "application/sdp", strings.ReplaceAll(offer, "H265", "XXXX"), 406, "H.265"},
		{"delete unknown session", "DELETE", "/api/v1/streams/sim/1/whep/0123456789abcdef0123456789abcdef", "", "", 404, "no such session"},
		{"patch (trickle)", "PATCH", "/api/v1/streams/sim/1/whep/0123", "application/trickle-ice-sdpfrag", "a=x", 405, "trickle"},
		{"options", "OPTIONS", "/api/v1/streams/sim/1/whep", "", "", 204, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(c.method, r.http.URL+c.path, strings.NewReader(c.body))
			if c.ctype != "" {
				req.Header.Set("Content-Type", c.ctype)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != c.want || !strings.Contains(string(body), c.wantText) {
				t.Fatalf("%s %s = %d %q, want %d containing %q", c.method, c.path, resp.StatusCode, body, c.want, c.wantText)
			}
			if resp.Header.Get("Access-Control-Allow-Origin") != "*" {
				t.Fatal("no CORS header")
			}
		})
	}
	if n := r.whep.Sessions(); n != 0 {
		t.Fatalf("bad requests left %d sessions", n)
	}
}

func TestHugeOfferRefusedWithoutReadingIt(t *testing.T) {
	r := newRig(t, Config{}, rigCam{name: "sim/1", w: 320, h: 240, fps: 10, gop: 10})
	const size = 10 << 20
	for _, chunked := range []bool{false, true} {
		body := &countingReader{left: size}
		req, _ := http.NewRequest(http.MethodPost, r.url("sim/1"), body)
		req.Header.Set("Content-Type", "application/sdp")
		if chunked {
			req.ContentLength = -1 // no declared length: the limit trips while reading
		} else {
			req.ContentLength = size
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			// The server may close the connection before the client
			// finishes sending; it must still not have read it all.
			t.Logf("chunked=%v: %v", chunked, err)
		} else {
			resp.Body.Close()
			if resp.StatusCode != http.StatusRequestEntityTooLarge {
				t.Fatalf("chunked=%v: status %d, want 413", chunked, resp.StatusCode)
			}
		}
		if n := body.read.Load(); n >= size {
			t.Fatalf("chunked=%v: the client sent all %d bytes; the server should stop reading at the limit", chunked, n)
		}
	}
}

func TestGarbageCameraAffectsNoOtherStream(t *testing.T) {
	r := newRig(t, Config{}, rigCam{name: "sim/1", w: 320, h: 240, fps: 15, gop: 15},
		rigCam{name: "sim/2", w: 320, h: 240, fps: 15, gop: 15})
	api := clientAPI(t)
	v1 := join(t, api, r.http.URL, r.url("sim/1"))
	defer v1.leave(t)
	v2 := join(t, api, r.http.URL, r.url("sim/2"))
	defer v2.leave(t)
	waitAU(t, v1, 10*time.Second)
	waitAU(t, v2, 10*time.Second)
	s1, _ := r.hub.Stream("sim/1")
	s2, _ := r.hub.Stream("sim/2")

	if err := r.cams.SetSendGarbage("sim/1", true); err != nil {
		t.Fatal(err)
	}
	start := v2.auCount()
	waitFor(t, 10*time.Second, "sim/1 errors counted", func() bool {
		i := s1.Info()
		return i.DecodeErrors+i.BadUnits+i.DroppedNALUs >= 5
	})
	time.Sleep(time.Second)
	if err := r.cams.SetSendGarbage("sim/1", false); err != nil {
		t.Fatal(err)
	}
	if got := v2.auCount() - start; got < 10 {
		t.Fatalf("sim/2's viewer got %d pictures while sim/1 babbled, want ~15 a second", got)
	}
	if i := s2.Info(); i.DecodeErrors+i.BadUnits+i.DroppedNALUs != 0 {
		t.Fatalf("sim/2 counted errors: %+v", i)
	}
	// sim/1 recovers at its next keyframe, on the same connection.
	before := v1.auCount()
	waitFor(t, 10*time.Second, "sim/1 pictures again", func() bool { return v1.auCount() >= before+10 })
	i1 := s1.Info()
	t.Logf("sim/1 while sending garbage: %d decode errors, %d bad units, %d dropped NAL units", i1.DecodeErrors, i1.BadUnits, i1.DroppedNALUs)
	if st, _ := s1.State(); st != video.StateLive {
		t.Fatalf("sim/1 state %s", st)
	}
}

// FuzzWHEPOffer posts arbitrary bodies as offers: the handler must never
// panic and answer only 201 or a 4xx.
func FuzzWHEPOffer(f *testing.F) {
	f.Add([]byte("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 H264/90000\r\n"))
	f.Add([]byte("v=0\r\n"))
	f.Add([]byte("not sdp"))
	f.Add([]byte("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 H264/90000\r\na=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwxyz\r\na=fingerprint:sha-256 00:11\r\na=setup:actpass\r\na=mid:0\r\na=recvonly\r\n"))
	f.Add([]byte("v=0\r\nm=audio 9 RTP/AVP 0\r\na=rtpmap\r\n"))
	f.Add(bytes.Repeat([]byte("a=rtpmap:96 H264/90000\r\n"), 100))
	// A real browser-like offer, so inputs reach pion's negotiation.
	api := fuzzClientAPI(f)
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		f.Fatal(err)
	}
	for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		if _, err := pc.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			f.Fatal(err)
		}
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		f.Fatal(err)
	}
	_ = pc.Close()
	f.Add([]byte(offer.SDP))

	hub := video.NewHub(video.StreamConfig{})
	defer hub.Close()
	st, _ := hub.Add("s")
	if _, err := st.Publish(video.Media{Video: video.CodecH264, Audio: video.CodecOpus, AudioClockRateHz: 48000, AudioChannels: 2}); err != nil {
		f.Fatal(err)
	}
	srv, err := New(Config{UDPAddress: "127.0.0.1:0", SetupTimeout: 100 * time.Millisecond}, hub)
	if err != nil {
		f.Fatal(err)
	}
	defer srv.Close()
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptestRequest(http.MethodPost, PathPrefix+"s/whep", body)
		rec := newRecorder()
		srv.ServeHTTP(rec, req)
		if rec.code != http.StatusCreated && (rec.code < 400 || rec.code > 499) {
			t.Fatalf("status %d for %q: %s", rec.code, body, rec.body.String())
		}
		if rec.code == http.StatusCreated {
			// End it now rather than wait for the setup timeout.
			del := httptestRequest(http.MethodDelete, rec.header.Get("Location"), nil)
			srv.ServeHTTP(newRecorder(), del)
		}
	})
}
