package main

import (
	"context"
	"fmt"

	"github.com/ospreygcs/osprey/mavlink"
	"github.com/ospreygcs/osprey/mavlink/missionxfer"
	"github.com/ospreygcs/osprey/mission"
)

// vehicleHandle is a vehicle a command talks to: straight over a link (*mavlink.Vehicle) or through a
// server's API (*remoteVehicle). Both answer the same way, so the commands print the same things and
// exit with the same codes.
type vehicleHandle interface {
	SystemID() byte
	State() mavlink.State
	Arm(ctx context.Context) error
	Disarm(ctx context.Context, force bool) error
	SetMode(ctx context.Context, name string) error
	Takeoff(ctx context.Context, altRelM float64) error
	Land(ctx context.Context) error
	RTL(ctx context.Context) error
	Goto(ctx context.Context, latDeg, lonDeg, altRelM float64) error
	ChangeSpeed(ctx context.Context, speedMS float64) error
	Reboot(ctx context.Context) error
	MissionStart(ctx context.Context) error
}

// paramHandle is what the param commands need of a vehicle: *mavlink.Vehicle over a link, the server's
// API through one.
type paramHandle interface {
	State() mavlink.State
	DownloadParams(ctx context.Context, progress func(got, total int)) ([]mavlink.Param, error)
	GetParam(ctx context.Context, name string) (mavlink.Param, error)
	SetParam(ctx context.Context, name string, value float64) (mavlink.Param, error)
}

// session is one command's connection to a vehicle, with what mission transfers and patrols need.
type session interface {
	vehicle() vehicleHandle
	params() paramHandle
	uploadPlan(ctx context.Context, p *mission.Plan, vf validateFlags, quiet bool) (mission.Report, error)
	downloadPlan(ctx context.Context, quiet bool) (*mission.Plan, error)
	clearMission(ctx context.Context, all bool) error
	// watch delivers the vehicle's progress events until ctx ends; a slow reader loses events, never
	// the link.
	watch(ctx context.Context) (<-chan watchEvent, error)
	close()
}

// watchEvent is what a patrol follows.
type watchEvent struct {
	kind     mavlink.EventKind // EventMissionItemReached or EventStatusText
	seq      int
	severity int
	text     string
}

// linkSession talks straight over MAVLink links.
type linkSession struct {
	m *mavlink.Manager
	v *mavlink.Vehicle
}

func (s *linkSession) vehicle() vehicleHandle { return s.v }
func (s *linkSession) params() paramHandle    { return s.v }
func (s *linkSession) close()                 { s.m.Close() }

func (s *linkSession) uploadPlan(ctx context.Context, p *mission.Plan, vf validateFlags, quiet bool) (mission.Report, error) {
	return uploadPlan(ctx, s.v, p, vf, quiet)
}

func (s *linkSession) downloadPlan(ctx context.Context, quiet bool) (*mission.Plan, error) {
	progress, done := transferBar(quiet, "downloading")
	defer done()
	return mission.Download(ctx, s.v, mission.TransferOptions{Progress: progress})
}

func (s *linkSession) clearMission(ctx context.Context, all bool) error {
	types := []missionxfer.Type{missionxfer.Mission}
	if all {
		types = append(types, missionxfer.Fence, missionxfer.Rally)
	}
	for _, t := range types {
		if err := missionxfer.Clear(ctx, s.v, t, missionxfer.Options{}); err != nil {
			return err
		}
	}
	return nil
}

func (s *linkSession) watch(ctx context.Context) (<-chan watchEvent, error) {
	sub := s.m.Subscribe()
	out := make(chan watchEvent, 64)
	go func() {
		defer sub.Close()
		for {
			u, err := sub.Next(ctx)
			if err != nil {
				return
			}
			for _, e := range u.Events {
				if e.SystemID != s.v.SystemID() || e.Network != s.v.Network() {
					continue
				}
				var we watchEvent
				switch {
				case e.Kind == mavlink.EventMissionItemReached:
					we = watchEvent{kind: e.Kind, seq: e.MissionSeq}
				case e.Kind == mavlink.EventStatusText && e.Text != nil:
					we = watchEvent{kind: e.Kind, severity: e.Text.Severity, text: e.Text.Text}
				default:
					continue
				}
				select {
				case out <- we:
				default:
				}
			}
		}
	}()
	return out, nil
}

// errNotOverServer is returned for what the API does not offer yet.
func errNotOverServer(what string) error {
	return usageError{fmt.Errorf("%s is not available through --server yet; use --link", what)}
}
