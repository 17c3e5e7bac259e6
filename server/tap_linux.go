package main

import (
	"fmt"
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// openTAP attaches to an existing TAP device and returns it with the
// device's MTU. The descriptor is non-blocking so the Go poller serves it
// and Close wakes a pending Read. The device must exist: TUNSETIFF would
// otherwise create a new one, owned by nobody in particular.
func openTAP(name string) (*os.File, int, error) {
	ifc, err := net.InterfaceByName(name)
	if err != nil {
		return nil, 0, fmt.Errorf("TAP device %q: %w (create it: ip tuntap add dev %s mode tap user $USER)", name, err, name)
	}
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, 0, fmt.Errorf("open /dev/net/tun: %w", err)
	}
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		unix.Close(fd)
		return nil, 0, err
	}
	ifr.SetUint16(unix.IFF_TAP | unix.IFF_NO_PI)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		return nil, 0, fmt.Errorf("attach to TAP device %q: %w (is it a TAP, owned by this user, and free?)", name, err)
	}
	return os.NewFile(uintptr(fd), "/dev/net/tun:"+name), ifc.MTU, nil
}
