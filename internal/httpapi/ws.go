package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/coder/websocket"

	"github.com/ospreygcs/osprey/mavlink"
)

// wsMessage is what the live socket carries. Type "states" holds the vehicles that changed since the
// last one (each at most UpdatesPerSecond times a second); type "event" one vehicle event and type "api"
// one API event (command results, mission transfer progress), both sent as they happen.
type wsMessage struct {
	Type     string         `json:"type"`
	Time     time.Time      `json:"time"`
	Vehicles []vehicleJSON  `json:"vehicles,omitempty"`
	Event    *mavlink.Event `json:"event,omitempty"`
	API      *apiEvent      `json:"api,omitempty"`
	Vehicle  string         `json:"vehicle,omitempty"`
}

// wsWriteTimeout is how long one message may take to reach a client before it is dropped as too slow.
const wsWriteTimeout = 5 * time.Second

func (s *Server) websocket(w http.ResponseWriter, r *http.Request) {
	select {
	case s.wsSlots <- struct{}{}:
		defer func() { <-s.wsSlots }()
	default:
		writeError(w, http.StatusServiceUnavailable, "too many live clients (limit %d)", s.conf.MaxWSClients)
		return
	}
	conn, err := websocket.Accept(w, r, nil)
	if err != nil {
		return // Accept has answered the request
	}
	defer conn.CloseNow()
	s.metrics.wsClients.Inc()
	defer s.metrics.wsClients.Dec()

	// The client sends nothing we need; CloseRead answers pings and notices when it goes.
	ctx := conn.CloseRead(r.Context())
	sub := s.conf.Fleet.Subscribe()
	defer sub.Close()
	apiSub := s.events.subscribe()
	defer s.events.unsubscribe(apiSub)

	// A first full picture, then changes.
	first := wsMessage{Type: "states", Time: time.Now().UTC(), Vehicles: []vehicleJSON{}}
	for _, v := range s.conf.Fleet.Vehicles() {
		first.Vehicles = append(first.Vehicles, vehicleView(v.State()))
	}
	if err := s.wsSend(ctx, conn, first); err != nil {
		return
	}
	tick := time.NewTicker(time.Second / time.Duration(s.conf.UpdatesPerSecond))
	defer tick.Stop()
	pending := map[string]vehicleJSON{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.shutdown:
			_ = conn.Close(websocket.StatusGoingAway, "server shutting down")
			return
		case e := <-apiSub.ch:
			if apiSub.overflow.Load() {
				s.metrics.wsDropped.Inc()
				_ = conn.Close(websocket.StatusPolicyViolation, "client could not keep up; reconnect")
				return
			}
			if err := s.wsSend(ctx, conn, wsMessage{Type: "api", Time: e.Time, API: &e, Vehicle: e.Vehicle}); err != nil {
				return
			}
		case <-sub.Ready():
			u := sub.Take()
			if u.DroppedEvents > 0 {
				s.metrics.wsDropped.Inc()
				_ = conn.Close(websocket.StatusPolicyViolation, "client could not keep up; reconnect")
				return
			}
			for _, st := range u.States {
				v := vehicleView(st)
				pending[v.Ref] = v
			}
			for i := range u.Events {
				e := u.Events[i]
				if err := s.wsSend(ctx, conn, wsMessage{Type: "event", Time: e.Time, Event: &e, Vehicle: VehicleRef(e.Network, e.SystemID)}); err != nil {
					return
				}
			}
		case now := <-tick.C:
			if len(pending) == 0 {
				continue
			}
			msg := wsMessage{Type: "states", Time: now.UTC()}
			for _, v := range pending {
				msg.Vehicles = append(msg.Vehicles, v)
			}
			clear(pending)
			if err := s.wsSend(ctx, conn, msg); err != nil {
				return
			}
		}
	}
}

// wsSend writes one message; a client that takes longer than wsWriteTimeout is dropped, so one slow
// browser costs only its own connection.
func (s *Server) wsSend(ctx context.Context, conn *websocket.Conn, m wsMessage) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, wsWriteTimeout)
	defer cancel()
	if err := conn.Write(wctx, websocket.MessageText, b); err != nil {
		if wctx.Err() != nil && ctx.Err() == nil {
			s.metrics.wsDropped.Inc()
		}
		return err
	}
	return nil
}
