package httpapi

import (
	"errors"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ospreygcs/osprey/mavlink"
)

type apiMetrics struct {
	commands         *prometheus.CounterVec
	transferFailures prometheus.Counter
	wsClients        prometheus.Gauge
	wsDropped        prometheus.Counter
}

func newAPIMetrics(reg *prometheus.Registry, fleet Fleet) (*apiMetrics, error) {
	m := &apiMetrics{
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "osprey_commands_total",
			Help: "Vehicle commands through the API, by command and result."}, []string{"command", "result"}),
		wsClients: prometheus.NewGauge(prometheus.GaugeOpts{Name: "osprey_ws_clients", Help: "Live WebSocket clients."}),
		wsDropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "osprey_ws_dropped_total",
			Help: "WebSocket clients dropped because they could not keep up."}),
		transferFailures: prometheus.NewCounter(prometheus.CounterOpts{Name: "osprey_mission_transfer_failures_total",
			Help: "Mission, fence and rally transfers that failed."}),
	}
	for _, c := range []prometheus.Collector{m.commands, m.wsClients, m.wsDropped, m.transferFailures, fleetCollector{fleet}} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *apiMetrics) commandResult(command string, err error) {
	result := "accepted"
	var ce *mavlink.CommandError
	switch {
	case err == nil:
	case errors.As(err, &ce):
		result = ce.Result
	default:
		result = "error"
	}
	m.commands.WithLabelValues(command, result).Inc()
}

func (s *Server) metricsHandler() http.Handler {
	return promhttp.HandlerFor(s.conf.Registry, promhttp.HandlerOpts{})
}

// fleetCollector reads the link manager's counters when scraped: nothing runs between scrapes.
type fleetCollector struct{ fleet Fleet }

var (
	descVehicles    = prometheus.NewDesc("osprey_vehicles", "Vehicles known, by link state.", []string{"state"}, nil)
	descLinks       = prometheus.NewDesc("osprey_links", "Links open.", nil, nil)
	descFrames      = prometheus.NewDesc("osprey_link_frames_total", "MAVLink frames received, by link.", []string{"link"}, nil)
	descParseErrors = prometheus.NewDesc("osprey_link_parse_errors_total", "Unreadable or badly signed frames, by link.", []string{"link"}, nil)
	descLost        = prometheus.NewDesc("osprey_vehicle_frames_lost_total", "Frames missing from sequence numbers, by vehicle and link.", []string{"vehicle", "link"}, nil)
	descReceived    = prometheus.NewDesc("osprey_vehicle_frames_received_total", "Frames received, by vehicle and link.", []string{"vehicle", "link"}, nil)
)

func (c fleetCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descVehicles, descLinks, descFrames, descParseErrors, descLost, descReceived} {
		ch <- d
	}
}

func (c fleetCollector) Collect(ch chan<- prometheus.Metric) {
	links := c.fleet.Links()
	ch <- prometheus.MustNewConstMetric(descLinks, prometheus.GaugeValue, float64(len(links)))
	for _, l := range links {
		ch <- prometheus.MustNewConstMetric(descFrames, prometheus.CounterValue, float64(l.FramesIn), l.Name)
		ch <- prometheus.MustNewConstMetric(descParseErrors, prometheus.CounterValue, float64(l.ParseErrors), l.Name)
	}
	var alive, lost float64
	for _, v := range c.fleet.Vehicles() {
		s := v.State()
		if s.LinkLost {
			lost++
		} else {
			alive++
		}
		ref := VehicleRef(s.Network, s.SystemID)
		for _, h := range s.Links {
			ch <- prometheus.MustNewConstMetric(descLost, prometheus.CounterValue, float64(h.Lost), ref, h.Link)
			ch <- prometheus.MustNewConstMetric(descReceived, prometheus.CounterValue, float64(h.Received), ref, h.Link)
		}
	}
	ch <- prometheus.MustNewConstMetric(descVehicles, prometheus.GaugeValue, alive, "alive")
	ch <- prometheus.MustNewConstMetric(descVehicles, prometheus.GaugeValue, lost, "lost")
}
