//go:build !unix

package main

import "errors"

var errNoRaw = errors.New("no non-blocking descriptors here")

// readFD and writeFD need Unix descriptors; elsewhere the bridge takes
// the goroutine path for every frame.
func readFD(uintptr, []byte) (int, bool, error) { return 0, false, errNoRaw }

func writeFD(uintptr, []byte) (int, error) { return 0, errNoRaw }

const haveRaw = false

func nonblocking(uintptr) bool { return false }
