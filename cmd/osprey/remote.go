package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/ospreygcs/osprey/internal/httpapi"
	"github.com/ospreygcs/osprey/mavlink"
	"github.com/ospreygcs/osprey/mavlink/missionxfer"
	"github.com/ospreygcs/osprey/mission"
)

// remoteClient speaks osprey's HTTP API.
type remoteClient struct {
	base string // http://host:port
	hc   *http.Client
}

func newRemoteClient(server string) (*remoteClient, error) {
	u, err := url.Parse(server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usageError{fmt.Errorf("--server %q: want a URL such as http://127.0.0.1:8080", server)}
	}
	return &remoteClient{base: strings.TrimRight(u.String(), "/"), hc: &http.Client{}}, nil
}

// apiErrorBody is the API's error JSON.
type apiErrorBody struct {
	Error      string `json:"error"`
	Code       string `json:"code"`
	Result     string `json:"result"`
	StatusText string `json:"status_text"`
}

// remoteError is a server's error answer: its text as the server wrote it, and the error its code stands for.
type remoteError struct {
	msg string
	err error
}

func (e *remoteError) Error() string { return e.msg }
func (e *remoteError) Unwrap() error { return e.err }

// do sends a request and decodes a JSON answer into out (when set). An error answer becomes the error
// the same failure has over a link, so exit codes do not depend on the path.
func (c *remoteClient) do(ctx context.Context, method, path, ctype string, body []byte, out any, id byte, command string) error {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("server %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("server %s: %w", c.base, err)
	}
	if resp.StatusCode >= 300 {
		var e apiErrorBody
		_ = json.Unmarshal(b, &e)
		if e.Error == "" {
			e.Error = strings.TrimSpace(string(b))
		}
		return apiError(resp.StatusCode, e, id, command)
	}
	if out == nil {
		return nil
	}
	if p, ok := out.(*[]byte); ok {
		*p = b
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("server %s: unexpected answer to %s %s: %w", c.base, method, path, err)
	}
	return nil
}

func apiError(status int, e apiErrorBody, id byte, command string) error {
	if e.Result != "" {
		return mavlink.NewCommandError(id, strings.ToUpper(command), e.Result, e.StatusText)
	}
	if err := httpapi.ErrorForCode(e.Code); err != nil {
		if errors.Is(err, mission.ErrInvalidPlan) {
			err = errPlanInvalid // as the CLI's own validation says it
		}
		return &remoteError{msg: e.Error, err: err}
	}
	// A server that names no known code: go by the status.
	switch status {
	case http.StatusNotFound:
		if strings.Contains(e.Error, "vehicle") {
			return fmt.Errorf("%s: %w", e.Error, mavlink.ErrNoVehicle)
		}
		return errors.New(e.Error)
	case http.StatusBadRequest:
		return fmt.Errorf("%w: %s", mavlink.ErrBadArgument, strings.TrimPrefix(e.Error, "bad argument: "))
	case http.StatusUnprocessableEntity:
		return fmt.Errorf("%w: %s", errPlanInvalid, e.Error)
	case http.StatusConflict:
		return fmt.Errorf("%w: %s", missionxfer.ErrRejected, e.Error)
	case http.StatusGatewayTimeout:
		return fmt.Errorf("%w: %s", mavlink.ErrTimeout, e.Error)
	}
	return fmt.Errorf("server answered %d: %s", status, e.Error)
}

// remoteState is a vehicle as the API shows it.
type remoteState struct {
	Ref string `json:"ref"`
	mavlink.State
}

func (c *remoteClient) vehicles(ctx context.Context) ([]mavlink.State, error) {
	var list []remoteState
	if err := c.do(ctx, "GET", "/api/v1/vehicles", "", nil, &list, 0, ""); err != nil {
		return nil, err
	}
	out := make([]mavlink.State, 0, len(list))
	for _, s := range list {
		out = append(out, s.State)
	}
	return out, nil
}

// remoteVehicle is a vehicle behind a server.
type remoteVehicle struct {
	c   *remoteClient
	ref string
	id  byte

	mu   sync.Mutex
	last mavlink.State // the latest state seen, from the API or the live socket
	live bool          // last is kept fresh by a watch
}

func (v *remoteVehicle) SystemID() byte { return v.id }

// State returns the latest state: from the live socket while a watch runs, else read from the API.
func (v *remoteVehicle) State() mavlink.State {
	v.mu.Lock()
	if v.live {
		defer v.mu.Unlock()
		return v.last
	}
	v.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var s remoteState
	if err := v.c.do(ctx, "GET", "/api/v1/vehicles/"+v.ref, "", nil, &s, v.id, ""); err == nil {
		v.mu.Lock()
		v.last = s.State
		v.mu.Unlock()
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.last
}

func (v *remoteVehicle) command(ctx context.Context, name string, body map[string]any) error {
	body["command"] = name
	b, _ := json.Marshal(body)
	return v.c.do(ctx, "POST", "/api/v1/vehicles/"+v.ref+"/commands", "application/json", b, nil, v.id, name)
}

func (v *remoteVehicle) Arm(ctx context.Context) error {
	return v.command(ctx, "arm", map[string]any{})
}
func (v *remoteVehicle) Disarm(ctx context.Context, force bool) error {
	return v.command(ctx, "disarm", map[string]any{"force": force})
}
func (v *remoteVehicle) SetMode(ctx context.Context, name string) error {
	err := v.command(ctx, "mode", map[string]any{"mode": name})
	if errors.Is(err, mavlink.ErrBadArgument) && strings.Contains(err.Error(), "unknown flight mode") {
		return fmt.Errorf("%w: %s", mavlink.ErrUnknownMode, err)
	}
	return err
}
func (v *remoteVehicle) Takeoff(ctx context.Context, altRelM float64) error {
	return v.command(ctx, "takeoff", map[string]any{"alt_m": altRelM})
}
func (v *remoteVehicle) Land(ctx context.Context) error {
	return v.command(ctx, "land", map[string]any{})
}
func (v *remoteVehicle) RTL(ctx context.Context) error {
	return v.command(ctx, "rtl", map[string]any{})
}
func (v *remoteVehicle) Goto(ctx context.Context, lat, lon, alt float64) error {
	return v.command(ctx, "goto", map[string]any{"lat_deg": lat, "lon_deg": lon, "alt_m": alt})
}
func (v *remoteVehicle) ChangeSpeed(ctx context.Context, speedMS float64) error {
	return v.command(ctx, "speed", map[string]any{"speed_m_s": speedMS})
}
func (v *remoteVehicle) Reboot(ctx context.Context) error {
	return v.command(ctx, "reboot", map[string]any{})
}
func (v *remoteVehicle) MissionStart(ctx context.Context) error {
	return v.command(ctx, "mission_start", map[string]any{})
}

// DownloadParams has the server fetch the whole list from the vehicle afresh. The server reports no
// progress while it does, so progress is called once, at the end.
func (v *remoteVehicle) DownloadParams(ctx context.Context, progress func(got, total int)) ([]mavlink.Param, error) {
	var params []mavlink.Param
	if err := v.c.do(ctx, "GET", "/api/v1/vehicles/"+v.ref+"/params?refresh=1", "", nil, &params, v.id, ""); err != nil {
		return nil, err
	}
	if progress != nil {
		progress(len(params), len(params))
	}
	return params, nil
}

func (v *remoteVehicle) GetParam(ctx context.Context, name string) (mavlink.Param, error) {
	var p mavlink.Param
	err := v.c.do(ctx, "GET", "/api/v1/vehicles/"+v.ref+"/params/"+url.PathEscape(name), "", nil, &p, v.id, "")
	return p, err
}

func (v *remoteVehicle) SetParam(ctx context.Context, name string, value float64) (mavlink.Param, error) {
	b, err := json.Marshal(map[string]float64{"value": value})
	if err != nil {
		return mavlink.Param{}, fmt.Errorf("%w: %s = %v", mavlink.ErrBadArgument, name, err) // NaN or Inf
	}
	var p mavlink.Param
	err = v.c.do(ctx, "PUT", "/api/v1/vehicles/"+v.ref+"/params/"+url.PathEscape(name), "application/json", b, &p, v.id, "")
	return p, err
}

// remoteSession is a command's connection through a server.
type remoteSession struct {
	v *remoteVehicle
}

// connectRemote finds the vehicle on the server: --vehicle, or the only one there is.
func connectRemote(ctx context.Context, server string, id int) (*remoteSession, error) {
	c, err := newRemoteClient(server)
	if err != nil {
		return nil, err
	}
	states, err := c.vehicles(ctx)
	if err != nil {
		return nil, err
	}
	var found []mavlink.State
	for _, s := range states {
		if s.Network == "" && (id == 0 || int(s.SystemID) == id) {
			found = append(found, s)
		}
	}
	switch {
	case len(found) == 0 && id != 0:
		return nil, fmt.Errorf("vehicle %d not known to %s: %w", id, server, mavlink.ErrNoVehicle)
	case len(found) == 0:
		return nil, fmt.Errorf("no vehicle known to %s: %w", server, mavlink.ErrNoVehicle)
	case len(found) > 1:
		ids := make([]byte, len(found))
		for i, s := range found {
			ids[i] = s.SystemID
		}
		return nil, usageError{fmt.Errorf("%d vehicles on %s (system ids %v): choose one with --vehicle", len(found), server, ids)}
	}
	s := found[0]
	return &remoteSession{v: &remoteVehicle{c: c, ref: strconv.Itoa(int(s.SystemID)), id: s.SystemID, last: s}}, nil
}

func (s *remoteSession) vehicle() vehicleHandle { return s.v }
func (s *remoteSession) params() paramHandle    { return s.v }
func (s *remoteSession) close()                 {}

// uploadPlan validates locally with the command's limits, then has the server validate (with its own
// limits), upload and verify.
func (s *remoteSession) uploadPlan(ctx context.Context, p *mission.Plan, vf validateFlags, _ bool) (mission.Report, error) {
	rep := mission.Validate(p, vf.options())
	if !rep.OK() {
		return rep, fmt.Errorf("%w: %v (nothing was sent)", errPlanInvalid, rep.Err())
	}
	var buf bytes.Buffer
	if err := mission.WritePlan(&buf, p); err != nil {
		return rep, err
	}
	err := s.v.c.do(ctx, "POST", "/api/v1/vehicles/"+s.v.ref+"/mission?filename=plan.plan", "application/json", buf.Bytes(), nil, s.v.id, "mission upload")
	return rep, err
}

func (s *remoteSession) downloadPlan(ctx context.Context, _ bool) (*mission.Plan, error) {
	var body []byte
	if err := s.v.c.do(ctx, "GET", "/api/v1/vehicles/"+s.v.ref+"/mission?format=plan", "", nil, &body, s.v.id, "mission download"); err != nil {
		return nil, err
	}
	return mission.ParsePlan(bytes.NewReader(body))
}

func (s *remoteSession) clearMission(ctx context.Context, all bool) error {
	return s.v.c.do(ctx, "DELETE", "/api/v1/vehicles/"+s.v.ref+"/mission?all="+strconv.FormatBool(all), "", nil, nil, s.v.id, "mission clear")
}

// watch follows the server's live socket: it keeps the vehicle's state fresh and forwards its events.
func (s *remoteSession) watch(ctx context.Context) (<-chan watchEvent, error) {
	wsURL := "ws" + strings.TrimPrefix(s.v.c.base, "http") + "/api/v1/ws"
	conn, _, err := websocket.Dial(ctx, wsURL, nil)
	if err != nil {
		return nil, fmt.Errorf("live updates from %s: %w", s.v.c.base, err)
	}
	conn.SetReadLimit(16 << 20)
	out := make(chan watchEvent, 64)
	s.v.mu.Lock()
	s.v.live = true
	s.v.mu.Unlock()
	go func() {
		defer conn.CloseNow()
		defer func() {
			s.v.mu.Lock()
			s.v.live = false
			s.v.mu.Unlock()
		}()
		for {
			_, b, err := conn.Read(ctx)
			if err != nil {
				return
			}
			var m struct {
				Type     string          `json:"type"`
				Vehicles []remoteState   `json:"vehicles"`
				Event    *mavlink.Event  `json:"event"`
				Vehicle  string          `json:"vehicle"`
				API      json.RawMessage `json:"api"`
			}
			if json.Unmarshal(b, &m) != nil {
				continue
			}
			for _, st := range m.Vehicles {
				if st.Ref == s.v.ref {
					s.v.mu.Lock()
					s.v.last = st.State
					s.v.mu.Unlock()
				}
			}
			if m.Event == nil || m.Vehicle != s.v.ref {
				continue
			}
			var we watchEvent
			switch {
			case m.Event.Kind == mavlink.EventMissionItemReached:
				we = watchEvent{kind: m.Event.Kind, seq: m.Event.MissionSeq}
			case m.Event.Kind == mavlink.EventStatusText && m.Event.Text != nil:
				we = watchEvent{kind: m.Event.Kind, severity: m.Event.Text.Severity, text: m.Event.Text.Text}
			default:
				continue
			}
			select {
			case out <- we:
			default:
			}
		}
	}()
	return out, nil
}
