package sitl

import (
	"fmt"
	"math"
	"sync"

	"github.com/bluenviron/gomavlib/v3"
)

// FleetSpacingM is the distance between neighbouring vehicles of a Fleet.
const FleetSpacingM = 20

// FleetConfig configures a fleet of simulated copters.
type FleetConfig struct {
	// Count is the number of vehicles, at least 1.
	Count int
	// FirstSystemID is the system id of the first vehicle (0 means 1); the
	// others follow consecutively and must stay within 1..250.
	FirstSystemID byte
	// HomeLatDeg, HomeLonDeg and HomeAltMSLM place the first vehicle; the
	// rest stand on a square grid FleetSpacingM apart, north and east of it.
	HomeLatDeg, HomeLonDeg, HomeAltMSLM float64
	// Endpoint returns the endpoint for vehicle i (0-based). Required.
	Endpoint func(i int) gomavlib.EndpointConf
	// Speedup applies to every vehicle; 0 means 1.
	Speedup float64
	// Seed seeds vehicle i with Seed+i.
	Seed int64
}

// Fleet is a group of simulated vehicles started and stopped together.
type Fleet struct {
	vehicles []*Vehicle
}

// NewFleet starts cfg.Count vehicles. If one fails to start, the ones already
// started are closed and the error is returned.
func NewFleet(cfg FleetConfig) (*Fleet, error) {
	if cfg.Count < 1 {
		return nil, fmt.Errorf("%w: fleet Count %d < 1", ErrInvalidConfig, cfg.Count)
	}
	if cfg.Endpoint == nil {
		return nil, fmt.Errorf("%w: fleet Endpoint func is required", ErrInvalidConfig)
	}
	first := int(cfg.FirstSystemID)
	if first == 0 {
		first = 1
	}
	if first+cfg.Count-1 > 250 {
		return nil, fmt.Errorf("%w: fleet system ids %d..%d exceed 250", ErrInvalidConfig, first, first+cfg.Count-1)
	}
	cols := int(math.Ceil(math.Sqrt(float64(cfg.Count))))
	f := &Fleet{vehicles: make([]*Vehicle, 0, cfg.Count)}
	for i := range cfg.Count {
		north := float64(i/cols) * FleetSpacingM
		east := float64(i%cols) * FleetSpacingM
		lat := cfg.HomeLatDeg + north/mPerDegLat
		lon := cfg.HomeLonDeg + east/(mPerDegLat*math.Max(math.Cos(cfg.HomeLatDeg*math.Pi/180), 0.01))
		v, err := NewVehicle(VehicleConfig{
			SystemID:    byte(first + i),
			Endpoint:    cfg.Endpoint(i),
			HomeLatDeg:  lat,
			HomeLonDeg:  lon,
			HomeAltMSLM: cfg.HomeAltMSLM,
			Speedup:     cfg.Speedup,
			Seed:        cfg.Seed + int64(i),
		})
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("sitl: fleet vehicle %d: %w", i, err)
		}
		f.vehicles = append(f.vehicles, v)
	}
	return f, nil
}

// Vehicles returns the fleet's vehicles in system-id order. The slice is a
// copy; the vehicles are shared.
func (f *Fleet) Vehicles() []*Vehicle {
	return append([]*Vehicle(nil), f.vehicles...)
}

// Close stops every vehicle, in parallel, and waits for all of them.
func (f *Fleet) Close() {
	var wg sync.WaitGroup
	for _, v := range f.vehicles {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v.Close()
		}()
	}
	wg.Wait()
}
