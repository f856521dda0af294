package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/pwndex/pwndex/index"
)

// maxManifestSize bounds a manifest file.
const maxManifestSize = 1 << 20

// LoadManifest reads and validates a breach manifest: one JSON object with
// Have I Been Pwned's Breach fields (see index.Breach). Name is required
// (letters, digits, '.', '_' and '-', at most 64); Title defaults to Name;
// BreachDate, if present, is YYYY-MM-DD; PwnCount is not negative. Unknown
// fields are ignored, as HIBP adds fields over time. Errors wrap
// ErrBadInput.
func LoadManifest(path string) (index.Breach, error) {
	f, err := os.Open(path)
	if err != nil {
		return index.Breach{}, inputErr(path, Location{}, err, "cannot read manifest")
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxManifestSize+1))
	if err != nil {
		return index.Breach{}, inputErr(path, Location{}, err, "cannot read manifest")
	}
	if len(data) > maxManifestSize {
		return index.Breach{}, inputErr(path, Location{}, nil, "manifest larger than %d bytes", maxManifestSize)
	}
	b, err := ParseManifest(data)
	if err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line := int64(bytes.Count(data[:min(int(se.Offset), len(data))], []byte("\n"))) + 1
			return index.Breach{}, inputErr(path, Location{Line: line}, err, "invalid manifest")
		}
		return index.Breach{}, inputErr(path, Location{}, err, "invalid manifest")
	}
	return b, nil
}

// ParseManifest decodes and validates a manifest (see LoadManifest).
func ParseManifest(data []byte) (index.Breach, error) {
	var b index.Breach
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&b); err != nil {
		return index.Breach{}, err
	}
	if dec.More() {
		return index.Breach{}, errors.New("more than one JSON value")
	}
	if err := validateBreach(&b); err != nil {
		return index.Breach{}, err
	}
	return b, nil
}

func validateBreach(b *index.Breach) error {
	if b.Name == "" {
		return errors.New("field Name is required")
	}
	if len(b.Name) > 64 {
		return errors.New("field Name longer than 64 characters")
	}
	for i := 0; i < len(b.Name); i++ {
		c := b.Name[i]
		if !(isLetter(c) || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("field Name has character %q (want letters, digits, '.', '_', '-')", c)
		}
	}
	if b.Title == "" {
		b.Title = b.Name
	}
	if b.BreachDate != "" {
		if _, err := time.Parse(time.DateOnly, b.BreachDate); err != nil {
			return fmt.Errorf("field BreachDate %q is not YYYY-MM-DD", b.BreachDate)
		}
	}
	if b.PwnCount < 0 {
		return errors.New("field PwnCount is negative")
	}
	b.ID = 0
	return nil
}
