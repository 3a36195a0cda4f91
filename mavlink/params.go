package mavlink

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	apm "github.com/bluenviron/gomavlib/v3/pkg/dialects/ardupilotmega"
	"github.com/bluenviron/gomavlib/v3/pkg/dialects/common"
	"github.com/bluenviron/gomavlib/v3/pkg/message"
)

// ErrParamRejected is returned when the vehicle answers a PARAM_SET with a different value than was set.
var ErrParamRejected = errors.New("vehicle kept a different value")

// Param is one autopilot parameter.
type Param struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Type  uint8   `json:"type"` // MAV_PARAM_TYPE
	Index int     `json:"index"`
}

// paramCache is what the vehicle told us of its parameters. Guarded by the vehicle's mutex.
type paramCache struct {
	byName   map[string]Param
	count    int    // param_count, -1 until known
	have     []bool // indices received since the last download began
	haveN    int
	watchers map[chan struct{}]struct{} // poked on every PARAM_VALUE
}

func newParamCache() paramCache {
	return paramCache{byName: map[string]Param{}, count: -1, watchers: map[chan struct{}]struct{}{}}
}

// onValue stores a PARAM_VALUE. Called with the vehicle's mutex held.
func (c *paramCache) onValue(m *apm.MessageParamValue, autopilot uint32) {
	p := Param{Name: m.ParamId, Type: uint8(m.ParamType), Index: int(m.ParamIndex),
		Value: decodeParam(m.ParamValue, uint8(m.ParamType), autopilot)}
	if m.ParamIndex != math.MaxUint16 && int(m.ParamCount) > 0 && m.ParamCount != math.MaxUint16 {
		if c.count != int(m.ParamCount) {
			c.count = int(m.ParamCount)
			c.have, c.haveN = make([]bool, c.count), 0
		}
		if p.Index < c.count && !c.have[p.Index] {
			c.have[p.Index] = true
			c.haveN++
		}
	}
	c.byName[p.Name] = p
	for w := range c.watchers {
		select {
		case w <- struct{}{}:
		default:
		}
	}
}

// decodeParam follows each autopilot's encoding: ArduPilot casts integers to float; PX4 (and the spec)
// puts the integer's bytes in the float.
func decodeParam(v float32, typ uint8, autopilot uint32) float64 {
	if autopilot != AutopilotPX4 || typ == 9 || typ == 10 { // REAL32, REAL64
		return float64(v)
	}
	bits := math.Float32bits(v)
	switch typ {
	case 1:
		return float64(uint8(bits))
	case 2:
		return float64(int8(bits))
	case 3:
		return float64(uint16(bits))
	case 4:
		return float64(int16(bits))
	case 5:
		return float64(bits)
	case 6:
		return float64(int32(bits))
	}
	return float64(v)
}

func encodeParam(v float64, typ uint8, autopilot uint32) float32 {
	if autopilot != AutopilotPX4 || typ == 9 || typ == 10 || typ == 0 {
		return float32(v)
	}
	var bits uint32
	switch typ {
	case 1, 3, 5:
		bits = uint32(int64(math.Round(v)))
	default:
		bits = uint32(int32(math.Round(v)))
	}
	return math.Float32frombits(bits)
}

func (v *Vehicle) watchParams() (chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	v.mu.Lock()
	v.params.watchers[ch] = struct{}{}
	v.mu.Unlock()
	return ch, func() {
		v.mu.Lock()
		delete(v.params.watchers, ch)
		v.mu.Unlock()
	}
}

// paramQuiet is how long a download waits after the last PARAM_VALUE before asking for what is missing.
const paramQuiet = 500 * time.Millisecond

// paramRetries is how many rounds without any new value a download or a single request survives.
const paramRetries = 10

// paramBatch is how many missing indices are requested at once, so a re-request does not flood the radio.
const paramBatch = 32

// DownloadParams fetches every parameter. After the vehicle's stream goes quiet it asks by index for each
// one still missing, so a lossy link slows the download down but never stalls it at 99 %. progress, if set,
// is called with the count received and the total as they change.
func (v *Vehicle) DownloadParams(ctx context.Context, progress func(got, total int)) ([]Param, error) {
	poke, stop := v.watchParams()
	defer stop()
	v.mu.Lock()
	v.params.count, v.params.have, v.params.haveN = -1, nil, 0
	v.mu.Unlock()

	sys, comp := v.target()
	if err := v.send(&apm.MessageParamRequestList{TargetSystem: sys, TargetComponent: comp}); err != nil {
		return nil, err
	}
	timer := v.m.clock.NewTimer(paramQuiet)
	defer timer.Stop()
	lastGot, idle := -1, 0
	for {
		v.mu.Lock()
		got, total := v.params.haveN, v.params.count
		v.mu.Unlock()
		if total >= 0 && got == total {
			if progress != nil {
				progress(got, total)
			}
			return v.Params(), nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("vehicle %d: parameter download at %d/%d: %w", v.id, got, total, ctx.Err())
		case <-v.m.ctx.Done():
			return nil, ErrClosed
		case <-poke:
			if got != lastGot && progress != nil && total > 0 {
				progress(got, total)
			}
			lastGot = got
			timer.Reset(paramQuiet)
		case <-timer.C():
			idle++
			if got > lastGot {
				idle = 0
			}
			lastGot = got
			if idle > paramRetries {
				return nil, fmt.Errorf("vehicle %d: parameter download stalled at %d/%d: %w", v.id, got, total, ErrTimeout)
			}
			if total < 0 {
				if err := v.send(&apm.MessageParamRequestList{TargetSystem: sys, TargetComponent: comp}); err != nil {
					return nil, err
				}
			} else {
				for _, idx := range v.missingParams(paramBatch) {
					if err := v.send(&apm.MessageParamRequestRead{TargetSystem: sys, TargetComponent: comp, ParamId: "", ParamIndex: int16(idx)}); err != nil {
						return nil, err
					}
				}
			}
			timer.Reset(paramQuiet)
		}
	}
}

func (v *Vehicle) missingParams(limit int) []int {
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []int
	for i, ok := range v.params.have {
		if !ok {
			out = append(out, i)
			if len(out) == limit {
				break
			}
		}
	}
	return out
}

// Params returns the parameters received so far, by index.
func (v *Vehicle) Params() []Param {
	v.mu.Lock()
	out := make([]Param, 0, len(v.params.byName))
	for _, p := range v.params.byName {
		out = append(out, p)
	}
	v.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Index != out[j].Index {
			return out[i].Index < out[j].Index
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// GetParam reads one parameter from the vehicle (not the cache).
func (v *Vehicle) GetParam(ctx context.Context, name string) (Param, error) {
	if err := checkParamName(name); err != nil {
		return Param{}, err
	}
	sys, comp := v.target()
	req := &apm.MessageParamRequestRead{TargetSystem: sys, TargetComponent: comp, ParamId: name, ParamIndex: -1}
	return v.paramExchange(ctx, name, req)
}

// SetParam sets a parameter and returns once the vehicle's PARAM_VALUE echo shows the new value. It is
// resent when no echo comes; an echo with another value is ErrParamRejected.
func (v *Vehicle) SetParam(ctx context.Context, name string, value float64) (Param, error) {
	if err := checkParamName(name); err != nil {
		return Param{}, err
	}
	if math.IsNaN(value) || math.IsInf(value, 0) {
		return Param{}, fmt.Errorf("parameter %s: value %v is not a number", name, value)
	}
	v.mu.Lock()
	typ := uint8(9) // REAL32 unless the vehicle told us otherwise
	if p, ok := v.params.byName[name]; ok {
		typ = p.Type
	}
	autopilot := v.state.Autopilot
	v.mu.Unlock()
	sys, comp := v.target()
	req := &apm.MessageParamSet{TargetSystem: sys, TargetComponent: comp, ParamId: name,
		ParamValue: encodeParam(value, typ, autopilot), ParamType: common.MAV_PARAM_TYPE(typ)}
	want := float64(float32(value))
	p, err := v.paramExchange(ctx, name, req)
	if err != nil {
		return p, err
	}
	if math.Abs(p.Value-want) > 1e-6*math.Max(1, math.Abs(want)) {
		return p, fmt.Errorf("vehicle %d: set %s = %v: %w (%v)", v.id, name, value, ErrParamRejected, p.Value)
	}
	return p, nil
}

// paramExchange sends req until a PARAM_VALUE named name arrives after it.
func (v *Vehicle) paramExchange(ctx context.Context, name string, req message.Message) (Param, error) {
	poke, stop := v.watchParams()
	defer stop()
	// Forget the cached value, so only an answer to this request counts.
	v.mu.Lock()
	delete(v.params.byName, name)
	v.mu.Unlock()
	timer := v.m.clock.NewTimer(v.m.conf.CommandTimeout)
	defer timer.Stop()
	for attempt := 0; ; {
		if err := v.send(req); err != nil {
			return Param{}, err
		}
		for waiting := true; waiting; {
			select {
			case <-ctx.Done():
				return Param{}, fmt.Errorf("vehicle %d: parameter %s: %w", v.id, name, ctx.Err())
			case <-v.m.ctx.Done():
				return Param{}, ErrClosed
			case <-poke:
				v.mu.Lock()
				p, ok := v.params.byName[name]
				v.mu.Unlock()
				if ok {
					return p, nil
				}
			case <-timer.C():
				waiting = false
			}
		}
		attempt++
		if attempt > v.m.conf.CommandRetries {
			return Param{}, fmt.Errorf("vehicle %d: parameter %s: %w", v.id, name, ErrTimeout)
		}
		timer.Reset(v.m.conf.CommandTimeout)
	}
}

func checkParamName(name string) error {
	if name == "" || len(name) > 16 {
		return fmt.Errorf("parameter name %q: must be 1 to 16 characters", name)
	}
	return nil
}
