package mavlink

import (
	"fmt"
	"math"
	"time"

	apm "github.com/bluenviron/gomavlib/v3/pkg/dialects/ardupilotmega"
)

// State is an immutable snapshot of what osprey knows about one vehicle. Units are in the names; MAVLink's
// degE7, mm and cdeg are converted once, here.
type State struct {
	Network     string `json:"network"` // MAVLink network; empty for the default one
	SystemID    byte   `json:"system_id"`
	ComponentID byte   `json:"component_id"`
	Autopilot   uint32 `json:"autopilot"` // MAV_AUTOPILOT: 3 ArduPilot, 12 PX4
	MAVType     uint32 `json:"mav_type"`  // MAV_TYPE: 2 quadrotor, 1 fixed wing, ...
	Firmware    string `json:"firmware"`  // e.g. "4.5.7" once AUTOPILOT_VERSION arrived

	Armed        bool   `json:"armed"`
	CustomMode   uint32 `json:"custom_mode"`
	Mode         string `json:"mode"`          // name from the autopilot's table, or the number
	SystemStatus string `json:"system_status"` // MAV_STATE without its prefix: STANDBY, ACTIVE, CRITICAL, ...

	HasPosition   bool    `json:"has_position"`
	LatDeg        float64 `json:"lat_deg"`
	LonDeg        float64 `json:"lon_deg"`
	AltMSLM       float64 `json:"alt_msl_m"`
	AltRelM       float64 `json:"alt_rel_m"`
	HeadingDeg    float64 `json:"heading_deg"`
	GroundSpeedMS float64 `json:"ground_speed_m_s"`
	AirSpeedMS    float64 `json:"air_speed_m_s"`
	ClimbMS       float64 `json:"climb_m_s"`
	RollDeg       float64 `json:"roll_deg"`
	PitchDeg      float64 `json:"pitch_deg"`
	YawDeg        float64 `json:"yaw_deg"`
	ThrottlePct   int     `json:"throttle_pct"`

	BatteryV   float64 `json:"battery_v"`
	BatteryA   float64 `json:"battery_a"`
	BatteryPct int     `json:"battery_pct"` // -1 when the vehicle does not know

	GPSFix  int     `json:"gps_fix"` // GPS_FIX_TYPE: 0-1 none, 2 2D, 3 3D, 4 DGPS, 5 RTK float, 6 RTK fixed
	GPSSats int     `json:"gps_sats"`
	GPSHDOP float64 `json:"gps_hdop"`

	Home *Position `json:"home,omitempty"` // nil until HOME_POSITION arrived

	MissionSeq     int `json:"mission_seq"`     // MISSION_CURRENT.seq, -1 unknown
	MissionTotal   int `json:"mission_total"`   // MISSION_CURRENT.total, -1 unknown
	MissionReached int `json:"mission_reached"` // last MISSION_ITEM_REACHED.seq, -1 none

	// Mission is what osprey knows of the mission stored on the vehicle.
	Mission MissionSync `json:"mission"`

	StatusTexts []StatusText `json:"status_texts,omitempty"` // the most recent, oldest first

	LastHeard     time.Time    `json:"last_heard"` // any message from the vehicle
	LastHeartbeat time.Time    `json:"last_heartbeat"`
	LinkLost      bool         `json:"link_lost"` // no HEARTBEAT on any link for the heartbeat timeout
	Links         []LinkHealth `json:"links,omitempty"`
}

// MissionSync says whether the mission on the vehicle is known to osprey.
type MissionSync struct {
	Status MissionStatus `json:"status"`
	Items  int           `json:"items"`          // items on the vehicle when known (ArduPilot's home at 0 not counted)
	Note   string        `json:"note,omitempty"` // why it is unknown, e.g. "upload failed at item 37 of 500"
}

// MissionStatus is the state of the vehicle's mission as osprey knows it.
type MissionStatus string

// The mission states.
const (
	MissionUnknown   MissionStatus = "unknown"   // never read, or a transfer failed part-way
	MissionUploading MissionStatus = "uploading" // a transfer is under way
	MissionInSync    MissionStatus = "in_sync"   // uploaded or downloaded completely
)

// Position is a point with its altitude above mean sea level.
type Position struct {
	LatDeg  float64 `json:"lat_deg"`
	LonDeg  float64 `json:"lon_deg"`
	AltMSLM float64 `json:"alt_msl_m"`
}

// StatusText is one STATUSTEXT message.
type StatusText struct {
	Time     time.Time `json:"time"`
	Severity int       `json:"severity"` // MAV_SEVERITY: 0 emergency ... 7 debug
	Text     string    `json:"text"`
}

// SeverityName names a MAV_SEVERITY.
func SeverityName(s int) string {
	names := [...]string{"EMERGENCY", "ALERT", "CRITICAL", "ERROR", "WARNING", "NOTICE", "INFO", "DEBUG"}
	if s >= 0 && s < len(names) {
		return names[s]
	}
	return "UNKNOWN"
}

// LinkHealth is how one vehicle is heard on one link.
type LinkHealth struct {
	Link          string    `json:"link"` // link name
	LastHeard     time.Time `json:"last_heard"`
	LastHeartbeat time.Time `json:"last_heartbeat"`
	Received      uint64    `json:"received"` // frames received
	Lost          uint64    `json:"lost"`     // frames missing, from gaps in sequence numbers
	Alive         bool      `json:"alive"`    // a HEARTBEAT within the heartbeat timeout
}

// LossPct is the share of frames lost on the link, in percent.
func (h LinkHealth) LossPct() float64 {
	if h.Received+h.Lost == 0 {
		return 0
	}
	return 100 * float64(h.Lost) / float64(h.Received+h.Lost)
}

const maxStatusTexts = 20

// applyMessage folds one message into s. It reports whether the message was a state change worth an
// event (armed or mode), and returns a STATUSTEXT if the message was one.
func (s *State) applyMessage(msg any, now time.Time) (changed []Event) {
	switch m := msg.(type) {
	case *apm.MessageHeartbeat:
		armed := m.BaseMode&safetyArmedFlag != 0
		mode := ModeName(uint32(m.Autopilot), uint32(m.Type), m.CustomMode)
		if s.LastHeartbeat.IsZero() || armed != s.Armed {
			if !s.LastHeartbeat.IsZero() || armed {
				changed = append(changed, Event{Kind: EventArmed, SystemID: s.SystemID, Time: now, Armed: armed})
			}
		}
		if !s.LastHeartbeat.IsZero() && mode != s.Mode {
			changed = append(changed, Event{Kind: EventModeChanged, SystemID: s.SystemID, Time: now, Mode: mode, PreviousMode: s.Mode})
		}
		s.Autopilot, s.MAVType = uint32(m.Autopilot), uint32(m.Type)
		s.Armed, s.CustomMode, s.Mode = armed, m.CustomMode, mode
		s.SystemStatus = stateName(uint32(m.SystemStatus))
		s.LastHeartbeat = now
	case *apm.MessageGlobalPositionInt:
		s.HasPosition = true
		s.LatDeg, s.LonDeg = float64(m.Lat)/1e7, float64(m.Lon)/1e7
		s.AltMSLM, s.AltRelM = float64(m.Alt)/1000, float64(m.RelativeAlt)/1000
		if m.Hdg != math.MaxUint16 {
			s.HeadingDeg = float64(m.Hdg) / 100
		}
		s.GroundSpeedMS = math.Hypot(float64(m.Vx), float64(m.Vy)) / 100
		s.ClimbMS = -float64(m.Vz) / 100
	case *apm.MessageVfrHud:
		s.AirSpeedMS, s.GroundSpeedMS = float64(m.Airspeed), float64(m.Groundspeed)
		s.HeadingDeg, s.ClimbMS = float64(m.Heading), float64(m.Climb)
		s.ThrottlePct = int(m.Throttle)
	case *apm.MessageAttitude:
		s.RollDeg = float64(m.Roll) * 180 / math.Pi
		s.PitchDeg = float64(m.Pitch) * 180 / math.Pi
		s.YawDeg = float64(m.Yaw) * 180 / math.Pi
	case *apm.MessageSysStatus:
		if m.VoltageBattery != math.MaxUint16 {
			s.BatteryV = float64(m.VoltageBattery) / 1000
		}
		if m.CurrentBattery >= 0 {
			s.BatteryA = float64(m.CurrentBattery) / 100
		}
		s.BatteryPct = int(m.BatteryRemaining)
	case *apm.MessageBatteryStatus:
		if m.Id == 0 {
			s.BatteryPct = int(m.BatteryRemaining)
			if m.CurrentBattery >= 0 {
				s.BatteryA = float64(m.CurrentBattery) / 100
			}
		}
	case *apm.MessageGpsRawInt:
		s.GPSFix, s.GPSSats = int(m.FixType), int(m.SatellitesVisible)
		if m.SatellitesVisible == math.MaxUint8 {
			s.GPSSats = -1
		}
		if m.Eph != math.MaxUint16 {
			s.GPSHDOP = float64(m.Eph) / 100
		}
	case *apm.MessageHomePosition:
		s.Home = &Position{LatDeg: float64(m.Latitude) / 1e7, LonDeg: float64(m.Longitude) / 1e7, AltMSLM: float64(m.Altitude) / 1000}
	case *apm.MessageMissionCurrent:
		s.MissionSeq = int(m.Seq)
		if m.Total != math.MaxUint16 && m.Total != 0 {
			s.MissionTotal = int(m.Total)
		}
	case *apm.MessageMissionItemReached:
		s.MissionReached = int(m.Seq)
		changed = append(changed, Event{Kind: EventMissionItemReached, SystemID: s.SystemID, Time: now, MissionSeq: int(m.Seq)})
	case *apm.MessageStatustext:
		st := StatusText{Time: now, Severity: int(m.Severity), Text: m.Text}
		texts := make([]StatusText, 0, maxStatusTexts)
		if len(s.StatusTexts) >= maxStatusTexts {
			texts = append(texts, s.StatusTexts[len(s.StatusTexts)-maxStatusTexts+1:]...)
		} else {
			texts = append(texts, s.StatusTexts...)
		}
		s.StatusTexts = append(texts, st) // a new slice: snapshots already handed out keep theirs
		changed = append(changed, Event{Kind: EventStatusText, SystemID: s.SystemID, Time: now, Text: &st})
	case *apm.MessageAutopilotVersion:
		v := m.FlightSwVersion
		s.Firmware = formatVersion(v)
	}
	return changed
}

func formatVersion(v uint32) string {
	return fmt.Sprintf("%d.%d.%d", v>>24&0xff, v>>16&0xff, v>>8&0xff)
}

func stateName(s uint32) string {
	names := [...]string{"UNINIT", "BOOT", "CALIBRATING", "STANDBY", "ACTIVE", "CRITICAL", "EMERGENCY", "POWEROFF", "FLIGHT_TERMINATION"}
	if int(s) < len(names) {
		return names[s]
	}
	return "UNKNOWN"
}
