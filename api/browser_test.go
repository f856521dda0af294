package api

import (
	"bytes"
	"context"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/valyala/fasthttp"

	"github.com/pwndex/pwndex/index"
)

const chromiumPath = "/usr/bin/chromium"

// TestCheckPageInChromium drives the embedded page in headless Chromium
// over the DevTools protocol: type a password, click Check, read the
// verdict. A recording wrapper around the handler proves that only the
// 5-digit prefix reached the server, never the password or its full hash.
func TestCheckPageInChromium(t *testing.T) {
	requireChromium(t)
	f := getFixture(t)
	s, err := New(f.ix, Options{Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var seen, encodings []string
	base := serveWrapped(t, s, func(h fasthttp.RequestHandler) fasthttp.RequestHandler {
		return func(ctx *fasthttp.RequestCtx) {
			mu.Lock()
			seen = append(seen, string(ctx.RequestURI())+" "+string(ctx.Request.Header.RawHeaders())+string(ctx.Request.Body()))
			mu.Unlock()
			h(ctx)
			if bytes.HasPrefix(ctx.Path(), []byte("/range/")) {
				mu.Lock()
				encodings = append(encodings, string(ctx.Response.Header.ContentEncoding()))
				mu.Unlock()
			}
		}
	})
	ctx := chromiumContext(t, 60*time.Second)

	for _, tc := range []struct {
		password, want string
	}{
		{"hunter2", "seen 47 times"}, // 42 in the download + 5 in the dump
		{"zx81-spectrum-€", "not found"},
		{"Pa$$w0rd!", "seen 1 times"},
		{"password", "seen 3912816 times"}, // a big bucket: multi-member gzip
	} {
		if want := f.counts[index.KindSHA1][tc.password]; want != 0 && !strings.Contains(tc.want, " "+strconv.FormatUint(want, 10)+" ") {
			t.Fatalf("fixture count of %q is %d, test expects %q", tc.password, want, tc.want)
		}
		verdict, err := pageVerdict(ctx, base, "#check", "#result", [2]string{"#password", tc.password})
		if err != nil {
			t.Fatalf("driving Chromium for %q: %v", tc.password, err)
		}
		if !strings.Contains(verdict, tc.want) {
			t.Errorf("password %q: page says %q, want %q", tc.password, verdict, tc.want)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	var ranges int
	for _, r := range seen {
		for _, pw := range []string{"hunter2", "zx81", "Pa$$w0rd!", "Pa%24%24w0rd"} {
			if strings.Contains(r, pw) {
				t.Errorf("the server saw the password %q in %q", pw, r)
			}
		}
		for _, pw := range []string{"hunter2", "zx81-spectrum-€", "Pa$$w0rd!", "password"} {
			if full := sha1Hex(pw); strings.Contains(strings.ToUpper(r), full[5:15]) {
				t.Errorf("the server saw more than the prefix of %q's hash in %q", pw, r)
			}
		}
		if strings.HasPrefix(r, "/range/") {
			ranges++
		}
	}
	if ranges != 4 {
		t.Errorf("%d range requests, want 4: %v", ranges, seen)
	}
	// Chromium asked for gzip and decoded the padded multi-member body.
	if !slices.Contains(encodings, "gzip") {
		t.Errorf("no range response was gzip (encodings %v): the multi-member path went untested", encodings)
	}
}

// requireChromium skips the test when Chromium is absent (it fails under
// CI, where .ci/run installs it).
func requireChromium(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		skipMissingDep(t, chromiumPath+" is absent (apt-get install chromium): the browser test did not run")
	}
}

// serveWrapped serves s on 127.0.0.1 with its handler passed through wrap
// (a recording wrapper) until the test ends, and returns the base URL.
func serveWrapped(t *testing.T, s *Server, wrap func(fasthttp.RequestHandler) fasthttp.RequestHandler) string {
	t.Helper()
	srv := s.FastHTTPServer()
	srv.Handler = wrap(s.Handler())
	ln := listenLocal(t)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Shutdown() })
	return "http://" + ln.Addr().String()
}

// chromiumContext starts a headless Chromium with a fresh profile and
// returns a context driving it, bounded by timeout; the browser is closed
// when the test ends.
func chromiumContext(t *testing.T, timeout time.Duration) context.Context {
	t.Helper()
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
	)
	ctx, cancel := chromedp.NewContext(alloc)
	ctx, cancelT := context.WithTimeout(ctx, timeout)
	t.Cleanup(func() {
		cancelT()
		cancel()
		cancelAlloc()
	})
	return ctx
}

// pageVerdict loads the check page at base, types each {selector, text}
// input, clicks button and returns the text of the result element once it no
// longer reads "Checking…".
func pageVerdict(ctx context.Context, base, button, result string, inputs ...[2]string) (string, error) {
	actions := []chromedp.Action[chromedp.Void]{chromedp.Navigate(base + "/"), chromedp.WaitVisible(chromedp.CSS(inputs[0][0]))}
	for _, in := range inputs {
		actions = append(actions, chromedp.SendKeys(chromedp.CSS(in[0]), in[1]))
	}
	actions = append(actions,
		chromedp.Click(chromedp.CSS(button)),
		chromedp.WaitVisible(chromedp.CSS(result)),
		func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
			_, err := chromedp.Poll[bool](`document.querySelector(`+strconv.Quote(result)+`).textContent !== "Checking…"`)(ctx, t)
			return chromedp.Void{}, err
		},
	)
	if err := chromedp.Do(ctx, actions...); err != nil {
		return "", err
	}
	return chromedp.Run(ctx, chromedp.Text(chromedp.CSS(result)))
}
