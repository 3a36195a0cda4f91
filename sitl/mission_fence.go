package sitl

import (
	"math"

	"github.com/bluenviron/gomavlib/v3/pkg/dialects/common"
)

// The fence follows ArduCopter's fence_check and AC_Fence:
//
//   - It is checked while FENCE_ENABLE is 1, for the kinds FENCE_TYPE
//     selects: 1 maximum altitude (FENCE_ALT_MAX above home), 2 the circle
//     of FENCE_RADIUS around home, 4 the polygon and circle fences uploaded
//     with the mission protocol (inside every inclusion zone, outside every
//     exclusion zone).
//   - A new breach while armed and flying sends "Fence Breached" (NOTICE)
//     and takes FENCE_ACTION: 0 report only, 1 RTL (LAND when more than
//     100 m outside, or when RTL is refused), 2 LAND, 3 RTL (no SmartRTL
//     path here), 4 BRAKE, 5 LAND. A vehicle already landing keeps landing.
//   - A breach triggers once; it triggers again only after the vehicle has
//     been back inside.

// Fence kinds, the FENCE_TYPE bits.
const (
	fenceAltMax  = 1
	fenceCircle  = 2
	fencePolygon = 4
	// fenceGiveUpM is AC_FENCE_GIVE_UP_DISTANCE: further outside than this,
	// RTL is not attempted and the copter lands.
	fenceGiveUpM = 100
)

type fenceState struct {
	breaches int // FENCE_TYPE bits currently breached
}

func (ms *missionStore) checkFenceLocked(v *Vehicle, ob *outbox) {
	s := &v.st
	p := &v.params
	if p.get("FENCE_ENABLE") != 1 || !s.gpsFix {
		ms.fence.breaches = 0
		return
	}
	kinds := int(p.get("FENCE_TYPE"))
	now, dist := 0, 0.0
	if kinds&fenceAltMax != 0 {
		if altMax := p.get("FENCE_ALT_MAX"); s.altRelM > altMax {
			now |= fenceAltMax
			dist = math.Max(dist, s.altRelM-altMax)
		}
	}
	if kinds&fenceCircle != 0 {
		n, e := offsetM(s.homeLatDeg, s.homeLonDeg, s.latDeg, s.lonDeg)
		if r, d := p.get("FENCE_RADIUS"), math.Hypot(n, e); d > r {
			now |= fenceCircle
			dist = math.Max(dist, d-r)
		}
	}
	if kinds&fencePolygon != 0 && ms.outsideZones(s) {
		now |= fencePolygon
	}
	fresh := now &^ ms.fence.breaches
	ms.fence.breaches = now
	if fresh == 0 || !s.armed || s.landed {
		return
	}
	ob.all(statusText(common.MAV_SEVERITY_NOTICE, "Fence Breached"))
	if s.mode == ModeLand {
		return
	}
	switch int(p.get("FENCE_ACTION")) {
	case 0:
	case 2, 5:
		v.setModeLocked(ModeLand, ob)
	case 4:
		if !v.setModeLocked(ModeBrake, ob) {
			v.setModeLocked(ModeLand, ob)
		}
	default:
		if dist > fenceGiveUpM || !v.setModeLocked(ModeRTL, ob) {
			v.setModeLocked(ModeLand, ob)
		}
	}
}

// outsideZones reports whether the vehicle is outside an inclusion zone or
// inside an exclusion zone of the uploaded fence.
func (ms *missionStore) outsideZones(s *simState) bool {
	items := ms.lists[typeFence]
	refLat, refLon := s.homeLatDeg, s.homeLonDeg
	pn, pe := offsetM(refLat, refLon, s.latDeg, s.lonDeg)
	for i := 0; i < len(items); {
		it := &items[i]
		switch it.Command {
		case cmdFencePolyIn, cmdFencePolyOut:
			n := int(it.Param1)
			if n < 3 || i+n > len(items) {
				return false // cannot happen: uploads are validated
			}
			inside := insidePolygon(pn, pe, items[i:i+n], refLat, refLon)
			if inside != (it.Command == cmdFencePolyIn) {
				return true
			}
			i += n
			continue
		case cmdFenceCircleIn, cmdFenceCircleOut:
			cn, ce := offsetM(refLat, refLon, float64(it.X)/1e7, float64(it.Y)/1e7)
			inside := math.Hypot(pn-cn, pe-ce) <= float64(it.Param1)
			if inside != (it.Command == cmdFenceCircleIn) {
				return true
			}
		}
		i++
	}
	return false
}

// insidePolygon is the even-odd rule on a flat earth around the reference.
func insidePolygon(pn, pe float64, vertices []common.MessageMissionItemInt, refLat, refLon float64) bool {
	inside := false
	n := len(vertices)
	for i, j := 0, n-1; i < n; j, i = i, i+1 {
		in, ie := offsetM(refLat, refLon, float64(vertices[i].X)/1e7, float64(vertices[i].Y)/1e7)
		jn, je := offsetM(refLat, refLon, float64(vertices[j].X)/1e7, float64(vertices[j].Y)/1e7)
		if (in > pn) != (jn > pn) && pe < (je-ie)*(pn-in)/(jn-in)+ie {
			inside = !inside
		}
	}
	return inside
}
