package index

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// checkPrivate returns the problems of the private-lookup files under root
// (an index directory or a local snapshot): oprf.key must parse, every
// artefact it names must open (header, offset table and body checksums)
// and carry the ID of that key, and a sidecar (.vals), when present, must
// be intact and hold one pair per record. An index without oprf.key
// (written before private lookups) has nothing to check, unless private/
// holds artefacts: then the key is lost.
func checkPrivate(root string) []string {
	kp := filepath.Join(root, privKeyFile)
	kf, key, err := readKeyFileAt(kp)
	if why := privKeyLost(root, err); why != "" {
		return []string{fmt.Sprintf("private lookups: %s: the OPRF key is lost (run 'pwndex keys oprf-rotate')", why)}
	}
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return []string{fmt.Sprintf("private lookups: %v", err)}
	}
	pk, err := key.Public().MarshalBinary()
	if err != nil {
		return []string{fmt.Sprintf("private lookups: %s: %v", kp, err)}
	}
	id := sha256.Sum256(pk) // readKeyFileAt checked kf.KeyID against it
	var problems []string
	if !kf.summed {
		problems = append(problems, fmt.Sprintf("private lookups: %s: no checksum (written by an older pwndex: 'pwndex repair' adds it)", kp))
	}
	for name := range kf.Files {
		if k, err := ParseKind(name); err != nil || !slices.Contains(PrivateKinds, k) {
			problems = append(problems, fmt.Sprintf("private lookups: %s: artefact of unknown kind %q", kp, name))
		}
	}
	for _, k := range PrivateKinds {
		name := kf.Files[k.String()]
		if name == "" {
			continue
		}
		if strings.ContainsAny(name, `/\`) || strings.HasPrefix(name, ".") {
			problems = append(problems, fmt.Sprintf("private lookups: %s: bad artefact name %q", kp, name))
			continue
		}
		path := filepath.Join(root, privDir, name)
		s, err := openPrivSet(path, k)
		if err != nil {
			problems = append(problems, fmt.Sprintf("private lookups: %v", err))
			continue
		}
		if string(s.data[32:40]) != string(id[:8]) {
			problems = append(problems, fmt.Sprintf("private lookups: %s: made with another key than %s", path, kp))
		}
		records := s.records
		syscall.Munmap(s.data)
		vp := filepath.Join(root, privDir, valsName(name))
		if _, err := os.Stat(vp); err == nil {
			if v := readVals(vp); v == nil || uint64(len(v)) != records {
				problems = append(problems, fmt.Sprintf("private lookups: %s: damaged sidecar (the next derivation recomputes it)", vp))
			}
		}
	}
	return problems
}

// checkLocalSnapshots returns the problems of the local snapshots of the
// index in dir (local.go): the pointer must name a snapshot, and every
// complete snapshot must verify (VerifySnapshot: every file's size and
// SHA-256 against its manifest) with intact private-lookup files.
func checkLocalSnapshots(dir string) []string {
	root := filepath.Join(dir, LocalSnapshotsDir)
	ents, err := os.ReadDir(root)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return []string{fmt.Sprintf("local snapshots: %v", err)}
	}
	var problems []string
	cur, err := CurrentLocalSnapshot(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		problems = append(problems, err.Error())
	} else if err == nil {
		if _, err := os.Stat(filepath.Join(root, cur, ManifestName)); err != nil {
			problems = append(problems, fmt.Sprintf("local snapshots: CURRENT names %q: %v", cur, err))
		}
	}
	for _, e := range ents {
		n := e.Name()
		if !e.IsDir() || strings.HasPrefix(n, ".") {
			continue // the pointer, and exports in progress or interrupted
		}
		sd := filepath.Join(root, n)
		if _, err := VerifySnapshot(sd); err != nil {
			problems = append(problems, fmt.Sprintf("local snapshot %s: %v", n, err))
		}
		for _, p := range checkPrivate(sd) {
			problems = append(problems, fmt.Sprintf("local snapshot %s: %s", n, p))
		}
	}
	return problems
}
