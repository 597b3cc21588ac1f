package postgres_test

import (
	"testing"

	sage "github.com/sage-mcp/sage/daemon"
	"github.com/sage-mcp/sage/daemon/servicetest"
)

func TestServiceContract(t *testing.T) {
	servicetest.Run(t, func(t *testing.T) sage.Service {
		svc, _ := MustService(t)
		return svc
	})
}
