package app

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ospreygcs/osprey/video"
	"github.com/ospreygcs/osprey/video/relay"
)

// videoCollector reads the relay's streams when /metrics is scraped: nothing runs between scrapes.
type videoCollector struct{ r *relay.Relay }

var (
	descStreamLive    = prometheus.NewDesc("osprey_stream_live", "1 while the stream's camera is delivering, else 0.", []string{"stream"}, nil)
	descStreamBitrate = prometheus.NewDesc("osprey_stream_bitrate_bps", "Incoming bitrate of the stream.", []string{"stream"}, nil)
	descStreamReaders = prometheus.NewDesc("osprey_stream_readers", "Readers of the stream: WebRTC viewers, RTSP clients, the recorder.", []string{"stream"}, nil)
	descStreamErrors  = prometheus.NewDesc("osprey_stream_bad_units_total", "Broken or oversized access units dropped from the stream.", []string{"stream"}, nil)
	descViewers       = prometheus.NewDesc("osprey_webrtc_viewers", "Open WebRTC (WHEP) sessions.", nil, nil)
)

func (c videoCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descStreamLive, descStreamBitrate, descStreamReaders, descStreamErrors, descViewers} {
		ch <- d
	}
}

func (c videoCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.r.Streams() {
		live := 0.0
		if s.State == video.StateLive {
			live = 1
		}
		ch <- prometheus.MustNewConstMetric(descStreamLive, prometheus.GaugeValue, live, s.Name)
		ch <- prometheus.MustNewConstMetric(descStreamBitrate, prometheus.GaugeValue, float64(s.BitrateBPS), s.Name)
		ch <- prometheus.MustNewConstMetric(descStreamReaders, prometheus.GaugeValue, float64(s.Readers), s.Name)
		ch <- prometheus.MustNewConstMetric(descStreamErrors, prometheus.CounterValue, float64(s.BadUnits+s.DroppedNALUs), s.Name)
	}
	ch <- prometheus.MustNewConstMetric(descViewers, prometheus.GaugeValue, float64(c.r.WHEP().Sessions()))
}
