package e2e

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestStdioNode runs the failure-detector spec's (seeds/000_…) two sample cases through `master --stdio`
// and compares the replies byte for byte.
func TestStdioNode(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"record heartbeat",
			`{"src": "w1", "dest": "master", "body": {"type": "heartbeat", "msg_id": 1, "worker_id": "w1", "timestamp": 1700000000000}}` + "\n",
			`{"type": "heartbeat_ok", "in_reply_to": 1}` + "\n"},
		{"detect timed-out worker",
			`{"src":"w1","dest":"master","body":{"type":"heartbeat","msg_id":1,"worker_id":"w1","timestamp":1700000000000}}` + "\n" +
				`{"src":"monitor","dest":"master","body":{"type":"check_failures","msg_id":2,"timeout_ms":5000,"now":1700000010000}}` + "\n",
			`{"type": "heartbeat_ok", "in_reply_to": 1}` + "\n" +
				`{"type": "failures_detected", "in_reply_to": 2, "failed_workers": ["w1"]}` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(filepath.Join(binDir, "master"), "--stdio")
			cmd.Stdin = strings.NewReader(tt.in)
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("master --stdio: %v", err)
			}
			if string(out) != tt.want {
				t.Errorf("got\n%s\nwant\n%s", out, tt.want)
			}
		})
	}
}
