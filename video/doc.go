// Package video is the stream hub of the relay: one Stream per named camera
// feed takes access units from a single publisher (an RTSP source) and fans
// them out to readers (WebRTC viewers, the RTSP re-publisher, recorders),
// each through its own bounded queue, so a slow reader drops its own frames
// and never delays the others. The current group of pictures is cached so a
// new reader starts from a keyframe at once.
//
// Ingest lives in video/rtspsrc, WebRTC (WHEP) egress in video/whep, RTSP
// re-publishing in video/rtspserve, and video/relay wires them together.
//
// A reader, for example a recorder:
//
//	r, err := stream.AddReader("record", 0)
//	if err != nil { ... }
//	defer r.Close()
//	for {
//		u, err := r.ReadUnit(ctx)
//		if err != nil { return err } // ctx ended, reader or stream closed
//		if u.Epoch != lastEpoch { /* source reconnected: new segment; Stream.Media for the codec */ }
//		if u.Codec.IsVideo() { /* u.NALUs, u.IDR, u.PTS */ } else { /* u.Payload */ }
//	}
package video
