package quota

import (
	"path/filepath"
	"testing"

	"kurier/pkg/fixture"
)

// extractFixture unpacks the Maildir written by Courier-IMAP 5.0.13 (see
// pkg/fixture) and returns its path.
func extractFixture(t *testing.T) string {
	t.Helper()
	return filepath.Join(fixture.Courier(t), "Maildir")
}
