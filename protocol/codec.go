package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// ErrEmpty is returned by Decode for an empty document, which is what a port
// probe sends; callers treat it as nothing to do rather than as a bad message.
var ErrEmpty = errors.New("empty message")

// messageKind is what Decode knows of one message type.
type messageKind struct {
	typ reflect.Type
	// required are the fields a message must carry.
	required []string
	// fields are typ's fields, in order, by their exact JSON names, with
	// where each is (for reflect.Value.FieldByIndex).
	fields []field
}

type field struct {
	name  string
	index []int
}

var kinds = map[string]*messageKind{
	TypeRegister:       kind[Register]("worker_host", "worker_port", "worker_pid"),
	TypeRegisterAck:    kind[RegisterAck](),
	TypeNewMasterJob:   kind[NewMasterJob]("input_directory", "output_directory", "mapper_executable", "reducer_executable", "num_mappers", "num_reducers"),
	TypeNewWorkerJob:   kind[NewWorkerJob]("input_files", "executable", "output_directory"),
	TypeNewSortJob:     kind[NewSortJob]("input_files", "output_file"),
	TypeStatus:         kind[Status]("status", "worker_pid"),
	TypeHeartbeat:      kind[Heartbeat]("worker_pid"),
	TypeShutdown:       kind[Shutdown](),
	TypeJobStatus:      kind[JobStatusRequest](),
	TypeJobAccepted:    kind[JobAccepted]("job_id"),
	TypeJobStatusReply: kind[ClusterStatus]("jobs", "workers"),
	TypeError:          kind[Error]("error"),
	TypeCancelTask:     kind[CancelTask]("output"),
	TypeCancelJob:      kind[CancelJob]("job_id"),
	TypeTaskLogs:       kind[TaskLogsRequest]("job_id"),
	TypeTaskLogsReply:  kind[TaskLogs]("job_id", "logs"),
	TypeAttemptLog:     kind[AttemptLog]("output", "worker_pid"),
	TypeStatusAck:      kind[StatusAck](),
	TypeFetchRun:       kind[FetchRun]("job_id", "run"),
	TypeJobEnded:       kind[JobEnded]("job_id"),
}

func kind[T Message](required ...string) *messageKind {
	k := &messageKind{typ: reflect.TypeFor[T](), required: required}
	k.fields = addFields(nil, k.typ, nil)
	return k
}

// addFields appends t's fields, and the fields of structs it embeds, to
// fields; index is where t is.
func addFields(fields []field, t reflect.Type, index []int) []field {
	for i := range t.NumField() {
		f := t.Field(i)
		at := append(slices.Clone(index), i)
		if f.Anonymous {
			fields = addFields(fields, f.Type, at)
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		fields = append(fields, field{name, at})
	}
	return fields
}

// Decode parses one JSON document into the typed message its message_type
// names (a value such as Register, not a pointer). Unknown fields are
// ignored, and field names must match exactly (encoding/json alone would let
// "Worker_PID" stand for worker_pid). A missing required field, a wrong
// type or an unknown message_type is an error that says which.
func Decode(data []byte) (Message, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, ErrEmpty
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil || fields == nil {
		if err == nil {
			err = errors.New("null")
		}
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	var name string
	raw, ok := fields["message_type"]
	if !ok {
		return nil, errors.New("missing field message_type")
	}
	if err := json.Unmarshal(raw, &name); err != nil {
		return nil, fmt.Errorf("field message_type: %w", err)
	}
	k, ok := kinds[name]
	if !ok {
		return nil, fmt.Errorf("unknown message_type %q", name)
	}
	for _, f := range k.required {
		if v, ok := fields[f]; !ok || string(v) == "null" {
			return nil, fmt.Errorf("%s: missing field %s", name, f)
		}
	}
	// Each known field is decoded on its own, from the bytes already
	// parsed: a document may be 16 MiB, and re-encoding the known fields to
	// decode them as one struct would copy it twice more.
	v := reflect.New(k.typ).Elem()
	for _, f := range k.fields {
		raw, ok := fields[f.name]
		if !ok {
			continue
		}
		delete(fields, f.name) // once decoded, its bytes are garbage
		if err := json.Unmarshal(raw, v.FieldByIndex(f.index).Addr().Interface()); err != nil {
			return nil, fmt.Errorf("%s: field %s: %w", name, f.name, err)
		}
	}
	return v.Interface().(Message), nil
}

// Encode marshals msg as one JSON document, message_type first.
func Encode(msg Message) ([]byte, error) {
	body, err := json.Marshal(msg)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", msg.Type(), err)
	}
	if len(body) < 2 || body[0] != '{' {
		return nil, fmt.Errorf("encode %s: not a JSON object", msg.Type())
	}
	typ, err := json.Marshal(msg.Type())
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", msg.Type(), err)
	}
	data := make([]byte, 0, len(body)+len(typ)+len(`{"message_type":,`))
	data = append(data, `{"message_type":`...)
	data = append(data, typ...)
	if len(body) > 2 { // not {}
		data = append(data, ',')
	}
	return append(data, body[1:]...), nil
}
