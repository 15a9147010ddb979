package netaddr

import (
	"os"
	"testing"
)

func TestAdvertised(t *testing.T) {
	name, err := os.Hostname()
	if err != nil {
		t.Skip("no host name:", err)
	}
	tests := []struct{ listen, advertise, want string }{
		{"localhost", "", "localhost"},
		{"10.0.0.2", "", "10.0.0.2"},
		{"0.0.0.0", "", name},
		{"", "", name},
		{"::", "", name},
		{"[::]", "", name},
		{"0.0.0.0", "worker7.example", "worker7.example"},
		{"10.0.0.2", "203.0.113.9", "203.0.113.9"},
	}
	for _, tc := range tests {
		if got, err := Advertised(tc.listen, tc.advertise); err != nil || got != tc.want {
			t.Errorf("Advertised(%q, %q) = %q, %v; want %q", tc.listen, tc.advertise, got, err, tc.want)
		}
	}
}

func TestLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "LOCALHOST": true, "127.0.0.1": true, "127.1.2.3": true, "::1": true, "[::1]": true,
		"": false, "0.0.0.0": false, "::": false, "10.77.0.1": false, "example.com": false, "localhost.example.com": false,
	} {
		if got := Loopback(host); got != want {
			t.Errorf("Loopback(%q) = %v, want %v", host, got, want)
		}
	}
}
