package httpapi

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestOpenAPIDocumentsEveryRoute fails when a route is added without its entry in openapi.json, or an
// entry stays behind for a route that is gone.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(openAPIDoc, &doc); err != nil {
		t.Fatal(err)
	}
	s := &Server{mux: http.NewServeMux()}
	s.routes()
	registered := map[string]bool{}
	for _, p := range s.patterns {
		method, path, _ := strings.Cut(p, " ")
		registered[strings.ToLower(method)+" "+path] = true
		if _, ok := doc.Paths[path][strings.ToLower(method)]; !ok {
			t.Errorf("route %s is not in openapi.json", p)
		}
	}
	for path, ops := range doc.Paths {
		if strings.HasPrefix(path, "/api/v1/streams") || strings.HasPrefix(path, "/api/v1/recordings") {
			continue // mounted from video, documented here for clients
		}
		for method := range ops {
			if !registered[method+" "+path] {
				t.Errorf("openapi.json documents %s %s, which the server does not serve", strings.ToUpper(method), path)
			}
		}
	}
}

// TestOpenAPIDocumentsEveryErrorCode fails when a code is added to errcode.go and not to openapi.json,
// and when a code answers for two different errors (--server mode could not tell them apart).
func TestOpenAPIDocumentsEveryErrorCode(t *testing.T) {
	var doc struct {
		Components struct {
			Schemas struct {
				Error struct {
					Properties struct {
						Code struct {
							Description string `json:"description"`
						} `json:"code"`
					} `json:"properties"`
				} `json:"Error"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(openAPIDoc, &doc); err != nil {
		t.Fatal(err)
	}
	documented := doc.Components.Schemas.Error.Properties.Code.Description
	if documented == "" {
		t.Fatal("openapi.json's Error has no code")
	}
	for _, c := range errorCodes() {
		if !strings.Contains(documented, " "+c.code+",") && !strings.Contains(documented, " "+c.code+";") {
			t.Errorf("code %q is not in openapi.json", c.code)
		}
	}
	for status := 400; status < 600; status++ {
		if code := statusCode(status); code != "internal" && ErrorForCode(code) != nil && status != http.StatusGatewayTimeout {
			t.Errorf("status code %q (%d) also names an error", code, status)
		}
	}
}
