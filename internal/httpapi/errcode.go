package httpapi

import (
	"context"
	"errors"
	"net/http"

	"github.com/ospreygcs/osprey/mavlink"
	"github.com/ospreygcs/osprey/mavlink/missionxfer"
	"github.com/ospreygcs/osprey/mission"
)

// An error answer's "code" names the failure for scripts, which should not parse the English "error"
// text, and for osprey's own --server mode, which turns the code back into the error the same failure
// has over a link so that exit codes do not depend on the path.
type codedError struct {
	code string
	err  error
}

// errorCodes lists the failures that have a code of their own; the first whose error matches wins, so
// wrapped errors come before the errors they wrap. A failure not listed gets its HTTP status's code.
func errorCodes() []codedError {
	return []codedError{
		{"no_vehicle", mavlink.ErrNoVehicle},
		{"no_link", mavlink.ErrNoLink},
		{"bad_argument", mavlink.ErrBadArgument},
		{"unknown_mode", mavlink.ErrUnknownMode},
		{"command_busy", mavlink.ErrBusy},
		{"transfer_busy", mavlink.ErrTransferBusy},
		{"denied", mavlink.ErrDenied},
		{"failed", mavlink.ErrFailed},
		{"unsupported", mavlink.ErrUnsupported},
		{"cancelled", mavlink.ErrCancelled},
		{"not_confirmed", mavlink.ErrNotConfirmed},
		{"param_rejected", mavlink.ErrParamRejected},
		{"timeout", mavlink.ErrTimeout},
		{"invalid_plan", mission.ErrInvalidPlan},
		{"mission_rejected", missionxfer.ErrRejected},
		{"mission_mismatch", missionxfer.ErrMismatch},
		{"mission_invalid_items", missionxfer.ErrInvalidItems},
		{"mission_timeout", missionxfer.ErrTimeout},
		{"mission_cancelled", missionxfer.ErrCancelled},
		{"timeout", context.DeadlineExceeded},
	}
}

// errorCode names err for an error answer with this status: its own code, else the status's.
func errorCode(err error, status int) string {
	for _, c := range errorCodes() {
		if errors.Is(err, c.err) {
			return c.code
		}
	}
	return statusCode(status)
}

// ErrorForCode is the error an API error code stands for, or nil for a code that names no error of
// osprey's packages (such as "bad_request") or one this build does not know.
func ErrorForCode(code string) error {
	for _, c := range errorCodes() {
		if c.code == code {
			return c.err
		}
	}
	return nil
}

// statusCode is the code of an error answer whose failure has no code of its own.
func statusCode(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "bad_request"
	case http.StatusForbidden:
		return "forbidden"
	case http.StatusNotFound:
		return "not_found"
	case http.StatusMethodNotAllowed:
		return "method_not_allowed"
	case http.StatusConflict:
		return "conflict"
	case http.StatusRequestEntityTooLarge:
		return "too_large"
	case http.StatusUnsupportedMediaType:
		return "unsupported_media_type"
	case http.StatusUnprocessableEntity:
		return "invalid"
	case http.StatusTooManyRequests:
		return "too_many_requests"
	case http.StatusServiceUnavailable:
		return "unavailable"
	case http.StatusGatewayTimeout:
		return "timeout"
	}
	return "internal"
}
