// Package clock is the time source of every time-driven component, so tests can run them on a fake clock
// instead of sleeping.
package clock

import "time"

// Clock is what components ask for the time and for timers.
type Clock interface {
	Now() time.Time
	// NewTicker returns a ticker whose channel delivers ticks every d.
	NewTicker(d time.Duration) Ticker
	// NewTimer returns a timer that fires once after d.
	NewTimer(d time.Duration) Timer
}

// Ticker is the part of *time.Ticker components use.
type Ticker interface {
	C() <-chan time.Time
	Stop()
}

// Timer is the part of *time.Timer components use.
type Timer interface {
	C() <-chan time.Time
	Stop() bool
	Reset(d time.Duration) bool
}

// Real is the wall clock.
type Real struct{}

// Now returns time.Now().
func (Real) Now() time.Time { return time.Now() }

// NewTicker wraps time.NewTicker.
func (Real) NewTicker(d time.Duration) Ticker { return realTicker{time.NewTicker(d)} }

// NewTimer wraps time.NewTimer.
func (Real) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

type realTicker struct{ t *time.Ticker }

func (r realTicker) C() <-chan time.Time { return r.t.C }
func (r realTicker) Stop()               { r.t.Stop() }

type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time        { return r.t.C }
func (r realTimer) Stop() bool                 { return r.t.Stop() }
func (r realTimer) Reset(d time.Duration) bool { return r.t.Reset(d) }
