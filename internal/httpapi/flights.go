package httpapi

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/ospreygcs/osprey/internal/store"
	"github.com/ospreygcs/osprey/mission"
)

// FlightStore is the flight log.
type FlightStore interface {
	ListFlights(ctx context.Context, f store.FlightFilter) ([]store.Flight, error)
	GetFlight(ctx context.Context, id int64) (store.Flight, error)
	FlightTrack(ctx context.Context, id int64) ([]store.TrackPoint, error)
}

func (s *Server) flightRoutes() {
	s.route("GET /api/v1/flights", s.listFlights)
	s.route("GET /api/v1/flights/{id}", s.getFlight)
	s.route("GET /api/v1/flights/{id}/track", s.flightTrack)
	s.route("GET /api/v1/flights/{id}/tlog", s.flightTlog)
}

func (s *Server) flightStore(w http.ResponseWriter) (FlightStore, bool) {
	if s.conf.Flights == nil {
		writeError(w, http.StatusServiceUnavailable, "no flight log configured")
		return nil, false
	}
	return s.conf.Flights, true
}

func (s *Server) listFlights(w http.ResponseWriter, r *http.Request) {
	fs, ok := s.flightStore(w)
	if !ok {
		return
	}
	var f store.FlightFilter
	q := r.URL.Query()
	if v := q.Get("vehicle"); v != "" {
		id, err := strconv.Atoi(v)
		if err != nil || id < 1 || id > 255 {
			writeError(w, http.StatusBadRequest, "vehicle %q: want a system id", v)
			return
		}
		f.VehicleID = id
	}
	if v := q.Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			writeError(w, http.StatusBadRequest, "since %q: want RFC 3339 time", v)
			return
		}
		f.Since = t
	}
	flights, err := fs.ListFlights(r.Context(), f)
	if err != nil {
		writeStoreError(w, err)
		return
	}
	if flights == nil {
		flights = []store.Flight{}
	}
	writeJSON(w, http.StatusOK, flights)
}

func (s *Server) flightFromPath(w http.ResponseWriter, r *http.Request) (FlightStore, store.Flight, bool) {
	fs, ok := s.flightStore(w)
	if !ok {
		return nil, store.Flight{}, false
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		writeError(w, http.StatusBadRequest, "flight %q: want a positive number", r.PathValue("id"))
		return nil, store.Flight{}, false
	}
	f, err := fs.GetFlight(r.Context(), id)
	if err != nil {
		writeStoreError(w, err)
		return nil, store.Flight{}, false
	}
	return fs, f, true
}

func (s *Server) getFlight(w http.ResponseWriter, r *http.Request) {
	if _, f, ok := s.flightFromPath(w, r); ok {
		writeJSON(w, http.StatusOK, f)
	}
}

// flightTrack exports the flown track: ?format=geojson (default) or kml.
func (s *Server) flightTrack(w http.ResponseWriter, r *http.Request) {
	fs, f, ok := s.flightFromPath(w, r)
	if !ok {
		return
	}
	pts, err := fs.FlightTrack(r.Context(), f.ID)
	if err != nil {
		writeStoreError(w, err)
		return
	}
	track := make([]mission.TrackPoint, 0, len(pts))
	for _, p := range pts {
		track = append(track, mission.TrackPoint{Time: p.Time, LatDeg: p.LatDeg, LonDeg: p.LonDeg, AltM: p.AltRelM})
	}
	var buf bytes.Buffer
	name := fmt.Sprintf("flight-%d", f.ID)
	switch r.URL.Query().Get("format") {
	case "", "geojson":
		w.Header().Set("Content-Type", "application/geo+json")
		name += ".geojson"
		err = writeJSONTo(&buf, mission.TrackGeoJSON(track))
	case "kml":
		w.Header().Set("Content-Type", "application/vnd.google-earth.kml+xml")
		name += ".kml"
		err = mission.WriteTrackKML(&buf, track)
	default:
		writeError(w, http.StatusBadRequest, "format %q: want geojson or kml", r.URL.Query().Get("format"))
		return
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, "%v", err)
		return
	}
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", name))
	_, _ = w.Write(buf.Bytes())
}

func (s *Server) flightTlog(w http.ResponseWriter, r *http.Request) {
	_, f, ok := s.flightFromPath(w, r)
	if !ok {
		return
	}
	if f.TlogPath == "" {
		writeError(w, http.StatusNotFound, "flight %d has no telemetry log", f.ID)
		return
	}
	file, err := os.Open(f.TlogPath)
	if err != nil {
		writeError(w, http.StatusNotFound, "flight %d: telemetry log missing", f.ID)
		return
	}
	defer file.Close()
	st, err := file.Stat()
	if err != nil {
		writeError(w, http.StatusInternalServerError, "%v", err)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=\"flight-%d.tlog\"", f.ID))
	http.ServeContent(w, r, "", st.ModTime(), file)
}
