package audit

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/pwndex/pwndex/index"
)

// BenchmarkRunLocal audits a generated base of 100k customers (e-mail
// only, as typed: mixed case; 10% exposed) against an index of 200k
// e-mail addresses, normalisation included, and reports identifiers/s.
// `pwndex bench` drives the 1M-customer / 10M-identifier run.
func BenchmarkRunLocal(b *testing.B) {
	const customers, indexed = 100_000, 200_000
	dir := b.TempDir()
	var emails []string
	for i := 0; i < indexed; i++ {
		emails = append(emails, fmt.Sprintf("person%d@example.com", i*2))
	}
	ix := buildIndex(b, filepath.Join(dir, "ix"), []fixtureBreach{{
		b:      index.Breach{Name: "Big", BreachDate: "2020-01-01", DataClasses: []string{"Email addresses", "Passwords"}},
		emails: emails,
	}})
	var sb strings.Builder
	sb.WriteString("id;email\n")
	for i := 0; i < customers; i++ {
		n := i*2 + 1 // not indexed
		if i%10 == 0 {
			n = i * 2
		}
		fmt.Fprintf(&sb, "%d;Person%d@Example.com\n", i, n)
	}
	in := writeFile(b, dir, "crm.csv", sb.String())
	lk := NewLocal(ix)
	b.ReportAllocs()
	b.SetBytes(int64(sb.Len()))
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		out := filepath.Join(dir, fmt.Sprint("out", i))
		rep, err := Run(context.Background(), Config{Path: in, OutDir: out, Lookup: lk})
		if err != nil {
			b.Fatal(err)
		}
		if rep.ExposedCustomers != customers/10 {
			b.Fatalf("%d exposed, want %d", rep.ExposedCustomers, customers/10)
		}
		os.RemoveAll(out)
	}
	b.ReportMetric(float64(customers)*float64(b.N)/b.Elapsed().Seconds(), "identifiers/s")
}

// BenchmarkRemoteRange measures the remote client alone: range requests
// per second over keep-alive connections to a local server answering a
// small fixed body, RemoteOptions.Concurrency in flight.
func BenchmarkRemoteRange(b *testing.B) {
	body := []byte(`[{"hashSuffix":"1F2E3D4C5B6A79881F2E3D4C5B6A798811","websites":["Alpha"]}]`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}))
	defer srv.Close()
	r, err := NewRemote(RemoteOptions{BaseURL: srv.URL, APIKey: "k", Concurrency: 16})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	var next atomic.Uint32
	b.SetParallelism(8) // 16 goroutines on 2 CPUs, as Run's resolvers
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var dst []RangeEntry
		for pb.Next() {
			var err error
			dst, err = r.Range(context.Background(), index.KindEmail, next.Add(1)&(1<<24-1), dst[:0])
			if err != nil || len(dst) != 1 {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ranges/s")
}
