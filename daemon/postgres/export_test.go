package postgres

// AnalyzesStarted is how many background ANALYZEs s has started.
func AnalyzesStarted(s *MemoryService) int {
	s.analyzeMu.Lock()
	defer s.analyzeMu.Unlock()
	return s.analyzeRuns
}
