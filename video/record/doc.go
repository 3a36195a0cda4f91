// Package record writes live streams to fragmented MP4 files on disk, lists
// them and serves them over HTTP.
//
// # Files
//
// Each stream is recorded into a directory of its own, one file per
// segment:
//
//	DIR/<stream>/<start>.mp4
//	DIR/sim/1/2026-11-24_08-15-00.000000.mp4
//
// <stream> is the stream name with each slash-separated element turned
// into one directory level; characters outside the URL path-safe set are
// percent-escaped (url.PathEscape), and empty, "." and ".." elements are
// refused, so a name can never leave DIR. <start> is the UTC wall-clock
// time of the segment's first picture, to the microsecond. A directory
// may hold both a stream's segments and the directories of longer names
// ("sim" and "sim/1"): only files whose names parse as a start time belong
// to the stream.
//
// A segment begins with an initialization section (ftyp and moov) followed
// by parts (moof and mdat), each about Config.PartDuration long. The first
// part is written together with the initialization section, and each part
// with one write call (and, unless Config.NoSync, an fsync), so a crash at
// any moment loses at most the part being assembled: every file on disk is
// a playable MP4 up to its last complete part. Segments start on a
// keyframe, once Config.SegmentDuration has passed, after an outage of the
// source (timestamps jumping by more than 5 s), or when the parameter sets
// change.
//
// # Writers never wait for the disk
//
// A Recorder does its file I/O on its own goroutine, fed by a bounded
// queue. The Write methods only enqueue: when the queue is full the unit is
// dropped and counted (and video resumes at the next keyframe), so a slow
// or full disk can never stall the live relay feeding it. A write error
// (a full disk, say) stops the recording with StateFailed and the error in
// Status; the recorder tries again with a new segment after
// Config.RetryPause.
//
// # Feeding a recorder from the hub
//
// The recorder does not import the hub; a reader loop connects them:
//
//	rd, _ := stream.AddReader("record", 0)
//	for {
//		u, err := rd.ReadUnit(ctx)
//		if err != nil {
//			break
//		}
//		switch u.Codec {
//		case video.CodecH264:
//			_ = rec.WriteH264(u.PTS, u.NTP, u.NALUs)
//		case video.CodecOpus:
//			_ = rec.WriteOpus(u.PTS, u.Payload)
//		}
//	}
//
// Unit bytes are read-only and shared, which is what the Write methods
// need: they keep the slices until written.
package record
