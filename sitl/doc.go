// Package sitl provides stand-ins for the outside world that osprey talks to:
// a built-in ArduCopter-compatible simulated vehicle that speaks real MAVLink
// over its own gomavlib node, a fleet helper, and a launcher for the real
// ArduPilot SITL binary.
//
// The package deliberately imports no osprey package. Tests of the ground
// station run against it over loopback sockets, so a protocol bug cannot hide
// by being the same on both sides of the wire.
//
// # What the simulated vehicle does
//
// A [Vehicle] behaves like ArduCopter 4.5 as seen from a ground station:
//
//   - HEARTBEAT at 1 Hz (MAV_TYPE_QUADROTOR, MAV_AUTOPILOT_ARDUPILOTMEGA,
//     custom_mode = ArduCopter mode number, base_mode as ArduCopter builds it).
//   - Telemetry streams (SYS_STATUS, GPS_RAW_INT, MISSION_CURRENT,
//     GLOBAL_POSITION_INT, ATTITUDE, VFR_HUD, BATTERY_STATUS, HOME_POSITION)
//     at default rates taken from the SR0_* parameters, adjustable with
//     REQUEST_DATA_STREAM and MAV_CMD_SET_MESSAGE_INTERVAL.
//   - COMMAND_LONG / COMMAND_INT with a COMMAND_ACK for every command that is
//     addressed to it, arming checks with "PreArm:"/"Arm:" STATUSTEXTs,
//     GUIDED takeoff, DO_REPOSITION (COMMAND_INT only), RTL, LAND, pause,
//     reboot, message requests.
//   - A parameter server (~80 ArduPilot parameters with ArduPilot names, types
//     and defaults) whose values change behaviour.
//   - A GCS failsafe driven by heartbeats from SYSID_MYGCS.
//   - The mission protocol for mission, fence and rally points, with
//     ArduPilot's quirks (home at mission seq 0, non-atomic mission and rally
//     uploads, legacy MISSION_REQUEST during uploads, re-requests after 1 s
//     and an 8 s upload timeout), AUTO flight of the common navigation
//     commands with DO_JUMP, and the fence with its breach action; see
//     mission.go, mission_auto.go and mission_fence.go.
//   - Fault injection: message loss in each direction, latency, outages, GPS
//     loss and a forced battery level.
//
// # Clocks
//
// Vehicle-internal timing (flight physics, battery drain, DISARM_DELAY, the
// reboot pause, RTL_LOIT_TIME) runs on simulated time, which is wall time
// multiplied by VehicleConfig.Speedup. Link-facing timing (telemetry rates,
// the heartbeat, FS_GCS_TIMEOUT, injected latency and outages) runs on wall
// time, so a ground station that sends heartbeats at 1 Hz does not trip the
// GCS failsafe at high speed-ups, and message rates mean what the ground
// station asked for.
//
// # Known differences from ArduCopter
//
// Intentional simplifications are listed here so tests do not rely on them by
// accident:
//
//   - Flight physics are kinematic: fixed climb/descent rates, horizontal
//     speed limited by WPNAV_SPEED and WPNAV_ACCEL, instantaneous attitude.
//     With no pilot, STABILIZE, ALT_HOLD, LOITER and BRAKE hold position.
//   - A retransmitted command (confirmation > 0) that repeats the previous
//     command from the same sender within a few seconds is not executed again;
//     it is answered with the earlier result. ArduPilot would execute it again
//     (for example a repeated NAV_TAKEOFF is FAILED once airborne).
//   - DO_REPOSITION sent as COMMAND_LONG is answered MAV_RESULT_UNSUPPORTED,
//     as ArduPilot up to 4.4 does; 4.5 and later convert it to COMMAND_INT.
//   - Message rates are per vehicle, not per link.
//   - Missions: no MAVFTP mission transfer, no partial fence update, no
//     opaque mission ids (MISSION_COUNT.opaque_id is 0), rally points are
//     stored but RTL does not use them, and the circle/polygon fences do not
//     cap the RTL altitude. A new mission uploaded while not flying AUTO
//     restarts the next AUTO from the first item.
package sitl
