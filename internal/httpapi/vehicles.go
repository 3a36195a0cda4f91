package httpapi

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/ospreygcs/osprey/mavlink"
)

// vehicleJSON is a vehicle in the API: its state plus the reference URLs use.
type vehicleJSON struct {
	Ref string `json:"ref"`
	mavlink.State
	Stale bool `json:"stale"` // link lost: the position and the rest are old
}

func vehicleView(s mavlink.State) vehicleJSON {
	return vehicleJSON{Ref: VehicleRef(s.Network, s.SystemID), State: s, Stale: s.LinkLost}
}

func (s *Server) listVehicles(w http.ResponseWriter, _ *http.Request) {
	out := []vehicleJSON{}
	for _, v := range s.conf.Fleet.Vehicles() {
		out = append(out, vehicleView(v.State()))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getVehicle(w http.ResponseWriter, r *http.Request) {
	v, ok := s.vehicleFromPath(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, vehicleView(v.State()))
}

func (s *Server) listLinks(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.conf.Fleet.Links())
}

// commandRequest is the body of POST /vehicles/{id}/commands. Which fields apply depends on Command.
type commandRequest struct {
	Command string   `json:"command"` // arm, disarm, mode, takeoff, land, rtl, goto, speed, pause, resume, reboot, mission_start
	Force   bool     `json:"force,omitempty"`
	Mode    string   `json:"mode,omitempty"`
	AltM    *float64 `json:"alt_m,omitempty"`
	LatDeg  *float64 `json:"lat_deg,omitempty"`
	LonDeg  *float64 `json:"lon_deg,omitempty"`
	SpeedMS *float64 `json:"speed_m_s,omitempty"`
}

type commandResponse struct {
	Vehicle string `json:"vehicle"`
	Command string `json:"command"`
	OK      bool   `json:"ok"`
	Result  string `json:"result"`
}

// commandTimeout bounds one API command, retries included; the vehicle's own timeouts are shorter.
const commandTimeout = 30 * time.Second

func (s *Server) command(w http.ResponseWriter, r *http.Request) {
	v, ok := s.vehicleFromPath(w, r)
	if !ok {
		return
	}
	var req commandRequest
	if !decodeBody(w, r, &req) {
		return
	}
	run, err := commandFunc(v, req)
	if err != nil {
		writeError(w, http.StatusBadRequest, "%v", err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), commandTimeout)
	defer cancel()
	err = run(ctx)
	s.metrics.commandResult(req.Command, err)
	ref := VehicleRef(v.Network(), v.SystemID())
	if err != nil {
		ev := apiEvent{Kind: "command_result", Vehicle: ref, Command: req.Command, Result: "ERROR", Error: err.Error()}
		var ce *mavlink.CommandError
		if errors.As(err, &ce) {
			ev.Result = ce.Result
		}
		s.events.publish(ev)
		writeFleetError(w, err)
		return
	}
	s.events.publish(apiEvent{Kind: "command_result", Vehicle: ref, Command: req.Command, Result: "ACCEPTED"})
	writeJSON(w, http.StatusOK, commandResponse{Vehicle: VehicleRef(v.Network(), v.SystemID()), Command: req.Command, OK: true, Result: "ACCEPTED"})
}

func commandFunc(v *mavlink.Vehicle, req commandRequest) (func(context.Context) error, error) {
	need := func(name string, p *float64) (float64, error) {
		if p == nil || math.IsNaN(*p) || math.IsInf(*p, 0) {
			return 0, fmt.Errorf("%s needs %s", req.Command, name)
		}
		return *p, nil
	}
	switch req.Command {
	case "arm":
		return v.Arm, nil
	case "disarm":
		return func(ctx context.Context) error { return v.Disarm(ctx, req.Force) }, nil
	case "mode":
		if req.Mode == "" {
			return nil, fmt.Errorf("mode needs mode, e.g. {\"command\":\"mode\",\"mode\":\"GUIDED\"}")
		}
		return func(ctx context.Context) error { return v.SetMode(ctx, req.Mode) }, nil
	case "takeoff":
		alt, err := need("alt_m", req.AltM)
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context) error { return v.Takeoff(ctx, alt) }, nil
	case "land":
		return v.Land, nil
	case "rtl":
		return v.RTL, nil
	case "goto":
		lat, err := need("lat_deg", req.LatDeg)
		if err != nil {
			return nil, err
		}
		lon, err := need("lon_deg", req.LonDeg)
		if err != nil {
			return nil, err
		}
		alt, err := need("alt_m", req.AltM)
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context) error { return v.Goto(ctx, lat, lon, alt) }, nil
	case "speed":
		sp, err := need("speed_m_s", req.SpeedMS)
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context) error { return v.ChangeSpeed(ctx, sp) }, nil
	case "pause":
		return v.Pause, nil
	case "resume":
		return v.Resume, nil
	case "reboot":
		return v.Reboot, nil
	case "mission_start":
		return v.MissionStart, nil
	case "":
		return nil, fmt.Errorf("command is required")
	}
	return nil, fmt.Errorf("unknown command %q (want arm, disarm, mode, takeoff, land, rtl, goto, speed, pause, resume, reboot, mission_start)", req.Command)
}

func (s *Server) listParams(w http.ResponseWriter, r *http.Request) {
	v, ok := s.vehicleFromPath(w, r)
	if !ok {
		return
	}
	params := v.Params()
	if r.URL.Query().Get("refresh") == "1" || len(params) == 0 {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Minute)
		defer cancel()
		var err error
		if params, err = v.DownloadParams(ctx, nil); err != nil {
			writeFleetError(w, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, params)
}

func (s *Server) getParam(w http.ResponseWriter, r *http.Request) {
	v, ok := s.vehicleFromPath(w, r)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), commandTimeout)
	defer cancel()
	p, err := v.GetParam(ctx, r.PathValue("name"))
	if err != nil {
		writeFleetError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func (s *Server) setParam(w http.ResponseWriter, r *http.Request) {
	v, ok := s.vehicleFromPath(w, r)
	if !ok {
		return
	}
	var body struct {
		Value *float64 `json:"value"`
	}
	if !decodeBody(w, r, &body) {
		return
	}
	if body.Value == nil {
		writeError(w, http.StatusBadRequest, "want {\"value\": NUMBER}")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), commandTimeout)
	defer cancel()
	p, err := v.SetParam(ctx, r.PathValue("name"), *body.Value)
	if err != nil {
		writeFleetError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}
