package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/ospreygcs/osprey/mavlink"
)

// linkFlags are the flags of every command that talks straight to a vehicle over a link.
type linkFlags struct {
	links   []string
	vehicle int
	wait    time.Duration
	timeout time.Duration
	sysid   int
	json    bool
	keyFile string
	policy  string
	cmd     *cobra.Command // to read the inherited --server flag
}

// server is the --server URL, if the command line gave one.
func (f *linkFlags) server() string {
	if fl := f.cmd.Flag("server"); fl != nil {
		return fl.Value.String()
	}
	return ""
}

func (f *linkFlags) register(cmd *cobra.Command) {
	f.cmd = cmd
	fl := cmd.Flags()
	fl.StringArrayVarP(&f.links, "link", "l", nil, "link URL to the vehicle, e.g. tcpc:127.0.0.1:5760 (repeat for redundant radios); or use --server")
	fl.IntVarP(&f.vehicle, "vehicle", "v", 0, "system id of the vehicle (default: the only one heard)")
	fl.DurationVar(&f.wait, "wait", 5*time.Second, "how long to wait to hear the vehicle")
	fl.DurationVar(&f.timeout, "timeout", 60*time.Second, "give up on the whole command after this long")
	fl.IntVar(&f.sysid, "sysid", mavlink.DefaultSystemID, "osprey's own MAVLink system id (the vehicle's SYSID_MYGCS)")
	fl.BoolVar(&f.json, "json", false, "print JSON for scripts instead of text")
	fl.StringVar(&f.keyFile, "signing-key", "", "file with the MAVLink 2 signing key (64 hex digits) or passphrase")
	fl.StringVar(&f.policy, "unsigned", string(mavlink.RejectUnsigned), "with --signing-key: reject or accept unsigned frames")
	_ = cmd.RegisterFlagCompletionFunc("link", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return []string{"udps:0.0.0.0:14550", "udpc:", "tcpc:127.0.0.1:5760", "tcps:", "serial:/dev/ttyUSB0:57600"}, cobra.ShellCompDirectiveNoSpace
	})
}

// open starts a manager on the links.
func (f *linkFlags) open() (*mavlink.Manager, error) {
	if f.server() != "" {
		return nil, errNotOverServer(f.cmd.CommandPath())
	}
	if len(f.links) == 0 {
		return nil, usageError{errors.New("--link is required, e.g. --link tcpc:127.0.0.1:5760 (or --server URL)")}
	}
	if f.sysid < 1 || f.sysid > 255 {
		return nil, usageError{fmt.Errorf("--sysid %d: must be 1 to 255", f.sysid)}
	}
	m, err := mavlink.NewManager(mavlink.Config{SystemID: byte(f.sysid)})
	if err != nil {
		return nil, err
	}
	var key []byte
	if f.keyFile != "" {
		if key, err = mavlink.LoadSigningKey(f.keyFile); err != nil {
			m.Close()
			return nil, err
		}
	}
	for _, u := range f.links {
		if _, err := m.AddLink(mavlink.LinkConfig{URL: u, SigningKey: key, Unsigned: mavlink.UnsignedPolicy(f.policy)}); err != nil {
			m.Close()
			if errors.Is(err, mavlink.ErrBadLinkURL) {
				return nil, usageError{err}
			}
			return nil, err
		}
	}
	return m, nil
}

// connect reaches the vehicle: through the server given with --server, or straight over the links.
func (f *linkFlags) connect(ctx context.Context) (session, error) {
	if srv := f.server(); srv != "" {
		if len(f.links) > 0 {
			return nil, usageError{errors.New("give --link or --server, not both")}
		}
		if f.vehicle < 0 || f.vehicle > 255 {
			return nil, usageError{fmt.Errorf("--vehicle %d: must be 1 to 255", f.vehicle)}
		}
		return connectRemote(ctx, srv, f.vehicle)
	}
	m, v, err := f.connectLink(ctx)
	if err != nil {
		return nil, err
	}
	return &linkSession{m: m, v: v}, nil
}

// withSession runs do with a session to the vehicle, under the command's --timeout, and closes it after.
func (f *linkFlags) withSession(cmd *cobra.Command, do func(ctx context.Context, sess session) error) error {
	ctx, cancel := context.WithTimeout(cmd.Context(), f.timeout)
	defer cancel()
	sess, err := f.connect(ctx)
	if err != nil {
		return err
	}
	defer sess.close()
	return do(ctx, sess)
}

// connectLink opens the links and waits for the vehicle.
func (f *linkFlags) connectLink(ctx context.Context) (*mavlink.Manager, *mavlink.Vehicle, error) {
	if f.vehicle < 0 || f.vehicle > 255 {
		return nil, nil, usageError{fmt.Errorf("--vehicle %d: must be 1 to 255", f.vehicle)}
	}
	m, err := f.open()
	if err != nil {
		return nil, nil, err
	}
	wctx, cancel := context.WithTimeout(ctx, f.wait)
	defer cancel()
	if f.vehicle != 0 {
		v, err := m.WaitVehicle(wctx, byte(f.vehicle))
		if err != nil {
			m.Close()
			return nil, nil, fmt.Errorf("vehicle %d not heard on %v within %v: %w", f.vehicle, f.links, f.wait, mavlink.ErrNoVehicle)
		}
		return m, v, nil
	}
	// No --vehicle: wait for the first, then two heartbeat periods more to be sure it is the only one:
	// a command must never go to a vehicle the operator did not mean.
	sub := m.Subscribe()
	defer sub.Close()
	for len(m.Vehicles()) == 0 {
		if _, err := sub.Next(wctx); err != nil {
			m.Close()
			return nil, nil, fmt.Errorf("no vehicle heard on %v within %v: %w", f.links, f.wait, mavlink.ErrNoVehicle)
		}
	}
	select {
	case <-time.After(2100 * time.Millisecond):
	case <-ctx.Done():
	}
	vs := m.Vehicles()
	if len(vs) > 1 {
		m.Close()
		ids := make([]byte, len(vs))
		for i, v := range vs {
			ids[i] = v.SystemID()
		}
		return nil, nil, usageError{fmt.Errorf("%d vehicles heard (system ids %v): choose one with --vehicle", len(vs), ids)}
	}
	return m, vs[0], nil
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// stderrIsTerminal tells whether progress bars make sense.
func stderrIsTerminal() bool {
	fi, err := os.Stderr.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
