package server

import "net/http"

// pages holds the parsed templates.
type pages struct{}

func mustParsePages() *pages { return &pages{} }

// pageRoutes registers the server-rendered pages.
func (s *Server) pageRoutes(mux *http.ServeMux) {}
