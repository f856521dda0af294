package audit

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// paceMargin is the share of a known rate the client uses: a little under
// the limit, so that a server counting in fixed minutes never sees one
// request too many.
const paceMargin = 0.98

// pacer spaces the requests of a Remote to the server's rate limit. The
// rate comes from the subscription status (Rpm) when the server has it;
// otherwise it is learnt from the first 429: the requests the server
// accepted in the minute before it are what the key may send per minute.
// Every later 429 lowers the rate by a fifth. A 429 also pauses every
// request until its Retry-After.
type pacer struct {
	lim *rate.Limiter

	mu         sync.Mutex
	rpm        float64   // paced requests per minute; 0 = not paced
	known      bool      // rpm is the server's (subscription status)
	pauseUntil time.Time // set by a 429: no request before
	adjusted   time.Time // when the rate was last lowered
	slots      [600]int  // accepted requests per 100 ms slot, the last minute
	slotAt     [600]int64
}

func newPacer() *pacer { return &pacer{lim: rate.NewLimiter(rate.Inf, 1)} }

// setKnown paces to the server's announced rate of rpm requests per
// minute (0: no pacing).
func (p *pacer) setKnown(rpm float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.known = rpm > 0
	p.setLocked(paceMargin * rpm)
}

func (p *pacer) setLocked(rpm float64) {
	p.rpm = rpm
	if rpm <= 0 {
		p.lim.SetLimit(rate.Inf)
		return
	}
	p.lim.SetLimit(rate.Limit(rpm / 60))
	p.lim.SetBurst(1)
}

// RPM returns the paced requests per minute (0: not paced).
func (p *pacer) RPM() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rpm
}

// wait blocks until a request may be sent.
func (p *pacer) wait(ctx context.Context) error {
	for {
		p.mu.Lock()
		d := time.Until(p.pauseUntil)
		p.mu.Unlock()
		if d <= 0 {
			break
		}
		if err := sleep(ctx, d); err != nil {
			return err
		}
	}
	if err := p.lim.Wait(ctx); err != nil {
		// The limiter refuses at once a wait that would pass the
		// deadline: the run stops at the deadline, as the caller set it.
		<-ctx.Done()
		return ctx.Err()
	}
	return nil
}

// accepted records a request the server answered without 429.
func (p *pacer) accepted(at time.Time) {
	slot := at.UnixMilli() / 100
	i := slot % int64(len(p.slots))
	p.mu.Lock()
	if p.slotAt[i] != slot {
		p.slotAt[i], p.slots[i] = slot, 0
	}
	p.slots[i]++
	// A learnt rate creeps back up by a tenth a minute without 429, in
	// case the 429 it was learnt from came early.
	if !p.known && p.rpm > 0 && at.Sub(p.adjusted) > time.Minute {
		p.adjusted = at
		p.setLocked(p.rpm * 1.1)
	}
	p.mu.Unlock()
}

// acceptedLastMinute counts the requests accepted in the minute before now.
func (p *pacer) acceptedLastMinute(now time.Time) int {
	slot := now.UnixMilli() / 100
	n := 0
	for i := range p.slots {
		if slot-p.slotAt[i] < int64(len(p.slots)) {
			n += p.slots[i]
		}
	}
	return n
}

// limited handles a 429 for a request sent at sent: every request waits
// retryAfter, and the rate is learnt or lowered, once per burst of 429s
// (requests sent before the last adjustment say nothing new).
func (p *pacer) limited(sent time.Time, retryAfter time.Duration) {
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if until := now.Add(retryAfter); until.After(p.pauseUntil) {
		p.pauseUntil = until
	}
	if sent.Before(p.adjusted) {
		return
	}
	switch n := p.acceptedLastMinute(now); {
	case p.rpm <= 0 && n >= minLearn:
		// The server let this many through in the last minute.
		p.setLocked(paceMargin * float64(n))
	case p.rpm <= 0:
		// Too few requests to learn from (the key may be shared): the
		// pause alone, until a 429 says more.
		return
	default:
		p.setLocked(max(1, p.rpm*0.8))
	}
	p.adjusted = now
	p.known = false
}

// minLearn is the fewest accepted requests in a minute a rate is learnt
// from.
const minLearn = 10
