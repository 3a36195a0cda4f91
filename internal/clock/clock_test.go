package clock

import (
	"testing"
	"time"
)

func TestFakeTimerFiresOnlyWhenDue(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f := NewFake(start)
	tm := f.NewTimer(time.Second)
	f.Advance(999 * time.Millisecond)
	select {
	case <-tm.C():
		t.Fatal("timer fired early")
	default:
	}
	f.Advance(time.Millisecond)
	select {
	case got := <-tm.C():
		if !got.Equal(start.Add(time.Second)) {
			t.Fatalf("fired at %v", got)
		}
	default:
		t.Fatal("timer did not fire when due")
	}
	if tm.Stop() {
		t.Fatal("Stop after firing reported an active timer")
	}
}

func TestFakeTickerRepeatsAndDropsUnread(t *testing.T) {
	f := NewFake(time.Unix(0, 0))
	tk := f.NewTicker(100 * time.Millisecond)
	f.Advance(350 * time.Millisecond) // three ticks due, the channel holds one
	if got := <-tk.C(); !got.Equal(time.Unix(0, 0).Add(100 * time.Millisecond)) {
		t.Fatalf("first tick at %v", got)
	}
	select {
	case <-tk.C():
		t.Fatal("unread ticks were queued")
	default:
	}
	f.Advance(50 * time.Millisecond)
	if got := <-tk.C(); !got.Equal(time.Unix(0, 0).Add(400 * time.Millisecond)) {
		t.Fatalf("fourth tick at %v", got)
	}
	tk.Stop()
	f.Advance(time.Second)
	select {
	case <-tk.C():
		t.Fatal("stopped ticker ticked")
	default:
	}
	if now := f.Now(); !now.Equal(time.Unix(1, 400_000_000)) {
		t.Fatalf("now %v", now)
	}
}
