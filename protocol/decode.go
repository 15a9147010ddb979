package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// ErrEmpty is returned by Decode for an empty document, which is what a port
// probe sends; callers treat it as nothing to do rather than as a bad message.
var ErrEmpty = errors.New("empty message")

// required lists, per message type, the fields a message must carry.
var required = map[string][]string{
	TypeRegister:       {"worker_host", "worker_port", "worker_pid"},
	TypeRegisterAck:    {},
	TypeNewMasterJob:   {"input_directory", "output_directory", "mapper_executable", "reducer_executable", "num_mappers", "num_reducers"},
	TypeNewWorkerJob:   {"input_files", "executable", "output_directory"},
	TypeNewSortJob:     {"input_files", "output_file"},
	TypeStatus:         {"status", "worker_pid"},
	TypeHeartbeat:      {"worker_pid"},
	TypeShutdown:       {},
	TypeJobStatus:      {},
	TypeJobAccepted:    {"job_id"},
	TypeJobStatusReply: {"jobs", "workers"},
	TypeError:          {"error"},
}

// Decode parses one JSON document into the typed message its message_type
// names (a value such as Register, not a pointer). Unknown fields are ignored;
// a missing required field, a wrong type or an unknown message_type is an
// error that says which.
func Decode(data []byte) (any, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, ErrEmpty
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	var kind string
	raw, ok := fields["message_type"]
	if !ok {
		return nil, errors.New("missing field message_type")
	}
	if err := json.Unmarshal(raw, &kind); err != nil {
		return nil, fmt.Errorf("field message_type: %w", err)
	}
	need, ok := required[kind]
	if !ok {
		return nil, fmt.Errorf("unknown message_type %q", kind)
	}
	for _, name := range need {
		if v, ok := fields[name]; !ok || string(v) == "null" {
			return nil, fmt.Errorf("%s: missing field %s", kind, name)
		}
	}
	msg, err := decodeAs(kind, data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", kind, err)
	}
	return msg, nil
}

func decodeAs(kind string, data []byte) (any, error) {
	switch kind {
	case TypeRegister:
		return unmarshal[Register](data)
	case TypeRegisterAck:
		return unmarshal[RegisterAck](data)
	case TypeNewMasterJob:
		return unmarshal[NewMasterJob](data)
	case TypeNewWorkerJob:
		return unmarshal[NewWorkerJob](data)
	case TypeNewSortJob:
		return unmarshal[NewSortJob](data)
	case TypeStatus:
		return unmarshal[Status](data)
	case TypeHeartbeat:
		return unmarshal[Heartbeat](data)
	case TypeShutdown:
		return unmarshal[Shutdown](data)
	case TypeJobStatus:
		return unmarshal[JobStatusRequest](data)
	case TypeJobAccepted:
		return unmarshal[JobAccepted](data)
	case TypeJobStatusReply:
		return unmarshal[ClusterStatus](data)
	case TypeError:
		return unmarshal[Error](data)
	}
	return nil, fmt.Errorf("unknown message_type %q", kind)
}

func unmarshal[T any](data []byte) (T, error) {
	var v T
	err := json.Unmarshal(data, &v)
	return v, err
}
