package ingest

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// progressInterval is how often the progress line is redrawn.
const progressInterval = 250 * time.Millisecond

// progress draws a one-line progress bar (phase, percentage, lines, rate,
// ETA) on a terminal. Counters are updated by the ingest loop with atomic
// stores; a goroutine redraws when there is a writer.
type progress struct {
	w     io.Writer
	label atomic.Value // string
	total atomic.Int64 // bytes expected in the current phase
	phase atomic.Value
	bytes atomic.Int64 // bytes read in the current phase
	lines atomic.Int64
	recs  atomic.Int64 // records written during commit

	start atomic.Int64 // phase start, Unix nanoseconds
	stop  chan struct{}
	done  sync.WaitGroup
}

// startProgress starts counting, and drawing on w unless w is nil.
func startProgress(w io.Writer, label string) *progress {
	p := &progress{w: w, stop: make(chan struct{})}
	p.label.Store(label)
	p.start.Store(time.Now().UnixNano())
	p.phase.Store("")
	if w != nil {
		p.done.Add(1)
		go p.loop()
	}
	return p
}

// setLabel names the input being read.
func (p *progress) setLabel(s string) { p.label.Store(s) }

// setPhase starts a new phase reading total bytes.
func (p *progress) setPhase(name string, total int64) {
	p.total.Store(total)
	p.bytes.Store(0)
	p.lines.Store(0)
	p.recs.Store(0)
	p.start.Store(time.Now().UnixNano())
	p.phase.Store(name)
}

func (p *progress) loop() {
	defer p.done.Done()
	t := time.NewTicker(progressInterval)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			fmt.Fprint(p.w, "\r\033[K")
			return
		case <-t.C:
			p.draw()
		}
	}
}

func (p *progress) draw() {
	phase, _ := p.phase.Load().(string)
	label, _ := p.label.Load().(string)
	el := time.Since(time.Unix(0, p.start.Load())).Seconds()
	total := p.total.Load()
	if phase == "committing" {
		fmt.Fprintf(p.w, "\r\033[K%s: committing, %s records written (%s)", label,
			siCount(p.recs.Load()), time.Duration(el*float64(time.Second)).Round(time.Second))
		return
	}
	done := p.bytes.Load()
	frac := 0.0
	if total > 0 {
		frac = min(float64(done)/float64(total), 1)
	}
	const width = 24
	fill := int(frac * width)
	bar := strings.Repeat("=", fill) + strings.Repeat(" ", width-fill)
	eta := "--"
	if el > 0.5 && done > 0 {
		rem := float64(total-done) / (float64(done) / el)
		eta = time.Duration(rem * float64(time.Second)).Round(time.Second).String()
	}
	lines := p.lines.Load()
	rate := 0.0
	if el > 0 {
		rate = float64(lines) / el
	}
	fmt.Fprintf(p.w, "\r\033[K%s: %s [%s] %5.1f%% %s lines %s lines/s ETA %s",
		label, phase, bar, 100*frac, siCount(lines), siCount(int64(rate)), eta)
}

// close stops drawing and clears the line.
func (p *progress) close() {
	if p.w == nil {
		return
	}
	close(p.stop)
	p.done.Wait()
}

// siCount formats n as 950, 12.3k, 4.56M or 1.02G.
func siCount(n int64) string {
	switch {
	case n < 1000:
		return fmt.Sprint(n)
	case n < 999_950:
		return fmt.Sprintf("%.1fk", float64(n)/1e3)
	case n < 999_995_000:
		return fmt.Sprintf("%.2fM", float64(n)/1e6)
	}
	return fmt.Sprintf("%.2fG", float64(n)/1e9)
}
