package mission

import (
	"fmt"
	"math"

	"github.com/ospreygcs/osprey/mavlink/missionxfer"
)

// Wire is a plan as it travels over MAVLink: mission, fence and rally items, numbered as the target
// autopilot numbers them.
type Wire struct {
	Mission []missionxfer.Item
	Fence   []missionxfer.Item
	Rally   []missionxfer.Item
}

// homeOffset is where Plan.Items start on the wire: ArduPilot keeps home at mission seq 0.
func homeOffset(fw Firmware) int {
	if fw == FirmwareArduPilot {
		return 1
	}
	return 0
}

// ToWire converts a plan for an autopilot. For ArduPilot, mission item 0 is home (the planned home, or
// zeros, which ArduPilot replaces with its own), the plan's items follow from seq 1, and DO_JUMP targets
// shift by one to match. Positions travel in the _INT frames as degE7.
func ToWire(p *Plan, fw Firmware) (Wire, error) {
	var w Wire
	off := homeOffset(fw)
	if off == 1 {
		home := missionxfer.Item{Seq: 0, Frame: uint8(FrameGlobalInt), Command: uint16(CmdNavWaypoint), AutoContinue: true}
		if h := p.PlannedHome; h != nil {
			home.X, home.Y, home.Z = degE7(h.LatDeg), degE7(h.LonDeg), float32(h.AltM)
		}
		w.Mission = append(w.Mission, home)
	}
	for i, it := range p.Items {
		wi, err := itemToWire(it, i+off)
		if err != nil {
			return Wire{}, fmt.Errorf("%w: mission item %d: %v", ErrInvalidPlan, i+1, err)
		}
		if it.Command == CmdDoJump {
			wi.Param1 = float32(it.Param1 + float64(off))
		}
		w.Mission = append(w.Mission, wi)
	}
	for i, it := range FenceItems(p.Fence) {
		wi, err := itemToWire(it, i)
		if err != nil {
			return Wire{}, fmt.Errorf("%w: fence item %d: %v", ErrInvalidPlan, i+1, err)
		}
		w.Fence = append(w.Fence, wi)
	}
	for i, it := range RallyItems(p.Rally) {
		wi, err := itemToWire(it, i)
		if err != nil {
			return Wire{}, fmt.Errorf("%w: rally point %d: %v", ErrInvalidPlan, i+1, err)
		}
		w.Rally = append(w.Rally, wi)
	}
	return w, nil
}

func itemToWire(it Item, seq int) (missionxfer.Item, error) {
	if seq > math.MaxUint16 {
		return missionxfer.Item{}, fmt.Errorf("more than %d items", math.MaxUint16)
	}
	wi := missionxfer.Item{Seq: uint16(seq), Frame: uint8(it.Frame), Command: uint16(it.Command), AutoContinue: it.AutoContinue,
		Param1: float32(it.Param1), Param2: float32(it.Param2), Param3: float32(it.Param3), Param4: float32(it.Param4)}
	if it.HasPosition() {
		if math.IsNaN(it.AltM) || math.IsInf(it.AltM, 0) {
			return wi, fmt.Errorf("%s has no altitude", it.Command)
		}
		if it.LatDeg < -90 || it.LatDeg > 90 || it.LonDeg < -180 || it.LonDeg > 180 || math.IsNaN(it.LatDeg+it.LonDeg) {
			return wi, fmt.Errorf("%s position %v,%v out of range", it.Command, it.LatDeg, it.LonDeg)
		}
		wi.Frame = uint8(it.Frame.Int())
		wi.X, wi.Y, wi.Z = degE7(it.LatDeg), degE7(it.LonDeg), float32(it.AltM)
		return wi, nil
	}
	// Not a position: params 5 and 6 travel as the integers MISSION_ITEM_INT carries, param 7 as is.
	wi.X, wi.Y, wi.Z = paramInt(it.LatDeg), paramInt(it.LonDeg), float32(it.AltM)
	return wi, nil
}

// FromWire turns items read from an autopilot back into a plan: ArduPilot's seq-0 home becomes the
// planned home and DO_JUMP targets shift back. Fence and rally items become the fence and rally points.
func FromWire(w Wire, fw Firmware) (*Plan, error) {
	p := &Plan{Vehicle: VehicleInfo{Firmware: fw}}
	items := w.Mission
	off := homeOffset(fw)
	if off == 1 && len(items) > 0 {
		h := items[0]
		if h.X != 0 || h.Y != 0 {
			p.PlannedHome = &Position{LatDeg: float64(h.X) / 1e7, LonDeg: float64(h.Y) / 1e7, AltM: float64(h.Z)}
		}
		items = items[1:]
	}
	for i, wi := range items {
		it := itemFromWire(wi)
		if it.Command == CmdDoJump {
			it.Param1 -= float64(off)
			if it.Param1 < 0 || int(it.Param1) >= len(items) {
				return nil, fmt.Errorf("%w: mission item %d: DO_JUMP to seq %v, which is not a mission item", ErrInvalidPlan, i+1, it.Param1+float64(off))
			}
		}
		p.Items = append(p.Items, it)
	}
	var err error
	if len(w.Fence) > 0 {
		var fence []Item
		for _, wi := range w.Fence {
			fence = append(fence, itemFromWire(wi))
		}
		if p.Fence, err = FenceFromItems(fence); err != nil {
			return nil, err
		}
	}
	if len(w.Rally) > 0 {
		var rally []Item
		for _, wi := range w.Rally {
			rally = append(rally, itemFromWire(wi))
		}
		if p.Rally, err = RallyFromItems(rally); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func itemFromWire(wi missionxfer.Item) Item {
	it := Item{Command: Command(wi.Command), Frame: Frame(wi.Frame), AutoContinue: wi.AutoContinue,
		Param1: float64(wi.Param1), Param2: float64(wi.Param2), Param3: float64(wi.Param3), Param4: float64(wi.Param4)}
	if it.Frame.IsGlobal() && it.Info().Positional {
		it.Frame = it.Frame.NonInt()
		it.LatDeg, it.LonDeg, it.AltM = float64(wi.X)/1e7, float64(wi.Y)/1e7, float64(wi.Z)
		return it
	}
	it.LatDeg, it.LonDeg, it.AltM = float64(wi.X), float64(wi.Y), float64(wi.Z)
	return it
}

func degE7(deg float64) int32 { return int32(math.Round(deg * 1e7)) }

func paramInt(v float64) int32 {
	if math.IsNaN(v) || math.IsInf(v, 0) || v > math.MaxInt32 || v < math.MinInt32 {
		return 0
	}
	return int32(math.Round(v))
}
