package whep

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/ospreygcs/osprey/video"
)

// splitPath parses the tail after PathPrefix: "NAME/whep" or
// "NAME/whep/SESSION". ok is false for anything else.
func splitPath(rest string) (name, session string, ok bool) {
	if n, found := strings.CutSuffix(rest, "/whep"); found {
		return n, "", n != ""
	}
	i := strings.LastIndex(rest, "/whep/")
	if i <= 0 {
		return "", "", false
	}
	name, session = rest[:i], rest[i+len("/whep/"):]
	if session == "" || strings.Contains(session, "/") {
		return "", "", false
	}
	return name, session, true
}

func (s *Server) cors(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", s.cfg.AllowOrigin)
	h.Set("Access-Control-Expose-Headers", "Location, ETag, Link, Retry-After")
}

// httpError writes a plain-text error a person can act on.
func httpError(w http.ResponseWriter, code int, format string, args ...any) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = fmt.Fprintf(w, format+"\n", args...)
}

// handleOptions answers CORS preflights and WHEP capability probes.
func (s *Server) handleOptions(w http.ResponseWriter, r *http.Request) {
	s.cors(w)
	h := w.Header()
	_, session, ok := splitPath(r.PathValue("rest"))
	if !ok {
		httpError(w, http.StatusNotFound, "not a WHEP endpoint")
		return
	}
	if session == "" {
		h.Set("Allow", "OPTIONS, POST")
		h.Set("Accept-Post", "application/sdp")
		h.Set("Access-Control-Allow-Methods", "OPTIONS, POST")
	} else {
		h.Set("Allow", "OPTIONS, DELETE")
		h.Set("Access-Control-Allow-Methods", "OPTIONS, DELETE")
	}
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, If-Match")
	h.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
}

// handlePatch refuses trickle ICE and ICE restarts: answers carry every
// candidate, so viewers need neither.
func (s *Server) handlePatch(w http.ResponseWriter, r *http.Request) {
	s.cors(w)
	if _, session, ok := splitPath(r.PathValue("rest")); !ok || session == "" {
		httpError(w, http.StatusNotFound, "not a WHEP session")
		return
	}
	w.Header().Set("Allow", "OPTIONS, DELETE")
	httpError(w, http.StatusMethodNotAllowed, "trickle ICE and ICE restart are not supported: the answer carries all candidates")
}

func (s *Server) handleDelete(w http.ResponseWriter, r *http.Request) {
	s.cors(w)
	name, id, ok := splitPath(r.PathValue("rest"))
	if !ok || id == "" {
		httpError(w, http.StatusNotFound, "not a WHEP session")
		return
	}
	s.mu.Lock()
	se := s.sessions[id]
	s.mu.Unlock()
	if se == nil || se.streamName != name {
		httpError(w, http.StatusNotFound, "no such session")
		return
	}
	se.stop()
	select {
	case <-se.done:
	case <-r.Context().Done():
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handlePost(w http.ResponseWriter, r *http.Request) {
	s.cors(w)
	name, id, ok := splitPath(r.PathValue("rest"))
	if !ok || id != "" {
		if ok {
			w.Header().Set("Allow", "OPTIONS, DELETE")
			httpError(w, http.StatusMethodNotAllowed, "POST the offer to the stream's WHEP endpoint, not to a session")
			return
		}
		httpError(w, http.StatusNotFound, "not a WHEP endpoint: use POST %sNAME/whep", PathPrefix)
		return
	}

	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/sdp" {
		w.Header().Set("Accept-Post", "application/sdp")
		httpError(w, http.StatusUnsupportedMediaType, "the offer must be sent as Content-Type: application/sdp")
		return
	}
	limit := s.cfg.MaxOfferBytes
	if r.ContentLength > limit {
		// Refuse before reading: the declared body is too big.
		w.Header().Set("Connection", "close")
		httpError(w, http.StatusRequestEntityTooLarge, "offer larger than %d bytes", limit)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			httpError(w, http.StatusRequestEntityTooLarge, "offer larger than %d bytes", limit)
			return
		}
		httpError(w, http.StatusBadRequest, "reading the offer: %v", err)
		return
	}
	offer, err := parseOffer(body)
	if err != nil {
		httpError(w, http.StatusBadRequest, "malformed SDP offer: %v", err)
		return
	}

	stream, err := s.streams.Stream(name)
	if err != nil {
		if errors.Is(err, video.ErrStreamNotFound) {
			httpError(w, http.StatusNotFound, "no stream named %q", name)
			return
		}
		httpError(w, http.StatusInternalServerError, "looking up stream %q: %v", name, err)
		return
	}
	media, _, live := stream.Media()
	if !live {
		state, lastErr := stream.State()
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterOffline))
		msg := fmt.Sprintf("stream %q is %s", name, state)
		if lastErr != "" {
			msg += ": " + lastErr
		}
		httpError(w, http.StatusConflict, "%s; retry later", msg)
		return
	}
	plan, err := offer.plan(media)
	if err != nil {
		httpError(w, http.StatusNotAcceptable, "%v", err)
		return
	}

	se, answer, err := s.startSession(r.Context(), stream, string(body), plan)
	if err != nil {
		var he *httpErr
		if errors.As(err, &he) {
			if he.retryAfter > 0 {
				w.Header().Set("Retry-After", strconv.Itoa(he.retryAfter))
			}
			httpError(w, he.code, "%s", he.msg)
			return
		}
		httpError(w, http.StatusInternalServerError, "starting the session: %v", err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/sdp")
	h.Set("Location", PathPrefix+name+"/whep/"+se.id)
	h.Set("ETag", `"`+se.id+`"`)
	for _, l := range s.linkHeaders() {
		h.Add("Link", l)
	}
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, answer)
}

// linkHeaders renders the ICE servers as WHEP Link headers.
func (s *Server) linkHeaders() []string {
	var out []string
	for _, is := range s.cfg.ICEServers {
		for _, u := range is.URLs {
			l := "<" + u + `>; rel="ice-server"`
			if is.Username != "" || is.Credential != "" {
				l += `; username="` + is.Username + `"; credential="` + is.Credential + `"; credential-type="password"`
			}
			out = append(out, l)
		}
	}
	return out
}

// httpErr is a failure with its HTTP status, from startSession.
type httpErr struct {
	code       int
	retryAfter int
	msg        string
}

func (e *httpErr) Error() string { return e.msg }
