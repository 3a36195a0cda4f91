package mission

import (
	"context"
	"errors"

	"github.com/ospreygcs/osprey/mavlink"
	"github.com/ospreygcs/osprey/mavlink/missionxfer"
)

// TransferOptions tune Upload and Download.
type TransferOptions struct {
	// Progress, when set, is called as items are confirmed; part is "mission", "fence" or "rally".
	Progress func(part string, done, total int)
}

func (o TransferOptions) xfer(t missionxfer.Type, verify bool) missionxfer.Options {
	x := missionxfer.Options{Verify: verify}
	if o.Progress != nil {
		part := t.String()
		x.Progress = func(done, total int) { o.Progress(part, done, total) }
	}
	return x
}

// Upload sends a plan to a vehicle: its mission (numbered as the vehicle's autopilot wants), then its
// geofence and rally points when it has them, each read back and compared. It does not validate: the
// caller decides what may fly. A failure leaves the vehicle's mission marked unknown.
func Upload(ctx context.Context, v *mavlink.Vehicle, p *Plan, o TransferOptions) error {
	w, err := ToWire(p, Firmware(v.State().Autopilot))
	if err != nil {
		return err
	}
	for _, part := range []struct {
		t     missionxfer.Type
		items []missionxfer.Item
	}{{missionxfer.Mission, w.Mission}, {missionxfer.Fence, w.Fence}, {missionxfer.Rally, w.Rally}} {
		if part.t != missionxfer.Mission && len(part.items) == 0 {
			continue
		}
		if err := missionxfer.Upload(ctx, v, part.t, part.items, o.xfer(part.t, true)); err != nil {
			return err
		}
	}
	return nil
}

// Download reads a vehicle's mission, geofence and rally points into a plan. An autopilot that has no
// fences or rally points (it answers UNSUPPORTED) gives a plan without them.
func Download(ctx context.Context, v *mavlink.Vehicle, o TransferOptions) (*Plan, error) {
	var w Wire
	for _, part := range []struct {
		t   missionxfer.Type
		dst *[]missionxfer.Item
	}{{missionxfer.Mission, &w.Mission}, {missionxfer.Fence, &w.Fence}, {missionxfer.Rally, &w.Rally}} {
		items, err := missionxfer.Download(ctx, v, part.t, o.xfer(part.t, false))
		if err != nil {
			var xe *missionxfer.Error
			if part.t != missionxfer.Mission && errors.As(err, &xe) && xe.Result == "UNSUPPORTED" {
				continue
			}
			return nil, err
		}
		*part.dst = items
	}
	return FromWire(w, Firmware(v.State().Autopilot))
}
