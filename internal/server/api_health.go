package server

import (
	"context"
	_ "embed"
	"net/http"
	"time"

	"github.com/yuncan/yuncan"
)

// handleHealth says the process is up.
func (s *Server) handleHealth() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		encode(w, http.StatusOK, map[string]string{"status": "ok", "version": s.cfg.Version})
	})
}

// handleReady says whether the service can take traffic: the database
// answers.
func (s *Server) handleReady() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.db.Ping(ctx); err != nil {
			s.writeError(w, r, &yuncan.Error{Code: yuncan.Unavailable, Reason: "database_unavailable", Message: "the database does not answer", Err: err})
			return
		}
		encode(w, http.StatusOK, map[string]string{"status": "ready"})
	})
}

//go:embed openapi.json
var openapiDoc []byte

// handleOpenAPI serves the OpenAPI 3.1 document of the API.
func (s *Server) handleOpenAPI() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Write(openapiDoc)
	})
}

// handleNotFound answers unknown API paths in the error shape.
func (s *Server) handleNotFound() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, yuncan.Errorf(yuncan.NotFound, "no such API route"))
	})
}
