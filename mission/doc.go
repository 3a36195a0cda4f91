// Package mission is the offline half of mission planning: the plan model,
// the file formats users bring (QGroundControl .plan and legacy .mission,
// Mission Planner "QGC WPL 110" .waypoints, MAVProxy fence and rally lists,
// GeoJSON and KML), validation before upload, and generated flight patterns.
//
// The MAVLink transfer protocol lives elsewhere; this package imports no
// other osprey package.
//
// # Units and numbering
//
// The model uses degrees, metres, metres per second and seconds, named in
// every field (LatDeg, AltM, RadiusM). The wire encodings (degE7, mm, the
// *_INT frames) belong to the transfer layer: files are read into the
// non-INT global frames (GLOBAL 0, GLOBAL_RELATIVE_ALT 3,
// GLOBAL_TERRAIN_ALT 10) and Frame.Int maps them back.
//
// Plan.Items holds only mission items; the home position is kept apart in
// Plan.PlannedHome. Every index in the API (Issue.Item, ComplexItem.Index,
// and the DO_JUMP target in Item.Param1) is 0-based into Plan.Items, with no
// home entry. The transfer layer shifts by one for ArduPilot, whose seq 0 is
// home; PX4 uses the index as is.
//
// Human-readable messages (parse errors, Issue.String) number items the way
// QGroundControl and Mission Planner show them: home is 0 and the first
// mission item is 1, which for ArduPilot is also the MAVLink seq.
//
// # Coordinates in orb geometries
//
// Areas, lines and centre points passed as github.com/paulmach/orb values
// follow GeoJSON order: orb.Point{lon, lat}.
package mission
