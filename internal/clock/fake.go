package clock

import (
	"sync"
	"time"
)

// Fake is a manual clock for tests: time moves only when Advance is called, and timers and tickers whose
// deadline is passed fire then, in deadline order.
type Fake struct {
	mu      sync.Mutex
	now     time.Time
	waiters []*fakeWaiter
}

// NewFake returns a fake clock reading start.
func NewFake(start time.Time) *Fake { return &Fake{now: start} }

// Now returns the fake time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// Advance moves the clock forward by d, firing what falls due. A tick is dropped, like time.Ticker does,
// when the receiver has not taken the previous one.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	end := f.now.Add(d)
	for {
		var next *fakeWaiter
		for _, w := range f.waiters {
			if w.active && !w.deadline.After(end) && (next == nil || w.deadline.Before(next.deadline)) {
				next = w
			}
		}
		if next == nil {
			break
		}
		f.now = next.deadline
		select {
		case next.ch <- f.now:
		default:
		}
		if next.period > 0 {
			next.deadline = next.deadline.Add(next.period)
		} else {
			next.active = false
		}
	}
	f.now = end
}

// NewTicker returns a ticker driven by Advance.
func (f *Fake) NewTicker(d time.Duration) Ticker {
	return fakeTicker{f.add(d, d)}
}

type fakeTicker struct{ w *fakeWaiter }

func (t fakeTicker) C() <-chan time.Time { return t.w.ch }
func (t fakeTicker) Stop()               { t.w.Stop() }

// NewTimer returns a timer driven by Advance.
func (f *Fake) NewTimer(d time.Duration) Timer {
	return f.add(d, 0)
}

func (f *Fake) add(d, period time.Duration) *fakeWaiter {
	f.mu.Lock()
	defer f.mu.Unlock()
	w := &fakeWaiter{clock: f, ch: make(chan time.Time, 1), deadline: f.now.Add(d), period: period, active: true}
	f.waiters = append(f.waiters, w)
	return w
}

type fakeWaiter struct {
	clock    *Fake
	ch       chan time.Time
	deadline time.Time
	period   time.Duration
	active   bool
}

func (w *fakeWaiter) C() <-chan time.Time { return w.ch }

func (w *fakeWaiter) Stop() bool {
	w.clock.mu.Lock()
	defer w.clock.mu.Unlock()
	was := w.active
	w.active = false
	return was
}

func (w *fakeWaiter) Reset(d time.Duration) bool {
	w.clock.mu.Lock()
	defer w.clock.mu.Unlock()
	was := w.active
	w.active = true
	w.deadline = w.clock.now.Add(d)
	return was
}
