package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/pwndex/pwndex/quality"
)

// utf8BOM is the UTF-8 byte order mark written at the start of clean.csv
// and rejects.csv in the excel output format.
const utf8BOM = "\xEF\xBB\xBF"

// vetToDir runs the vet and writes the four outputs (clean.csv and
// rejects.csv with the input's delimiter and a BOM when excel). Files are written
// under temporary names and renamed at the end, so an interrupted run never
// leaves a half-written clean.csv that looks complete.
func vetToDir(ctx context.Context, in io.Reader, name, dir string, opts quality.VetOptions, excel bool, stdout io.Writer) (code int, err error) {
	cleanup := dirCreatedBy(dir)
	defer func() {
		if err != nil {
			cleanup() // after the deferred removal of the temporary files below
		}
	}()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 3, err
	}
	names := []string{"clean.csv", "rejects.csv", "report.json", "report.html"}
	tmp := make([]*os.File, len(names))
	defer func() {
		for _, f := range tmp {
			if f != nil {
				f.Close()
				os.Remove(f.Name())
			}
		}
	}()
	for i, n := range names {
		f, err := os.CreateTemp(dir, "."+n+".tmp*")
		if err != nil {
			return 3, err
		}
		tmp[i] = f
	}
	// Large buffers: encoding/csv's own 4 KiB buffer would cost one write
	// system call every ~25 rows.
	clean, rejects := bufio.NewWriterSize(tmp[0], vetOutBuffer), bufio.NewWriterSize(tmp[1], vetOutBuffer)
	if excel {
		// A UTF-8 byte order mark: Excel otherwise reads the file as the
		// locale's code page (Windows-1252 in France).
		clean.WriteString(utf8BOM)
		rejects.WriteString(utf8BOM)
	}
	rep, err := quality.Vet(ctx, in, filepath.Base(name), opts, quality.Outputs{Clean: clean, Rejects: rejects, KeepDelimiter: excel})
	if err == nil {
		if err = clean.Flush(); err == nil {
			err = rejects.Flush()
		}
		if err != nil {
			return 3, fmt.Errorf("writing output: %w", err)
		}
	}
	if err != nil {
		var ie *quality.InputError
		if errors.As(err, &ie) {
			return 2, err
		}
		return 3, err
	}
	js, err := rep.JSON()
	if err != nil {
		return 3, err
	}
	if _, err := tmp[2].Write(append(js, '\n')); err != nil {
		return 3, err
	}
	if err := rep.WriteHTML(tmp[3]); err != nil {
		return 3, err
	}
	for i, f := range tmp {
		if err := f.Sync(); err != nil {
			return 3, err
		}
		if err := f.Close(); err != nil {
			return 3, err
		}
		if err := os.Rename(f.Name(), filepath.Join(dir, names[i])); err != nil {
			return 3, err
		}
		tmp[i] = nil
	}
	verdict := "PASS"
	if !rep.Verdict.Pass {
		verdict = "FAIL"
	}
	fmt.Fprintf(stdout, "%s: %d rows, %d clean, %d rejected (%s) -> %s\n", verdict, rep.Rows, rep.Clean, rep.Rejected, rep.Encoding, dir)
	for _, f := range rep.Verdict.Failures {
		fmt.Fprintf(stdout, "  - %s\n", f)
	}
	for _, w := range rep.Warnings {
		fmt.Fprintf(stdout, "  ! %s\n", w)
	}
	if !rep.Verdict.Pass {
		return 1, nil
	}
	return 0, nil
}
