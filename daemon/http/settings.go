package http

import (
	"net/http"

	sage "github.com/sage-mcp/sage/daemon"
	"github.com/sage-mcp/sage/shared/api"
)

// settings serves GET /api/v1/settings?project=P: the namespace's recall
// settings, with Inject resolved for project P.
func (s *Server) settings(w http.ResponseWriter, r *http.Request) {
	project := r.URL.Query().Get("project")
	if err := sage.ValidateProject(project); err != nil {
		s.fail(w, r, err)
		return
	}
	st, err := s.Service().Settings(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := api.Settings{Stored: !st.UpdatedAt.IsZero(), Inject: st.InjectFor(project), MaxResults: st.MaxResults,
		MaxChars: st.MaxChars, MinScore: st.MinScore, OffProjects: st.OffProjects}
	if out.Stored {
		at := st.UpdatedAt
		out.UpdatedAt = &at
	}
	writeJSON(w, http.StatusOK, out)
}
