// Package objstore publishes index snapshots (index.Snapshot) to
// S3-compatible object storage and keeps replicas' local copies of the
// newest one, verified file by file.
//
// Layout under the location's prefix:
//
//	blobs/<sha256>                              one snapshot file, named by the SHA-256 of its content
//	snapshots/<version, 20 digits>-<sha256>.json  a manifest, named by its index version and its own SHA-256
//
// Publish uploads the files a store does not hold yet and the manifest
// last, so a reader that lists snapshots/ never finds a snapshot whose files
// are missing. Objects are never overwritten with other content: a blob's
// name is its checksum and a manifest's name is its own. The newest snapshot
// is the manifest with the highest index version.
//
// The client is minio-go (any S3 API: AWS S3, MinIO, SeaweedFS, Ceph...).
// Credentials come from the environment the way AWS tools read them:
// AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (or MINIO_ROOT_USER/PASSWORD),
// ~/.aws/credentials, then the instance's IAM role.
package objstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/pwndex/pwndex/index"
)

// Location is a parsed s3:// URL:
//
//	s3://BUCKET[/PREFIX][?endpoint=HOST[:PORT]&region=R&disable_https=true]
//
// endpoint defaults to s3.amazonaws.com; the query parameter names are those
// of gocloud.dev's s3blob URLs.
type Location struct {
	Bucket, Prefix string // Prefix has no leading or trailing slash
	Endpoint       string
	Region         string
	Insecure       bool // plain HTTP (disable_https=true)
}

// String returns the location as a URL.
func (l Location) String() string {
	u := url.URL{Scheme: "s3", Host: l.Bucket, Path: "/" + l.Prefix}
	q := url.Values{}
	if l.Endpoint != "s3.amazonaws.com" {
		q.Set("endpoint", l.Endpoint)
	}
	if l.Region != "" {
		q.Set("region", l.Region)
	}
	if l.Insecure {
		q.Set("disable_https", "true")
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// ParseURL parses an s3:// location (see Location).
func ParseURL(raw string) (Location, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Location{}, fmt.Errorf("object store URL: %w", err)
	}
	if u.Scheme != "s3" {
		return Location{}, fmt.Errorf("object store URL %q: scheme must be s3://", raw)
	}
	if u.User != nil || u.Fragment != "" || u.Opaque != "" {
		return Location{}, fmt.Errorf("object store URL %q: credentials, fragments and opaque forms are not accepted (credentials come from the environment)", raw)
	}
	l := Location{Bucket: u.Host, Endpoint: "s3.amazonaws.com"}
	if err := checkBucket(l.Bucket); err != nil {
		return Location{}, fmt.Errorf("object store URL %q: %w", raw, err)
	}
	if p := strings.Trim(u.Path, "/"); p != "" {
		if path.Clean(p) != p || strings.HasPrefix(p, "..") || strings.Contains(p, "//") || strings.ContainsAny(p, "\\\x00") {
			return Location{}, fmt.Errorf("object store URL %q: prefix %q is not a clean path", raw, p)
		}
		l.Prefix = p
	}
	for k, vs := range u.Query() {
		if len(vs) != 1 {
			return Location{}, fmt.Errorf("object store URL %q: parameter %s given %d times", raw, k, len(vs))
		}
		v := vs[0]
		switch k {
		case "endpoint":
			if v == "" || strings.ContainsAny(v, "/?#@ ") {
				return Location{}, fmt.Errorf("object store URL %q: endpoint %q must be HOST or HOST:PORT", raw, v)
			}
			l.Endpoint = v
		case "region":
			l.Region = v
		case "disable_https":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return Location{}, fmt.Errorf("object store URL %q: disable_https=%q: want true or false", raw, v)
			}
			l.Insecure = b
		default:
			return Location{}, fmt.Errorf("object store URL %q: unknown parameter %q (endpoint, region, disable_https)", raw, k)
		}
	}
	return l, nil
}

// checkBucket applies S3's bucket naming rules (3-63 characters: lower-case
// letters, digits, dots and hyphens, starting and ending with a letter or
// digit).
func checkBucket(b string) error {
	if len(b) < 3 || len(b) > 63 {
		return fmt.Errorf("bucket name %q must have 3 to 63 characters", b)
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || (c == '.' || c == '-') && i > 0 && i < len(b)-1
		if !ok {
			return fmt.Errorf("bucket name %q: only lower-case letters, digits, inner dots and hyphens", b)
		}
	}
	return nil
}

// Store is a location in an S3-compatible object store.
type Store struct {
	loc Location
	c   *minio.Client
}

// Options configures Open.
type Options struct {
	// Transport, if set, carries the HTTP requests (default: minio-go's).
	Transport http.RoundTripper
	// Creds, if set, replaces the credentials read from the environment.
	Creds *credentials.Credentials
}

// Open returns a Store for an s3:// URL.
func Open(raw string, opts Options) (*Store, error) {
	loc, err := ParseURL(raw)
	if err != nil {
		return nil, err
	}
	creds := opts.Creds
	if creds == nil {
		creds = credentials.NewChainCredentials([]credentials.Provider{
			&credentials.EnvAWS{}, &credentials.EnvMinio{}, &credentials.FileAWSCredentials{}, &credentials.IAM{},
		})
	}
	c, err := minio.New(loc.Endpoint, &minio.Options{
		Creds: creds, Secure: !loc.Insecure, Region: loc.Region, Transport: opts.Transport,
		BucketLookup: minio.BucketLookupPath, MaxRetries: 3,
	})
	if err != nil {
		return nil, fmt.Errorf("object store %s: %w", loc, err)
	}
	return &Store{loc: loc, c: c}, nil
}

// Location returns the store's location.
func (s *Store) Location() Location { return s.loc }

func (s *Store) key(rel string) string {
	if s.loc.Prefix == "" {
		return rel
	}
	return s.loc.Prefix + "/" + rel
}

// Object names.
const (
	dirBlobs     = "blobs/"
	dirSnapshots = "snapshots/"
)

// ManifestName returns the object name (relative to the prefix) of a
// manifest with the given version and bytes.
func ManifestName(version uint64, manifest []byte) string {
	sum := sha256.Sum256(manifest)
	return fmt.Sprintf("%s%020d-%s.json", dirSnapshots, version, hex.EncodeToString(sum[:]))
}

// parseManifestName returns the manifest SHA-256 encoded in a name made by
// ManifestName, and whether the name has that form.
func parseManifestName(name string) (sum string, ok bool) {
	rest, ok := strings.CutPrefix(name, dirSnapshots)
	if !ok {
		return "", false
	}
	rest, ok = strings.CutSuffix(rest, ".json")
	if !ok || len(rest) != 20+1+64 || rest[20] != '-' {
		return "", false
	}
	for _, c := range rest[:20] {
		if c < '0' || c > '9' {
			return "", false
		}
	}
	sum = rest[21:]
	if b, err := hex.DecodeString(sum); err != nil || len(b) != 32 || strings.ToLower(sum) != sum {
		return "", false
	}
	return sum, true
}

// PublishStats reports what Publish did.
type PublishStats struct {
	Name          string // the manifest's object name, relative to the prefix
	Files         int    // files in the snapshot
	Uploaded      int    // blobs uploaded
	UploadedBytes int64
	Reused        int  // blobs the store already held
	Existed       bool // the manifest was already published
}

// Publish uploads snap: every blob the store does not hold yet (a blob of
// the right size counts as held unless force is set), then the manifest.
func (s *Store) Publish(ctx context.Context, snap *index.Snapshot, force bool) (PublishStats, error) {
	m, err := index.MarshalManifest(&snap.Manifest)
	if err != nil {
		return PublishStats{}, err
	}
	st := PublishStats{Name: ManifestName(snap.Manifest.Version, m), Files: len(snap.Manifest.Files)}
	done := map[string]bool{}
	for _, f := range snap.Manifest.Files {
		if done[f.SHA256] {
			continue
		}
		done[f.SHA256] = true
		key := s.key(dirBlobs + f.SHA256)
		if !force {
			info, err := s.c.StatObject(ctx, s.loc.Bucket, key, minio.StatObjectOptions{})
			if err == nil && info.Size == f.Size {
				st.Reused++
				continue
			}
			if err != nil && minio.ToErrorResponse(err).Code != minio.NoSuchKey {
				return st, fmt.Errorf("object store %s: stat %s: %w", s.loc, key, err)
			}
		}
		if err := s.upload(ctx, snap, f, key); err != nil {
			return st, err
		}
		st.Uploaded++
		st.UploadedBytes += f.Size
	}
	if _, err := s.c.StatObject(ctx, s.loc.Bucket, s.key(st.Name), minio.StatObjectOptions{}); err == nil {
		st.Existed = true
		return st, nil
	}
	_, err = s.c.PutObject(ctx, s.loc.Bucket, s.key(st.Name), bytes.NewReader(m), int64(len(m)),
		minio.PutObjectOptions{ContentType: "application/json", SendContentMd5: true})
	if err != nil {
		return st, fmt.Errorf("object store %s: upload manifest %s: %w", s.loc, st.Name, err)
	}
	return st, nil
}

func (s *Store) upload(ctx context.Context, snap *index.Snapshot, f index.SnapshotFile, key string) error {
	r, err := snap.Open(f.Path)
	if err != nil {
		return err
	}
	defer r.Close()
	// The SHA-256 is checked again while uploading: a file that changed
	// since the snapshot was taken must not be published under its name.
	h := sha256.New()
	_, err = s.c.PutObject(ctx, s.loc.Bucket, key, io.TeeReader(r, h), f.Size,
		minio.PutObjectOptions{ContentType: "application/octet-stream", SendContentMd5: true})
	if err != nil {
		return fmt.Errorf("object store %s: upload %s (%s): %w", s.loc, f.Path, key, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != f.SHA256 {
		s.c.RemoveObject(ctx, s.loc.Bucket, key, minio.RemoveObjectOptions{})
		return fmt.Errorf("object store %s: %s changed while uploading (sha256 %s, snapshot says %s)", s.loc, f.Path, got, f.SHA256)
	}
	return nil
}

// ErrNoSnapshot is returned by Latest when nothing was published yet.
var ErrNoSnapshot = errors.New("no snapshot published")

// Latest returns the object name of the newest published manifest.
func (s *Store) Latest(ctx context.Context) (string, error) {
	names, err := s.Snapshots(ctx)
	if err != nil {
		return "", err
	}
	if len(names) == 0 {
		return "", fmt.Errorf("object store %s: %w", s.loc, ErrNoSnapshot)
	}
	return names[len(names)-1], nil
}

// Snapshots returns the object names of the published manifests, oldest
// first.
func (s *Store) Snapshots(ctx context.Context) ([]string, error) {
	var names []string
	pre := s.key(dirSnapshots)
	for o := range s.c.ListObjects(ctx, s.loc.Bucket, minio.ListObjectsOptions{Prefix: pre, Recursive: true}) {
		if o.Err != nil {
			return nil, fmt.Errorf("object store %s: list snapshots: %w", s.loc, o.Err)
		}
		if name := dirSnapshots + strings.TrimPrefix(o.Key, pre); validManifestName(name) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names, nil
}

// get opens an object.
func (s *Store) get(ctx context.Context, rel string) (io.ReadCloser, error) {
	o, err := s.c.GetObject(ctx, s.loc.Bucket, s.key(rel), minio.GetObjectOptions{})
	if err != nil {
		return nil, fmt.Errorf("object store %s: get %s: %w", s.loc, rel, err)
	}
	return o, nil
}

// PruneStats reports what Prune deleted.
type PruneStats struct {
	Manifests, Blobs int
	Bytes            int64
}

// Prune deletes every manifest but the newest keep (keep >= 1), then the
// blobs that no kept manifest uses and that are older than grace: a blob
// uploaded by a publish still in progress elsewhere (its manifest not yet
// written) is younger than grace and survives. A replica still fetching
// a deleted snapshot fails and moves on to the newest at its next poll.
func (s *Store) Prune(ctx context.Context, keep int, grace time.Duration) (PruneStats, error) {
	var st PruneStats
	if keep < 1 {
		return st, errors.New("objstore: prune must keep at least one snapshot")
	}
	names, err := s.Snapshots(ctx)
	if err != nil {
		return st, err
	}
	if len(names) == 0 {
		return st, nil // no snapshot: no blob can be told unused
	}
	keep = min(keep, len(names))
	used := map[string]bool{}
	for _, name := range names[len(names)-keep:] {
		m, err := s.manifest(ctx, name)
		if err != nil {
			return st, fmt.Errorf("object store %s: prune: kept snapshot %s unreadable, nothing deleted: %w", s.loc, name, err)
		}
		for _, f := range m.Files {
			used[f.SHA256] = true
		}
	}
	for _, name := range names[:len(names)-keep] {
		if err := s.c.RemoveObject(ctx, s.loc.Bucket, s.key(name), minio.RemoveObjectOptions{}); err != nil {
			return st, fmt.Errorf("object store %s: delete %s: %w", s.loc, name, err)
		}
		st.Manifests++
	}
	bpre := s.key(dirBlobs)
	cutoff := time.Now().Add(-grace)
	for o := range s.c.ListObjects(ctx, s.loc.Bucket, minio.ListObjectsOptions{Prefix: bpre, Recursive: true}) {
		if o.Err != nil {
			return st, fmt.Errorf("object store %s: list blobs: %w", s.loc, o.Err)
		}
		if used[strings.TrimPrefix(o.Key, bpre)] || o.LastModified.After(cutoff) {
			continue
		}
		if err := s.c.RemoveObject(ctx, s.loc.Bucket, o.Key, minio.RemoveObjectOptions{}); err != nil {
			return st, fmt.Errorf("object store %s: delete %s: %w", s.loc, o.Key, err)
		}
		st.Blobs++
		st.Bytes += o.Size
	}
	return st, nil
}

func validManifestName(name string) bool {
	_, ok := parseManifestName(name)
	return ok
}

// manifest downloads and validates a manifest, checking it against the
// SHA-256 in its name.
func (s *Store) manifest(ctx context.Context, name string) (*index.Manifest, error) {
	want, ok := parseManifestName(name)
	if !ok {
		return nil, fmt.Errorf("%q is not a snapshot manifest name", name)
	}
	rc, err := s.get(ctx, name)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxManifest))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != want {
		return nil, &CorruptError{Snapshot: name, Object: name, Got: hex.EncodeToString(sum[:]), Want: want, GotSize: int64(len(b)), WantSize: -1}
	}
	return index.ParseManifest(b)
}

// maxManifest bounds a manifest download.
const maxManifest = 64 << 20
