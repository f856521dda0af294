package api

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/pwndex/pwndex/index"
)

func TestPadTableRows(t *testing.T) {
	for _, k := range []index.Kind{index.KindSHA1, index.KindNTLM} {
		t.Run(k.String(), func(t *testing.T) {
			tab := padTableOf(k)
			hexLen := k.HexLen() - 5 // 35 for SHA-1, 27 for NTLM
			if tab.rowLen != hexLen+4 || len(tab.rows) != padPoolRows*tab.rowLen {
				t.Fatalf("row length %d, table %d bytes; want %d, %d", tab.rowLen, len(tab.rows), hexLen+4, padPoolRows*(hexLen+4))
			}
			row := regexp.MustCompile(`^\r\n[0-9A-F]{` + strconv.Itoa(hexLen) + `}:0$`)
			var digits [16]int
			seen := make(map[string]bool, padPoolRows)
			for i := 0; i < len(tab.rows); i += tab.rowLen {
				r := tab.rows[i : i+tab.rowLen]
				if !row.Match(r) {
					t.Fatalf("row %d = %q", i/tab.rowLen, r)
				}
				s := string(r[2 : 2+hexLen])
				if seen[s] {
					t.Fatalf("row %d repeats suffix %s", i/tab.rowLen, s)
				}
				seen[s] = true
				for _, c := range s {
					digits[bytes.IndexByte([]byte("0123456789ABCDEF"), byte(c))]++
				}
			}
			// Uniform hex digits: chi-square with 15 degrees of freedom;
			// 50 is exceeded with probability ~1e-5.
			exp := float64(padPoolRows*hexLen) / 16
			chi := 0.0
			for _, n := range digits {
				d := float64(n) - exp
				chi += d * d / exp
			}
			if chi > 50 {
				t.Errorf("hex digits not uniform: chi-square %.1f, counts %v", chi, digits)
			}
		})
	}
}

func TestPadWindow(t *testing.T) {
	tab := padTableOf(index.KindSHA1)
	minRows, maxRows := 1<<30, 0
	starts := map[int]bool{}
	for i := range 5000 {
		first := i%2 == 0
		w := tab.window(first)
		lead := 2
		if first {
			lead = 0
			if bytes.HasPrefix(w, crlf) {
				t.Fatalf("a window starting the body begins with CRLF")
			}
		} else if !bytes.HasPrefix(w, crlf) {
			t.Fatalf("a window after real rows does not begin with CRLF")
		}
		if bytes.HasSuffix(w, lf) {
			t.Fatalf("window ends with a newline")
		}
		if (len(w)+2-lead)%tab.rowLen != 0 {
			t.Fatalf("window of %d bytes is not whole rows", len(w))
		}
		n := (len(w) + 2 - lead) / tab.rowLen
		minRows, maxRows = min(minRows, n), max(maxRows, n)
		// The window's offset in the table, from its address.
		off := len(tab.rows) - cap(w) - (2 - lead)
		if off%tab.rowLen != 0 {
			t.Fatalf("window starts mid-row (offset %d)", off)
		}
		starts[off/tab.rowLen] = true
	}
	if minRows < padMin || maxRows > padMin+padSpread-1 {
		t.Fatalf("window rows %d..%d, want within %d..%d", minRows, maxRows, padMin, padMin+padSpread-1)
	}
	// 5000 uniform draws of 200 lengths reach both ends almost surely.
	if minRows > padMin+2 || maxRows < padMin+padSpread-3 {
		t.Errorf("window rows only %d..%d: not spread over %d..%d", minRows, maxRows, padMin, padMin+padSpread-1)
	}
	if len(starts) < 4500 {
		t.Errorf("only %d distinct start rows in 5000 windows", len(starts))
	}
}

func TestPaddedBody(t *testing.T) {
	real := []byte("0018A45C4D1DEF81644B54AB7F969B88D65:1\r\n00D4F6E8FA6EECAD2A3AA415EEC418D38EC:2")
	pad := padTableOf(index.KindSHA1).window(false)
	want := append(append([]byte{}, real...), pad...)

	b := newPaddedBody()
	b.add(real)
	b.add(pad)
	if b.Len() != len(want) {
		t.Fatalf("Len %d, want %d", b.Len(), len(want))
	}
	got, err := io.ReadAll(iotest.OneByteReader(b))
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("Read: %v, %d bytes, want %d", err, len(got), len(want))
	}
	b.Close()

	b = newPaddedBody()
	b.add(real)
	b.add(pad)
	var buf bytes.Buffer
	if n, err := b.WriteTo(&buf); err != nil || n != int64(len(want)) || !bytes.Equal(buf.Bytes(), want) {
		t.Fatalf("WriteTo: %d, %v", n, err)
	}
	b.Close()

	// A stored gzip member decodes, CRC and size checked, with
	// compress/gzip.
	b = newPaddedBody()
	b.addStoredGzip(pad)
	buf.Reset()
	b.WriteTo(&buf)
	if buf.Len() != b.Len() {
		t.Fatalf("stored member: wrote %d bytes, Len %d", buf.Len(), b.Len())
	}
	b.Close()
	zr, err := gzip.NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(dec, pad) {
		t.Fatalf("stored gzip member: %v, %d bytes, want %d", err, len(dec), len(pad))
	}
}

func TestRangePaddedHead(t *testing.T) {
	f := getFixture(t)
	_, base := startServer(t, Options{})
	p := sha1Hex("password")[:5]
	real := len(f.body(index.KindSHA1, p))
	for range 3 {
		resp, body := get(t, "HEAD", base+"/range/"+p, "Add-Padding: true")
		if resp.StatusCode != 200 || len(body) != 0 {
			t.Fatalf("HEAD: status %d, %d body bytes", resp.StatusCode, len(body))
		}
		// The length of a padded body: real rows plus 10-209 rows of
		// CRLF + 35 hex + ":0".
		n := resp.ContentLength - int64(real)
		if n%39 != 0 || n/39 < 10 || n/39 > 209 {
			t.Fatalf("HEAD: Content-Length %d for %d bytes of real rows", resp.ContentLength, real)
		}
	}
	// The connection is still usable after HEAD responses.
	resp, body := get(t, "GET", base+"/range/"+p, "Add-Padding: true")
	if resp.StatusCode != 200 || !bytes.HasPrefix(body, []byte(f.body(index.KindSHA1, p))) {
		t.Fatalf("GET after HEAD: status %d", resp.StatusCode)
	}
}

// recordConn is a net.Conn serving one scripted request and recording
// the server's writes.
type recordConn struct {
	net.Conn // nil: only the methods below are used
	in       *bytes.Reader
	writes   [][]byte
}

func (c *recordConn) Read(p []byte) (int, error) { return c.in.Read(p) }
func (c *recordConn) Write(p []byte) (int, error) {
	c.writes = append(c.writes, append([]byte(nil), p...))
	return len(p), nil
}
func (c *recordConn) Close() error        { return nil }
func (c *recordConn) LocalAddr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 80} }
func (c *recordConn) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1234}
}
func (c *recordConn) SetDeadline(time.Time) error      { return nil }
func (c *recordConn) SetReadDeadline(time.Time) error  { return nil }
func (c *recordConn) SetWriteDeadline(time.Time) error { return nil }

// A dense range response (~37 KB), padded or not, leaves in one write.
func TestRangeDenseOneWrite(t *testing.T) {
	ix := getDenseIndex(t)
	s, err := New(ix, Options{Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := ix.PasswordRange(index.KindSHA1, 0xABCDE, index.Identity)
	if len(want) < 30_000 {
		t.Fatalf("dense bucket has %d bytes", len(want))
	}
	for _, pad := range []string{"", "Add-Padding: true\r\n"} {
		c := &recordConn{in: bytes.NewReader([]byte("GET /range/" + densePrefix + " HTTP/1.1\r\nHost: x\r\n" + pad + "Connection: close\r\n\r\n"))}
		if err := s.FastHTTPServer().ServeConn(c); err != nil {
			t.Fatal(err)
		}
		if len(c.writes) != 1 {
			t.Errorf("padding %q: %d writes, want 1", pad, len(c.writes))
		}
		resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(bytes.Join(c.writes, nil))), nil)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != 200 || !bytes.HasPrefix(body, want) {
			t.Fatalf("padding %q: status %d, %v, %d bytes", pad, resp.StatusCode, err, len(body))
		}
		if pad != "" && len(body) < len(want)+10*39 {
			t.Errorf("padded body of %d bytes for %d bytes of real rows", len(body), len(want))
		}
	}
}

// At the density of a 2-billion-hash corpus (2e9 / 2^20 ≈ 1,907 rows a
// bucket, ~75 KB, more than the 64 KiB write buffer) a range is still
// served whole and exact over TCP, padded or not, to a client asking for
// compression or not: the expected body is built here from the rows the
// test generated, not read back from the index.
func TestRangeDensestBucket(t *testing.T) {
	const prefix, rows = "FEDCB", 1907
	ix, err := index.Open(index.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	bb, err := ix.NewBaseBuilder(index.KindSHA1, index.BuildOptions{SourceID: "densest"})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	counts := map[string]uint64{}
	for len(counts) < rows {
		s := make([]byte, 35)
		for i := range s {
			s[i] = upperHex[rng.IntN(16)]
		}
		counts[string(s)] = 1 + uint64(rng.IntN(50_000_000))
	}
	suffixes := slices.Sorted(maps.Keys(counts))
	lines := make([]string, len(suffixes))
	for i, s := range suffixes {
		h := mustHash(index.KindSHA1, prefix+s)
		if err := bb.SetBase(&h, counts[s]); err != nil {
			t.Fatal(err)
		}
		lines[i] = s + ":" + strconv.FormatUint(counts[s], 10)
	}
	if _, err := bb.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := strings.Join(lines, "\r\n")
	if len(want) <= DefaultWriteBufferSize {
		t.Fatalf("the bucket has %d bytes, not more than the write buffer", len(want))
	}
	_, base := serveIndex(t, ix, Options{})
	for _, headers := range [][]string{
		nil,
		{"Accept-Encoding: gzip, deflate, br"},
		{"Add-Padding: true"},
		{"Add-Padding: true", "Accept-Encoding: gzip"},
	} {
		resp, body := get(t, "GET", base+"/range/"+prefix, headers...)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Encoding") != "" {
			t.Fatalf("%q: status %d, Content-Encoding %q", headers, resp.StatusCode, resp.Header.Get("Content-Encoding"))
		}
		if len(headers) == 0 || !strings.HasPrefix(headers[0], "Add-Padding") {
			if string(body) != want {
				t.Fatalf("%q: %d bytes, want the %d bytes of the %d rows", headers, len(body), len(want), rows)
			}
			continue
		}
		// Padding keeps every real row and adds only rows of count 0.
		got := map[string]string{}
		for l := range strings.SplitSeq(string(body), "\r\n") {
			s, c, ok := strings.Cut(l, ":")
			if !ok || len(s) != 35 {
				t.Fatalf("%q: line %q", headers, l)
			}
			got[s] = c
		}
		for s, n := range counts {
			if got[s] != strconv.FormatUint(n, 10) {
				t.Fatalf("%q: row %s has count %q, want %d", headers, s, got[s], n)
			}
		}
		for s, c := range got {
			if _, real := counts[s]; !real && c != "0" {
				t.Fatalf("%q: padding row %s has count %s", headers, s, c)
			}
		}
	}
}
