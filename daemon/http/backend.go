package http

import (
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"

	sage "github.com/sage-mcp/sage/daemon"
)

// errNotReady is returned while no backend is set.
var errNotReady = fmt.Errorf("daemon starting: %w", sage.ErrUnavailable)

// currentService is the backend's service, or errNotReady while there is
// none (the proxy of Server.Service forwards to it).
func (s *Server) currentService() (sage.Service, error) {
	b := s.backend.Load()
	if b == nil || b.Service == nil {
		return nil, errNotReady
	}
	return b.Service, nil
}

// currentPool is the backend's pool, or nil.
func (s *Server) currentPool() *pgxpool.Pool {
	if b := s.backend.Load(); b != nil {
		return b.Pool
	}
	return nil
}
