package sage

// ValidateTags checks a memory's tags (at most MaxTags, each non-empty
// valid UTF-8 of at most MaxTagBytes), as UpdateMemory takes them.
func ValidateTags(tags []string) error { return checkTags("tags", tags) }
