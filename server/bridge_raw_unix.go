//go:build unix

package main

import (
	"errors"
	"io"

	"golang.org/x/sys/unix"
)

// readFD reads one frame from a non-blocking descriptor without waiting;
// again reports that none was ready. Nothing read is the end, as for
// os.File.
func readFD(fd uintptr, buf []byte) (n int, again bool, err error) {
	n, err = unix.Read(int(fd), buf)
	switch {
	case errors.Is(err, unix.EAGAIN):
		return 0, true, nil
	case err != nil:
		return 0, false, err
	case n == 0:
		return 0, false, io.EOF
	}
	return n, false, nil
}

// writeFD writes what a non-blocking socket takes of p now: 0 when its
// buffer is full.
func writeFD(fd uintptr, p []byte) (int, error) {
	n, err := unix.Write(int(fd), p)
	if errors.Is(err, unix.EAGAIN) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return n, nil
}

// haveRaw: descriptors can be read and written without waiting here.
const haveRaw = true

// nonblocking reports whether fd is in non-blocking mode, as the direct
// paths need: they must never wait.
func nonblocking(fd uintptr) bool {
	fl, err := unix.FcntlInt(fd, unix.F_GETFL, 0)
	return err == nil && fl&unix.O_NONBLOCK != 0
}
