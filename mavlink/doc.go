// Package mavlink is osprey's MAVLink link manager: it owns the links (UDP, TCP, serial), discovers the
// vehicles heard on them, keeps an immutable snapshot of each vehicle's state, and sends commands and
// parameter requests that are acknowledged, retried and reported with results a caller can branch on.
//
// One Manager runs per process. Each link is one gomavlib node whose events exactly one goroutine reads;
// that goroutine decodes a frame into the vehicle's state and hands acknowledgements to whoever waits for
// them. Subscribers receive coalesced updates, so a slow one never holds up a link.
package mavlink
