package missionxfer_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/ospreygcs/osprey/mavlink/missionxfer"
	"github.com/ospreygcs/osprey/sitl"
)

// BenchmarkTransfer times mission uploads and downloads to the simulated
// ArduCopter over loopback UDP, clean and with loss in both directions, and
// reports the time per item. "spec" runs are the plain exchange other ground
// stations use (one request, one answer; one item at a time for downloads)
// for comparison; on a lossy link they pay ArduPilot's one-second re-request
// for every lost request, so they move fewer items.
func BenchmarkTransfer(b *testing.B) {
	cases := []struct {
		op   string
		loss float64
		n    int
		spec bool
	}{
		{op: "upload", loss: 0, n: 500},
		{op: "upload", loss: 0.2, n: 500},
		{op: "upload", loss: 0.4, n: 500},
		{op: "upload", loss: 0, n: 500, spec: true},
		{op: "upload", loss: 0.2, n: 30, spec: true},
		{op: "download", loss: 0, n: 500},
		{op: "download", loss: 0.2, n: 500},
		{op: "download", loss: 0.4, n: 500},
		{op: "download", loss: 0, n: 500, spec: true},
		{op: "download", loss: 0.2, n: 100, spec: true},
	}
	for _, c := range cases {
		name := fmt.Sprintf("%s/loss=%02.0f%%/items=%d", c.op, c.loss*100, c.n)
		if c.spec {
			name += "/spec"
		}
		b.Run(name, func(b *testing.B) {
			r := newRig(b, sitl.VehicleConfig{Seed: 1})
			o := lossy()
			if c.spec {
				o.UploadAhead, o.Window = -1, 1
			}
			items := missionItems(c.n, 0)
			ctx := ctxFor(b, 10*time.Minute)
			if c.op == "download" {
				if err := missionxfer.Upload(ctx, r.v, missionxfer.Mission, items, missionxfer.Options{}); err != nil {
					b.Fatal(err)
				}
			}
			r.sim.SetLoss(c.loss, c.loss)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				var err error
				if c.op == "upload" {
					err = missionxfer.Upload(ctx, r.v, missionxfer.Mission, missionItems(c.n, i), o)
				} else {
					_, err = missionxfer.Download(ctx, r.v, missionxfer.Mission, o)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(b.Elapsed().Seconds()*1000/float64(b.N*c.n), "ms/item")
		})
	}
}
