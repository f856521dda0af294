package index

// IsLocked reports whether err (from Open) means that another process holds
// the index: a writer (ingest, keys) refuses every other opener, and readers
// (serve, check, audit, vet) refuse a writer.
func IsLocked(err error) bool {
	return err != nil && isLockError(err)
}
