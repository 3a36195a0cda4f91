package httpapi

import (
	"encoding/json"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// apiEvent is something the API did that live clients should see at once: a command's result, a
// mission transfer's progress or failure.
type apiEvent struct {
	Kind     string    `json:"kind"` // command_result, mission_progress, mission_uploaded, mission_failed
	Time     time.Time `json:"time"`
	Vehicle  string    `json:"vehicle"`
	Command  string    `json:"command,omitempty"`
	Result   string    `json:"result,omitempty"`
	Transfer string    `json:"transfer,omitempty"`
	Done     int       `json:"done,omitempty"`
	Total    int       `json:"total,omitempty"`
	Error    string    `json:"error,omitempty"`
}

// eventHub fans API events out to live clients without ever blocking the request that publishes.
type eventHub struct {
	mu   sync.Mutex
	subs map[*eventSub]struct{}
}

type eventSub struct {
	ch       chan apiEvent
	overflow atomic.Bool // the client fell behind: it is closed and must reconnect
}

// eventQueue bounds the API events waiting for one client.
const eventQueue = 256

func (h *eventHub) subscribe() *eventSub {
	s := &eventSub{ch: make(chan apiEvent, eventQueue)}
	h.mu.Lock()
	if h.subs == nil {
		h.subs = map[*eventSub]struct{}{}
	}
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	return s
}

func (h *eventHub) unsubscribe(s *eventSub) {
	h.mu.Lock()
	delete(h.subs, s)
	h.mu.Unlock()
}

func (h *eventHub) publish(e apiEvent) {
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		select {
		case s.ch <- e:
		default:
			s.overflow.Store(true)
		}
	}
}

func writeJSONTo(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
