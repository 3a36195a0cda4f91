// Command osprey is a drone ground control station and live surveillance relay in one binary.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/ospreygcs/osprey/mavlink"
	"github.com/ospreygcs/osprey/mavlink/missionxfer"
)

// Exit codes, documented in `osprey --help`, so scripts can branch on them.
const (
	exitOK      = 0
	exitFailure = 1 // anything else: bad file, I/O error, ...
	exitUsage   = 2 // the command line is wrong
	exitRefused = 3 // the vehicle refused: denied, failed, unsupported
	exitNoReply = 4 // no answer: timeout, vehicle not heard, link lost
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:]))
}

func run(ctx context.Context, args []string) int {
	root := newRootCmd()
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(os.Stderr, "osprey:", err)
	return exitCode(err)
}

// usageError marks an error in the command line itself.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

func exitCode(err error) int {
	var ue usageError
	switch {
	case errors.As(err, &ue), errors.Is(err, mavlink.ErrBadArgument), errors.Is(err, mavlink.ErrUnknownMode):
		return exitUsage
	case errors.Is(err, mavlink.ErrDenied), errors.Is(err, mavlink.ErrFailed), errors.Is(err, mavlink.ErrUnsupported),
		errors.Is(err, mavlink.ErrCancelled), errors.Is(err, mavlink.ErrParamRejected), errors.Is(err, mavlink.ErrNotConfirmed),
		errors.Is(err, missionxfer.ErrRejected):
		return exitRefused
	case errors.Is(err, mavlink.ErrTimeout), errors.Is(err, mavlink.ErrNoVehicle), errors.Is(err, mavlink.ErrBusy),
		errors.Is(err, missionxfer.ErrTimeout), errors.Is(err, mavlink.ErrTransferBusy), errors.Is(err, errLinkLost),
		errors.Is(err, context.DeadlineExceeded):
		return exitNoReply
	}
	return exitFailure
}
