package mission

import (
	"math"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geo"
)

// Flat-earth helpers. Patterns and fence checks work in a local east/north
// plane in metres around a reference point (an equirectangular projection);
// over the few kilometres a mission spans the error is centimetres, far
// below GPS accuracy. The radius is orb's, so distances agree with
// orb/geo.

const degToRad = math.Pi / 180

// enu projects between degrees and a local plane: x east, y north, metres.
type enu struct {
	lat0, lon0 float64
	mPerDegLat float64
	mPerDegLon float64
}

func newENU(ref LatLon) enu {
	m := orb.EarthRadius * degToRad
	return enu{lat0: ref.LatDeg, lon0: ref.LonDeg, mPerDegLat: m, mPerDegLon: m * math.Cos(ref.LatDeg*degToRad)}
}

func (e enu) xy(ll LatLon) orb.Point {
	dLon := ll.LonDeg - e.lon0
	// Stay on the near side of the antimeridian.
	if dLon > 180 {
		dLon -= 360
	} else if dLon < -180 {
		dLon += 360
	}
	return orb.Point{dLon * e.mPerDegLon, (ll.LatDeg - e.lat0) * e.mPerDegLat}
}

func (e enu) latLon(p orb.Point) LatLon {
	lon := e.lon0
	if e.mPerDegLon != 0 {
		lon += p[0] / e.mPerDegLon
	}
	if lon > 180 {
		lon -= 360
	} else if lon < -180 {
		lon += 360
	}
	return LatLon{LatDeg: e.lat0 + p[1]/e.mPerDegLat, LonDeg: lon}
}

// ringXY projects a ring of lat/lon vertices, dropping a closing duplicate.
func (e enu) ringXY(vs []LatLon) orb.Ring {
	r := make(orb.Ring, 0, len(vs)+1)
	for _, v := range vs {
		r = append(r, e.xy(v))
	}
	if len(r) > 1 && r[0] == r[len(r)-1] {
		r = r[:len(r)-1]
	}
	return r
}

// distanceM is the great-circle distance in metres.
func distanceM(a, b LatLon) float64 {
	return geo.DistanceHaversine(orb.Point{a.LonDeg, a.LatDeg}, orb.Point{b.LonDeg, b.LatDeg})
}

// pointLL converts an orb point (lon, lat) to LatLon.
func pointLL(p orb.Point) LatLon { return LatLon{LatDeg: p[1], LonDeg: p[0]} }

// llPoint converts LatLon to an orb point (lon, lat).
func llPoint(ll LatLon) orb.Point { return orb.Point{ll.LonDeg, ll.LatDeg} }

// ringContains reports whether p is inside the closed ring r (even-odd).
func ringContains(r orb.Ring, p orb.Point) bool {
	in := false
	n := len(r)
	for i, j := 0, n-1; i < n; j, i = i, i+1 {
		a, b := r[i], r[j]
		if (a[1] > p[1]) != (b[1] > p[1]) {
			x := a[0] + (p[1]-a[1])*(b[0]-a[0])/(b[1]-a[1])
			if p[0] < x {
				in = !in
			}
		}
	}
	return in
}

// segmentsCross reports whether segments ab and cd intersect (touching
// counts).
func segmentsCross(a, b, c, d orb.Point) bool {
	d1 := cross(c, d, a)
	d2 := cross(c, d, b)
	d3 := cross(a, b, c)
	d4 := cross(a, b, d)
	if ((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) && ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0)) {
		return true
	}
	return (d1 == 0 && onSegment(c, d, a)) || (d2 == 0 && onSegment(c, d, b)) ||
		(d3 == 0 && onSegment(a, b, c)) || (d4 == 0 && onSegment(a, b, d))
}

// cross is the z component of (b-a)x(p-a).
func cross(a, b, p orb.Point) float64 {
	return (b[0]-a[0])*(p[1]-a[1]) - (b[1]-a[1])*(p[0]-a[0])
}

func onSegment(a, b, p orb.Point) bool {
	return math.Min(a[0], b[0]) <= p[0] && p[0] <= math.Max(a[0], b[0]) &&
		math.Min(a[1], b[1]) <= p[1] && p[1] <= math.Max(a[1], b[1])
}

// segmentCrossesRing reports whether segment ab crosses any edge of r.
func segmentCrossesRing(a, b orb.Point, r orb.Ring) bool {
	n := len(r)
	for i := 0; i < n; i++ {
		if segmentsCross(a, b, r[i], r[(i+1)%n]) {
			return true
		}
	}
	return false
}

// distToSegment is the distance from p to segment ab in the plane.
func distToSegment(a, b, p orb.Point) float64 {
	dx, dy := b[0]-a[0], b[1]-a[1]
	l2 := dx*dx + dy*dy
	t := 0.0
	if l2 > 0 {
		t = ((p[0]-a[0])*dx + (p[1]-a[1])*dy) / l2
		t = math.Max(0, math.Min(1, t))
	}
	qx, qy := a[0]+t*dx-p[0], a[1]+t*dy-p[1]
	return math.Hypot(qx, qy)
}

// signedArea is positive for counter-clockwise rings (x east, y north).
func signedArea(r orb.Ring) float64 {
	s := 0.0
	n := len(r)
	for i := 0; i < n; i++ {
		a, b := r[i], r[(i+1)%n]
		s += a[0]*b[1] - b[0]*a[1]
	}
	return s / 2
}

// circleLL approximates a circle by n vertices (for export as polygons).
func circleLL(c LatLon, radiusM float64, n int) []LatLon {
	out := make([]LatLon, 0, n)
	for i := 0; i < n; i++ {
		p := geo.PointAtBearingAndDistance(llPoint(c), 360*float64(i)/float64(n), radiusM)
		out = append(out, pointLL(p))
	}
	return out
}
