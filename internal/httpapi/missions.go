package httpapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ospreygcs/osprey/internal/store"
	"github.com/ospreygcs/osprey/mavlink"
	"github.com/ospreygcs/osprey/mavlink/missionxfer"
	"github.com/ospreygcs/osprey/mission"
)

// PlanStore is the plan library.
type PlanStore interface {
	SavePlan(ctx context.Context, name, format string, body []byte, meta store.PlanMeta) (store.PlanVersion, error)
	GetPlan(ctx context.Context, name string, version int) (store.PlanVersion, []byte, error)
	ListPlans(ctx context.Context) ([]store.PlanSummary, error)
	PlanVersions(ctx context.Context, name string) ([]store.PlanVersion, error)
	DeletePlan(ctx context.Context, name string) error
}

// MissionConfig is the plan library and the limits every plan is validated against.
type MissionConfig struct {
	Store         PlanStore
	CeilingM      float64
	MaxLegM       float64
	CruiseSpeedMS float64
	EnduranceS    float64
}

// planFormat is how the library stores plans: QGroundControl .plan JSON, whatever was imported.
const planFormat = "qgc-plan"

// transferTimeout bounds one mission transfer through the API.
const transferTimeout = 5 * time.Minute

func (s *Server) missionRoutes() {
	s.route("POST /api/v1/missions/validate", s.validatePlan)
	s.route("POST /api/v1/missions/convert", s.convertPlan)
	s.route("GET /api/v1/plans", s.listPlans)
	s.route("POST /api/v1/plans/{name}", s.savePlan)
	s.route("GET /api/v1/plans/{name}", s.getPlan)
	s.route("GET /api/v1/plans/{name}/versions", s.planVersions)
	s.route("DELETE /api/v1/plans/{name}", s.deletePlan)
	s.route("POST /api/v1/vehicles/{id}/mission", s.uploadMission)
	s.route("GET /api/v1/vehicles/{id}/mission", s.downloadMission)
	s.route("DELETE /api/v1/vehicles/{id}/mission", s.clearMission)
	s.route("POST /api/v1/vehicles/{id}/mission/start", s.startMission)
}

func (s *Server) validateOptions() mission.ValidateOptions {
	m := s.conf.Missions
	return mission.ValidateOptions{MaxAltAboveHomeM: m.CeilingM, MaxLegM: m.MaxLegM, EnduranceS: m.EnduranceS, SpeedMS: m.CruiseSpeedMS}
}

// readPlan parses a plan from the request body: .plan JSON, .waypoints text, whatever Decode recognises.
// ?filename= helps detection of a damaged file.
func readPlan(w http.ResponseWriter, r *http.Request) (*mission.Plan, bool) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, "plan larger than %d bytes", tooBig.Limit)
		} else {
			writeError(w, http.StatusBadRequest, "reading the plan: %v", err)
		}
		return nil, false
	}
	if len(bytes.TrimSpace(body)) == 0 {
		writeError(w, http.StatusBadRequest, "empty body: send a .plan or .waypoints file")
		return nil, false
	}
	name := r.URL.Query().Get("filename")
	if name == "" {
		name = "upload"
	}
	p, _, err := mission.Decode(name, body)
	if err != nil {
		status := http.StatusBadRequest
		if errors.Is(err, mission.ErrUnknownFormat) {
			status = http.StatusUnsupportedMediaType
		}
		writeError(w, status, "%v", err)
		return nil, false
	}
	return p, true
}

type validateResponse struct {
	OK     bool           `json:"ok"`
	Items  int            `json:"items"`
	Report mission.Report `json:"report"`
}

func (s *Server) validatePlan(w http.ResponseWriter, r *http.Request) {
	p, ok := readPlan(w, r)
	if !ok {
		return
	}
	rep := mission.Validate(p, s.validateOptions())
	writeJSON(w, http.StatusOK, validateResponse{OK: rep.OK(), Items: len(p.Items), Report: rep})
}

func (s *Server) convertPlan(w http.ResponseWriter, r *http.Request) {
	p, ok := readPlan(w, r)
	if !ok {
		return
	}
	writePlan(w, r, "converted", p)
}

// writePlan sends a plan in the format ?format= asks for (plan, waypoints, geojson, kml; default plan).
func writePlan(w http.ResponseWriter, r *http.Request, name string, p *mission.Plan) {
	var buf bytes.Buffer
	var err error
	format := r.URL.Query().Get("format")
	ctype, ext := "application/json", "plan"
	switch format {
	case "", "plan":
		err = mission.WritePlan(&buf, p)
	case "waypoints":
		ctype, ext = "text/plain; charset=utf-8", "waypoints"
		err = mission.WriteWaypoints(&buf, p)
	case "geojson":
		ctype, ext = "application/geo+json", "geojson"
		err = writeJSONTo(&buf, mission.PlanGeoJSON(p))
	case "kml":
		ctype, ext = "application/vnd.google-earth.kml+xml", "kml"
		err = mission.WriteKML(&buf, p)
	default:
		writeError(w, http.StatusBadRequest, "format %q: want plan, waypoints, geojson or kml", format)
		return
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, "writing the plan: %v", err)
		return
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", sanitizeFilename(name)+"."+ext))
	_, _ = w.Write(buf.Bytes())
}

func sanitizeFilename(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == '"' || r == '\\' || r == '/' {
			return '_'
		}
		return r
	}, s)
}

func (s *Server) planStore(w http.ResponseWriter) (PlanStore, bool) {
	if s.conf.Missions.Store == nil {
		writeError(w, http.StatusServiceUnavailable, "no plan library configured")
		return nil, false
	}
	return s.conf.Missions.Store, true
}

func writeStoreError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, "%v", err)
	case errors.Is(err, store.ErrInvalid):
		writeError(w, http.StatusBadRequest, "%v", err)
	default:
		writeError(w, http.StatusInternalServerError, "%v", err)
	}
}

func (s *Server) listPlans(w http.ResponseWriter, r *http.Request) {
	st, ok := s.planStore(w)
	if !ok {
		return
	}
	plans, err := st.ListPlans(r.Context())
	if err != nil {
		writeStoreError(w, err)
		return
	}
	if plans == nil {
		plans = []store.PlanSummary{}
	}
	writeJSON(w, http.StatusOK, plans)
}

// savePlan stores a new version of a plan: any format in, normalized to .plan so every export works.
// A plan that does not parse is refused; one with validation errors is kept (it is a draft) and the
// report says so.
func (s *Server) savePlan(w http.ResponseWriter, r *http.Request) {
	st, ok := s.planStore(w)
	if !ok {
		return
	}
	p, ok := readPlan(w, r)
	if !ok {
		return
	}
	rep := mission.Validate(p, s.validateOptions())
	var buf bytes.Buffer
	if err := mission.WritePlan(&buf, p); err != nil {
		writeError(w, http.StatusBadRequest, "%v", err)
		return
	}
	note := "valid"
	if !rep.OK() {
		note = fmt.Sprintf("%d validation errors", len(rep.Issues))
	}
	v, err := st.SavePlan(r.Context(), r.PathValue("name"), planFormat, buf.Bytes(), store.PlanMeta{Items: len(p.Items), Note: note})
	if err != nil {
		writeStoreError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"plan": v, "report": rep, "ok": rep.OK()})
}

func (s *Server) loadStoredPlan(w http.ResponseWriter, r *http.Request, name, versionText string) (*mission.Plan, store.PlanVersion, bool) {
	st, ok := s.planStore(w)
	if !ok {
		return nil, store.PlanVersion{}, false
	}
	version := 0
	if versionText != "" {
		var err error
		if version, err = strconv.Atoi(versionText); err != nil || version < 1 {
			writeError(w, http.StatusBadRequest, "version %q: want a positive number", versionText)
			return nil, store.PlanVersion{}, false
		}
	}
	meta, body, err := st.GetPlan(r.Context(), name, version)
	if err != nil {
		writeStoreError(w, err)
		return nil, store.PlanVersion{}, false
	}
	p, err := mission.ParsePlan(bytes.NewReader(body))
	if err != nil {
		writeError(w, http.StatusInternalServerError, "stored plan %s v%d: %v", name, meta.Version, err)
		return nil, store.PlanVersion{}, false
	}
	return p, meta, true
}

func (s *Server) getPlan(w http.ResponseWriter, r *http.Request) {
	p, meta, ok := s.loadStoredPlan(w, r, r.PathValue("name"), r.URL.Query().Get("version"))
	if !ok {
		return
	}
	writePlan(w, r, fmt.Sprintf("%s-v%d", meta.Name, meta.Version), p)
}

func (s *Server) planVersions(w http.ResponseWriter, r *http.Request) {
	st, ok := s.planStore(w)
	if !ok {
		return
	}
	vs, err := st.PlanVersions(r.Context(), r.PathValue("name"))
	if err != nil {
		writeStoreError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, vs)
}

func (s *Server) deletePlan(w http.ResponseWriter, r *http.Request) {
	st, ok := s.planStore(w)
	if !ok {
		return
	}
	if err := st.DeletePlan(r.Context(), r.PathValue("name")); err != nil {
		writeStoreError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// uploadMission validates a plan (the body, or ?plan=NAME[&version=N] from the library) and uploads its
// mission, fence and rally points, each verified by reading it back. Progress goes out as
// mission_progress events on the live socket. Nothing is sent for a plan with validation errors.
func (s *Server) uploadMission(w http.ResponseWriter, r *http.Request) {
	v, ok := s.vehicleFromPath(w, r)
	if !ok {
		return
	}
	var p *mission.Plan
	if name := r.URL.Query().Get("plan"); name != "" {
		if p, _, ok = s.loadStoredPlan(w, r, name, r.URL.Query().Get("version")); !ok {
			return
		}
	} else if p, ok = readPlan(w, r); !ok {
		return
	}
	rep := mission.Validate(p, s.validateOptions())
	if !rep.OK() {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"error": "the plan has validation errors; nothing was sent",
			"code":   errorCode(mission.ErrInvalidPlan, http.StatusUnprocessableEntity),
			"report": rep})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), transferTimeout)
	defer cancel()
	ref := VehicleRef(v.Network(), v.SystemID())
	progress := func(part string, done, total int) {
		s.events.publish(apiEvent{Kind: "mission_progress", Vehicle: ref, Transfer: "upload " + part, Done: done, Total: total})
	}
	if err := mission.Upload(ctx, v, p, mission.TransferOptions{Progress: progress}); err != nil {
		s.metrics.transferFailures.Inc()
		s.events.publish(apiEvent{Kind: "mission_failed", Vehicle: ref, Transfer: "upload", Error: err.Error()})
		if errors.Is(err, mission.ErrInvalidPlan) {
			writeErrorOf(w, http.StatusUnprocessableEntity, err)
			return
		}
		writeTransferError(w, err)
		return
	}
	s.events.publish(apiEvent{Kind: "mission_uploaded", Vehicle: ref, Total: len(p.Items)})
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "vehicle": ref, "items": len(p.Items), "report": rep})
}

func writeTransferError(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	switch {
	case errors.Is(err, missionxfer.ErrRejected), errors.Is(err, missionxfer.ErrMismatch), errors.Is(err, mavlink.ErrTransferBusy):
		status = http.StatusConflict
	case errors.Is(err, missionxfer.ErrTimeout):
		status = http.StatusGatewayTimeout
	case errors.Is(err, missionxfer.ErrInvalidItems):
		status = http.StatusUnprocessableEntity
	case errors.Is(err, missionxfer.ErrCancelled), errors.Is(err, context.Canceled):
		status = http.StatusServiceUnavailable
	}
	writeErrorOf(w, status, err)
}

func (s *Server) downloadMission(w http.ResponseWriter, r *http.Request) {
	v, ok := s.vehicleFromPath(w, r)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), transferTimeout)
	defer cancel()
	p, err := mission.Download(ctx, v, mission.TransferOptions{})
	if err != nil {
		s.metrics.transferFailures.Inc()
		if errors.Is(err, mission.ErrInvalidPlan) {
			writeError(w, http.StatusBadGateway, "the vehicle's mission: %v", err)
			return
		}
		writeTransferError(w, err)
		return
	}
	writePlan(w, r, "vehicle-"+VehicleRef(v.Network(), v.SystemID()), p)
}

func (s *Server) clearMission(w http.ResponseWriter, r *http.Request) {
	v, ok := s.vehicleFromPath(w, r)
	if !ok {
		return
	}
	types := []missionxfer.Type{missionxfer.Mission}
	switch all := r.URL.Query().Get("all"); all {
	case "", "false", "0":
	case "true", "1":
		types = append(types, missionxfer.Fence, missionxfer.Rally)
	default:
		writeError(w, http.StatusBadRequest, "all=%q: want true or false", all)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), transferTimeout)
	defer cancel()
	for i, t := range types {
		if err := missionxfer.Clear(ctx, v, t, missionxfer.Options{}); err != nil {
			if i > 0 {
				// Say what is already gone: an operator must not believe a fence still stands.
				err = fmt.Errorf("%w (cleared: %v; not cleared: %v)", err, types[:i], types[i:])
			}
			writeTransferError(w, err)
			return
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) startMission(w http.ResponseWriter, r *http.Request) {
	v, ok := s.vehicleFromPath(w, r)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), commandTimeout)
	defer cancel()
	err := v.MissionStart(ctx)
	s.metrics.commandResult("mission_start", err)
	if err != nil {
		writeFleetError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, commandResponse{Vehicle: VehicleRef(v.Network(), v.SystemID()), Command: "mission_start", OK: true, Result: "ACCEPTED"})
}
