// Package httpapi is osprey's HTTP surface: the REST API under /api/v1, the live WebSocket, the WHEP
// and recording mounts, and the browser app. Every mutating request passes one choke point, where
// authentication, authorisation, control leases and the audit record sit.
package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ospreygcs/osprey/mavlink"
)

// Fleet is what the API needs of the link manager.
type Fleet interface {
	Vehicles() []*mavlink.Vehicle
	VehicleOn(network string, id byte) (*mavlink.Vehicle, error)
	Subscribe() *mavlink.Subscription
	Links() []mavlink.LinkInfo
}

// Auditor records every mutating request and its outcome. The hash-chained audit log implements it;
// until then the app logs the records.
type Auditor interface {
	Record(ctx context.Context, e AuditEntry)
}

// AuditEntry is one audited action.
type AuditEntry struct {
	Time      time.Time `json:"time"`
	Principal string    `json:"principal"`
	Role      string    `json:"role"`
	Method    string    `json:"method"`
	Path      string    `json:"path"`
	Status    int       `json:"status"`
	Remote    string    `json:"remote"`
}

// Config wires the API to the parts it serves. Nil parts answer 503 for their routes.
type Config struct {
	Fleet   Fleet
	Auditor Auditor
	// Mounts are handlers that own a route tree of their own (WHEP and streams, recordings, missions,
	// plans, flights, the UI), by Go ServeMux pattern, e.g. "/api/v1/streams/".
	Mounts map[string]http.Handler
	// MaxBodyBytes bounds every request body (default 1 MiB); larger bodies get 413.
	MaxBodyBytes int64
	// UpdatesPerSecond bounds vehicle state updates per vehicle per WebSocket client (default 10).
	UpdatesPerSecond int
	// MaxWSClients bounds concurrent WebSocket clients (default 100).
	MaxWSClients int
	// Registry collects /metrics; the server adds its own collectors to it.
	Registry *prometheus.Registry
	Logger   *slog.Logger
	// Missions is the plan library and the validation limits; Flights the flight log.
	Missions MissionConfig
	Flights  FlightStore
}

// Server is the HTTP API.
type Server struct {
	conf     Config
	mux      *http.ServeMux
	metrics  *apiMetrics
	wsSlots  chan struct{}
	log      *slog.Logger
	shutdown chan struct{}
	events   eventHub
	patterns []string // every route the server itself registers, for the OpenAPI check
}

// route registers one of the server's own routes.
func (s *Server) route(pattern string, h http.HandlerFunc) {
	s.patterns = append(s.patterns, pattern)
	s.mux.HandleFunc(pattern, h)
}

// New builds the server and its routes.
func New(conf Config) (*Server, error) {
	if conf.Fleet == nil {
		return nil, errors.New("httpapi: Fleet is required")
	}
	if conf.MaxBodyBytes <= 0 {
		conf.MaxBodyBytes = 1 << 20
	}
	if conf.UpdatesPerSecond <= 0 {
		conf.UpdatesPerSecond = 10
	}
	if conf.MaxWSClients <= 0 {
		conf.MaxWSClients = 100
	}
	if conf.Registry == nil {
		conf.Registry = prometheus.NewRegistry()
	}
	if conf.Logger == nil {
		conf.Logger = slog.Default()
	}
	if conf.Auditor == nil {
		conf.Auditor = logAuditor{conf.Logger}
	}
	s := &Server{conf: conf, mux: http.NewServeMux(), wsSlots: make(chan struct{}, conf.MaxWSClients), log: conf.Logger,
		shutdown: make(chan struct{})}
	m, err := newAPIMetrics(conf.Registry, conf.Fleet)
	if err != nil {
		return nil, err
	}
	s.metrics = m
	s.routes()
	return s, nil
}

// Handler is the whole HTTP surface, with the choke point in front.
func (s *Server) Handler() http.Handler { return s.chokePoint(s.mux) }

// Shutdown tells live WebSocket clients to go, so an HTTP server's Shutdown does not wait on them.
func (s *Server) Shutdown() {
	select {
	case <-s.shutdown:
	default:
		close(s.shutdown)
	}
}

func (s *Server) routes() {
	s.route("GET /healthz", s.health)
	s.route("GET /metrics", s.metricsHandler().ServeHTTP)
	s.route("GET /api/v1/openapi.json", s.openAPI)
	s.route("GET /api/v1/vehicles", s.listVehicles)
	s.route("GET /api/v1/vehicles/{id}", s.getVehicle)
	s.route("POST /api/v1/vehicles/{id}/commands", s.command)
	s.route("GET /api/v1/vehicles/{id}/params", s.listParams)
	s.route("GET /api/v1/vehicles/{id}/params/{name}", s.getParam)
	s.route("PUT /api/v1/vehicles/{id}/params/{name}", s.setParam)
	s.route("GET /api/v1/links", s.listLinks)
	s.route("GET /api/v1/ws", s.websocket)
	s.missionRoutes()
	s.flightRoutes()
	for pattern, h := range s.conf.Mounts {
		s.mux.Handle(pattern, h)
	}
	s.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such API route: %s %s (see /api/v1/openapi.json)", r.Method, r.URL.Path)
	})
}

// chokePoint is the one place every request passes. Mutating requests are authenticated, authorised and
// audited here; for now every request is allowed as the anonymous admin, and still audited, so the
// record and the place for the checks exist before the roles do.
func (s *Server) chokePoint(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, s.conf.MaxBodyBytes)
		mutating := r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodOptions
		if !mutating {
			next.ServeHTTP(w, r)
			return
		}
		principal, role := "anonymous", "admin" // authentication and roles arrive with the auth issue
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		s.conf.Auditor.Record(r.Context(), AuditEntry{Time: time.Now().UTC(), Principal: principal, Role: role,
			Method: r.Method, Path: r.URL.Path, Status: rec.status, Remote: r.RemoteAddr})
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the real writer (flush, hijack for WebSocket).
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

type logAuditor struct{ log *slog.Logger }

func (a logAuditor) Record(_ context.Context, e AuditEntry) {
	a.log.Info("audit", "principal", e.Principal, "role", e.Role, "method", e.Method, "path", e.Path, "status", e.Status, "remote", e.Remote)
}

// apiError is every error body: a message a person can act on, a code a program can (errcode.go), and
// for vehicle commands what the vehicle said.
type apiError struct {
	Error      string `json:"error"`
	Code       string `json:"code"`
	Result     string `json:"result,omitempty"`
	StatusText string `json:"status_text,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, format string, args ...any) {
	writeJSON(w, status, apiError{Error: fmt.Sprintf(format, args...), Code: statusCode(status)})
}

// writeErrorOf answers with err, coded by what it wraps.
func writeErrorOf(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, apiError{Error: err.Error(), Code: errorCode(err, status)})
}

// writeFleetError maps the link manager's errors to HTTP statuses.
func writeFleetError(w http.ResponseWriter, err error) {
	e := apiError{Error: err.Error()}
	var ce *mavlink.CommandError
	if errors.As(err, &ce) {
		e.Result, e.StatusText = ce.Result, ce.StatusText
	}
	status := http.StatusInternalServerError
	switch {
	case errors.Is(err, mavlink.ErrNoVehicle):
		status = http.StatusNotFound
	case errors.Is(err, mavlink.ErrBadArgument), errors.Is(err, mavlink.ErrUnknownMode):
		status = http.StatusBadRequest
	case errors.Is(err, mavlink.ErrDenied), errors.Is(err, mavlink.ErrFailed), errors.Is(err, mavlink.ErrUnsupported),
		errors.Is(err, mavlink.ErrCancelled), errors.Is(err, mavlink.ErrNotConfirmed), errors.Is(err, mavlink.ErrParamRejected),
		errors.Is(err, mavlink.ErrBusy), errors.Is(err, mavlink.ErrTransferBusy):
		status = http.StatusConflict
	case errors.Is(err, mavlink.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		status = http.StatusGatewayTimeout
	case errors.Is(err, mavlink.ErrNoLink):
		status = http.StatusServiceUnavailable
	}
	e.Code = errorCode(err, status)
	writeJSON(w, status, e)
}

// decodeBody reads a JSON body strictly: unknown fields and trailing data are errors, and an oversized
// body is 413.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		writeError(w, http.StatusUnsupportedMediaType, "want Content-Type application/json, got %q", ct)
		return false
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, "body larger than %d bytes", tooBig.Limit)
			return false
		}
		writeError(w, http.StatusBadRequest, "malformed JSON: %v", err)
		return false
	}
	if dec.More() {
		writeError(w, http.StatusBadRequest, "malformed JSON: data after the object")
		return false
	}
	return true
}

// vehicleFromPath resolves {id}: "7" is system id 7 on the default network, "east:7" on network east.
func (s *Server) vehicleFromPath(w http.ResponseWriter, r *http.Request) (*mavlink.Vehicle, bool) {
	raw := r.PathValue("id")
	network, idText := "", raw
	if i := strings.LastIndexByte(raw, ':'); i >= 0 {
		network, idText = raw[:i], raw[i+1:]
	}
	id, err := strconv.Atoi(idText)
	if err != nil || id < 1 || id > 255 {
		writeError(w, http.StatusBadRequest, "vehicle %q: want a system id 1-255, optionally NETWORK:ID", raw)
		return nil, false
	}
	v, err := s.conf.Fleet.VehicleOn(network, byte(id))
	if err != nil {
		writeFleetError(w, err)
		return nil, false
	}
	return v, true
}

// VehicleRef names a vehicle in URLs and messages: "7" or "east:7".
func VehicleRef(network string, id byte) string {
	if network == "" {
		return strconv.Itoa(int(id))
	}
	return network + ":" + strconv.Itoa(int(id))
}
