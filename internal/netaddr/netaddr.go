// Package netaddr holds the rules about hosts that the commands share:
// which address a process tells others, and which listen addresses only
// this machine can reach.
package netaddr

import (
	"fmt"
	"net"
	"os"
	"strings"
)

// Unspecified reports whether host, a listen address, means every address
// of this machine: "", 0.0.0.0 or ::.
func Unspecified(host string) bool {
	if host == "" {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsUnspecified()
}

// Advertised is the host a process listening on listen tells others to
// reach it at: advertise if set, else the listen host, or this machine's
// name when listening on every address (telling others "0.0.0.0" would
// make them connect to themselves).
func Advertised(listen, advertise string) (string, error) {
	if advertise != "" {
		return advertise, nil
	}
	if !Unspecified(listen) {
		return listen, nil
	}
	name, err := os.Hostname()
	if err != nil {
		return "", fmt.Errorf("listening on every address and no --advertise-host given: this host's name: %w", err)
	}
	return name, nil
}

// Loopback reports whether only this machine can reach a listener on host:
// "localhost" or a loopback address. Any other name may resolve to
// anything, so it is not.
func Loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}
