package httpapi

import (
	_ "embed"
	"net/http"
)

//go:embed openapi.json
var openAPIDoc []byte

func (s *Server) health(w http.ResponseWriter, _ *http.Request) {
	lost := 0
	vehicles := s.conf.Fleet.Vehicles()
	for _, v := range vehicles {
		if v.State().LinkLost {
			lost++
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "vehicles": len(vehicles), "vehicles_lost": lost,
		"links": len(s.conf.Fleet.Links())})
}

func (s *Server) openAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(openAPIDoc)
}
