package ingest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/pwndex/pwndex/index"
)

// Format is the format of an input.
type Format uint8

// Input formats.
const (
	FormatAuto    Format = iota // detect from the content (DetectFormat)
	FormatHIBP                  // Pwned Passwords download, HASH:COUNT lines
	FormatHIBPDir               // Pwned Passwords downloader directory, XXXXX.txt files
	FormatDump                  // CSV/TSV breach dump with a header
	FormatCombo                 // email:password combo list
	FormatHashes                // pre-hashed identifiers, 40 hex digits a line
)

var formatNames = []string{"auto", "hibp", "hibp-dir", "dump", "combo", "hashes"}

// String returns the format's flag name.
func (f Format) String() string {
	if int(f) < len(formatNames) {
		return formatNames[f]
	}
	return fmt.Sprintf("format(%d)", uint8(f))
}

// MarshalText encodes the format as its name.
func (f Format) MarshalText() ([]byte, error) { return []byte(f.String()), nil }

// ParseFormat parses a format name as returned by Format.String.
func ParseFormat(s string) (Format, error) {
	for i, n := range formatNames {
		if n == s {
			return Format(i), nil
		}
	}
	return 0, fmt.Errorf("unknown format %q (want %s)", s, strings.Join(formatNames, ", "))
}

// IsBreach reports whether inputs of format f describe one breach and need a
// manifest (dumps, combo lists and hash lists).
func (f Format) IsBreach() bool { return f == FormatDump || f == FormatCombo || f == FormatHashes }

// sniffLen is how much of a file DetectFormat reads.
const sniffLen = 64 << 10

// DetectFormat guesses the format of the file or directory at path, and for
// Pwned Passwords inputs their kind (SHA-1 or NTLM; 0 otherwise). It reads
// at most the first 64 KiB of a file, or of the first prefix file of a
// directory. Errors wrap ErrBadInput.
func DetectFormat(path string) (Format, index.Kind, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, 0, inputErr(path, Location{}, err, "cannot read")
	}
	if fi.IsDir() {
		k, err := detectDirKind(path)
		return FormatHIBPDir, k, err
	}
	if !fi.Mode().IsRegular() {
		return 0, 0, inputErr(path, Location{}, nil, "not a regular file")
	}
	sample, err := readSample(path)
	if err != nil {
		return 0, 0, err
	}
	f, k := detectSample(sample)
	return f, k, nil
}

// detectSample guesses a file's format and kind from its first 64 KiB.
func detectSample(sample []byte) (Format, index.Kind) {
	line := firstLine(sample)
	if _, _, r := ParseHashCount(index.KindSHA1, line); r == ReasonNone {
		return FormatHIBP, index.KindSHA1
	}
	if _, _, r := ParseHashCount(index.KindNTLM, line); r == ReasonNone {
		return FormatHIBP, index.KindNTLM
	}
	if _, r := ParseHashLine(line); r == ReasonNone {
		return FormatHashes, 0
	}
	if bytes.IndexByte(line, '@') >= 0 {
		return FormatCombo, 0
	}
	return FormatDump, 0
}

// looksLikeDumpHeader reports whether a sample's first line can be a
// CSV/TSV header: several fields, or one naming an e-mail or phone column.
// (A header with several fields but no identifier column is reported by
// feedDump, with the columns it wants.)
func looksLikeDumpHeader(sample []byte) bool {
	line := firstLine(sample)
	hdr, ok := SplitFields(nil, bytes.Clone(line), detectSep(line))
	if !ok {
		return false
	}
	if len(hdr) >= 2 {
		return true
	}
	cols := mapColumns(hdr)
	return cols.email >= 0 || cols.phone >= 0
}

// readSample reads the start of a text file, refusing empty, binary and
// compressed files.
func readSample(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, inputErr(path, Location{}, err, "cannot read")
	}
	defer f.Close()
	buf := make([]byte, sniffLen)
	n, err := io.ReadFull(f, buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, inputErr(path, Location{}, err, "cannot read")
	}
	buf = buf[:n]
	if err := checkText(path, buf); err != nil {
		return nil, err
	}
	return buf, nil
}

// checkText refuses an empty sample and recognisable non-text files.
func checkText(path string, b []byte) error {
	switch {
	case len(bytes.TrimSpace(bytes.TrimPrefix(b, utf8BOM))) == 0:
		return inputErr(path, Location{}, nil, "empty file")
	case bytes.HasPrefix(b, []byte{0x1f, 0x8b}):
		return inputErr(path, Location{}, nil, "gzip-compressed file: decompress it first")
	case bytes.HasPrefix(b, []byte("7z\xbc\xaf\x27\x1c")):
		return inputErr(path, Location{}, nil, "7-Zip archive: extract it first")
	case bytes.HasPrefix(b, []byte("PK\x03\x04")):
		return inputErr(path, Location{}, nil, "zip archive: extract it first")
	case bytes.IndexByte(b, 0) >= 0:
		return inputErr(path, Location{}, nil, "binary file (NUL bytes), not text")
	}
	return nil
}

var utf8BOM = []byte("\ufeff")

// firstLine returns the first non-blank line of a sample, without its
// ending or a byte-order mark.
func firstLine(b []byte) []byte {
	b = bytes.TrimPrefix(b, utf8BOM)
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		var l []byte
		if i < 0 {
			l, b = b, nil
		} else {
			l, b = b[:i], b[i+1:]
		}
		if l = trimEOL(l); len(bytes.TrimSpace(l)) > 0 {
			return l
		}
	}
	return nil
}

// prefixFileName returns the prefix of a downloader file name "XXXXX.txt"
// (hex digits in either case).
func prefixFileName(name string) (uint32, bool) {
	if len(name) != 9 || !strings.EqualFold(name[5:], ".txt") {
		return 0, false
	}
	p, err := index.ParsePrefix([]byte(name[:5]), 5)
	if err != nil {
		return 0, false
	}
	return p.Value, true
}

// detectDirKind finds a non-empty prefix file in dir and tells SHA-1 from
// NTLM by its first line's suffix length.
func detectDirKind(dir string) (index.Kind, error) {
	d, err := os.Open(dir)
	if err != nil {
		return 0, inputErr(dir, Location{}, err, "cannot read directory")
	}
	defer d.Close()
	seen := false
	for {
		ents, err := d.ReadDir(1024)
		for _, e := range ents {
			p, ok := prefixFileName(e.Name())
			if !ok || !e.Type().IsRegular() {
				continue
			}
			seen = true
			path := filepath.Join(dir, e.Name())
			sample, err := readSample(path)
			if err != nil {
				var ie *InputError
				if errors.As(err, &ie) && ie.Msg == "empty file" {
					continue
				}
				return 0, err
			}
			line := firstLine(sample)
			for _, k := range []index.Kind{index.KindSHA1, index.KindNTLM} {
				if _, _, r := ParseSuffixCount(k, p, line); r == ReasonNone {
					return k, nil
				}
			}
			return 0, inputErr(dir, Location{File: e.Name(), Line: 1}, nil,
				"not a Pwned Passwords prefix file (want 35 or 27 hex digits, ':' and a count)")
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, inputErr(dir, Location{}, err, "cannot read directory")
		}
	}
	if !seen {
		return 0, inputErr(dir, Location{}, nil, "no Pwned Passwords prefix files (XXXXX.txt) in directory")
	}
	return 0, inputErr(dir, Location{}, nil, "every prefix file is empty")
}
