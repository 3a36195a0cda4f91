package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ospreygcs/osprey/internal/app"
	"github.com/ospreygcs/osprey/internal/config"
)

func newServeCmd() *cobra.Command {
	var path string
	c := &cobra.Command{
		Use:   "serve",
		Short: "Run the server: links, cameras, the HTTP API and the browser app",
		Long: `Run osprey as a server for pilots, the command centre and scripts: MAVLink links to the fleet,
camera relays, the HTTP API under /api/v1, live updates over a WebSocket, and the browser app.

The configuration is YAML (osprey config example prints a commented one); unknown keys are
rejected, and OSPREY_* environment variables override any field (osprey config env lists them).
The server opens no outbound connection except to the links and cameras it names.
Ctrl-C stops it gracefully: no new requests, transfers cancelled, recordings and flights closed.`,
		Example: `  osprey config example > osprey.yaml && $EDITOR osprey.yaml
  osprey serve --config osprey.yaml
  OSPREY_HTTP_ADDRESS=0.0.0.0:8080 osprey serve --config osprey.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if path == "" {
				path = os.Getenv("OSPREY_CONFIG")
			}
			conf, err := config.Load(path, envWithout("OSPREY_CONFIG"))
			if err != nil {
				return usageError{err}
			}
			return serve(cmd.Context(), conf, cmd.OutOrStdout(), nil)
		},
	}
	c.Flags().StringVarP(&path, "config", "c", "", "configuration file (YAML); default: $OSPREY_CONFIG, else built-in defaults")
	return c
}

// envWithout is the environment less the named variables, which the command line handles itself.
func envWithout(names ...string) []string {
	var out []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		drop := false
		for _, n := range names {
			drop = drop || name == n
		}
		if !drop {
			out = append(out, kv)
		}
	}
	return out
}

// serve runs the app until ctx ends. ready, if set, is called with the app once it listens.
func serve(ctx context.Context, conf *config.Config, out io.Writer, ready func(*app.App)) error {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	a, err := app.New(ctx, conf, log)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "osprey is serving on http://%s/ (API http://%s/api/v1/openapi.json); Ctrl-C stops it\n", a.Addr(), a.Addr())
	if ready != nil {
		ready(a)
	}
	if err := a.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

func newConfigCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "config",
		Short: "Print an example configuration, the environment overrides, or the configuration in effect",
	}
	c.AddCommand(&cobra.Command{
		Use:   "example",
		Short: "Print a commented example configuration (every field, with its default)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := io.WriteString(cmd.OutOrStdout(), config.Example())
			return err
		},
	}, &cobra.Command{
		Use:   "env",
		Short: "List the OSPREY_* environment variables and the fields they override",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, v := range config.EnvVars() {
				fmt.Fprintln(cmd.OutOrStdout(), v)
			}
			return nil
		},
	})
	var path string
	show := &cobra.Command{
		Use:   "show",
		Short: "Load and validate a configuration and print it, secrets redacted",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			conf, err := config.Load(path, envWithout("OSPREY_CONFIG"))
			if err != nil {
				return usageError{err}
			}
			return printJSON(cmd.OutOrStdout(), conf.Redacted())
		},
	}
	show.Flags().StringVarP(&path, "config", "c", "", "configuration file (YAML)")
	c.AddCommand(show)
	return c
}
