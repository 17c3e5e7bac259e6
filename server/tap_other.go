//go:build !linux

package main

import (
	"errors"
	"os"
)

// openTAP needs Linux's /dev/net/tun.
func openTAP(name string) (*os.File, int, error) {
	return nil, 0, errors.New("TAP devices are supported on Linux only")
}
