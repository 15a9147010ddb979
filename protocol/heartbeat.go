package protocol

import (
	"fmt"
	"net"
)

// HeartbeatAddr is where a master listening on host:port receives heartbeats:
// UDP port-1, as the seed says.
func HeartbeatAddr(host string, port int) string {
	return net.JoinHostPort(host, fmt.Sprint(port-1))
}

// SendHeartbeat sends one heartbeat datagram for pid on conn, a UDP socket
// connected to the master's heartbeat address.
func SendHeartbeat(conn net.Conn, pid int) error {
	data, err := Encode(Heartbeat{MessageType: TypeHeartbeat, WorkerPID: pid})
	if err != nil {
		return err
	}
	if _, err := conn.Write(data); err != nil {
		return fmt.Errorf("send heartbeat: %w", err)
	}
	return nil
}

// ParseHeartbeat decodes one heartbeat datagram and returns the worker's pid.
func ParseHeartbeat(data []byte) (int, error) {
	msg, err := Decode(data)
	if err != nil {
		return 0, err
	}
	hb, ok := msg.(Heartbeat)
	if !ok {
		return 0, fmt.Errorf("expected heartbeat, got %T", msg)
	}
	return hb.WorkerPID, nil
}
