package console

// ResetSummaries drops every cached count, so the next page computes them.
func ResetSummaries(c *Console) {
	c.sums.mu.Lock()
	defer c.sums.mu.Unlock()
	c.sums.m = map[string]*summaryEntry{}
}
