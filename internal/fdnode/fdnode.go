// Package fdnode is the failure-detector node that `master --stdio` runs: it
// reads Maelstrom-style messages from stdin and answers each with one line
// on stdout. It uses the TCP master's liveness logic, but reads no clock:
// the time comes from the messages.
//
// Requests (fields of the body; msg_id may be any JSON number and is echoed
// as given, or as null when absent; times are integer Unix milliseconds):
//
//	heartbeat      worker_id, timestamp       → heartbeat_ok
//	check_failures timeout_ms, now            → failures_detected, failed_workers
//	reassign       failed_worker, healthy_worker,
//	               tasks [{"id", "chunk"}]    → reassigned, reassigned_tasks
//	init           (Maelstrom's handshake)    → init_ok
//
// failed_workers lists, sorted, every worker whose last heartbeat is more
// than timeout_ms before now (exactly timeout_ms is not failed), whether or
// not it holds tasks and whether or not they were already reassigned: a
// worker stays failed until it beats again. A worker never heard from is
// not listed, since nothing says when it was alive.
//
// reassign gives the listed tasks, with their chunks, to healthy_worker and
// answers their ids in the given order. It also moves any other task still
// held by failed_worker, as the failure-detector spec asks to reassign all
// of a failed worker's tasks, so afterwards failed_worker holds none. Neither worker
// needs to be known: the message carries no time to judge their health by,
// so the sender's word is taken.
//
// An unknown type gets an error body with Maelstrom's code 10 (not
// supported); a message missing a field, or with one of the wrong type, gets
// code 12 (malformed request). A line that is not JSON is reported on
// errOut and skipped.
package fdnode

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"

	"mapreduce/internal/liveness"
)

// maxDocument bounds one input document. A longer line ends Run with an
// error (the scanner cannot skip it); a document spread over lines that
// grows past it is reported and dropped.
const maxDocument = 16 << 20

// Maelstrom's error codes.
const (
	codeNotSupported = 10
	codeMalformed    = 12
)

// Run serves requests from in until EOF, writing one reply line per request
// to out, and flushing out after each if it has a Flush method. It reads one
// JSON document per line; a document may also span lines (the spec's first
// sample is pretty-printed). Each is a Maelstrom envelope
// {"src", "dest", "body"} or a bare body. Blank lines are skipped; lines
// that are not JSON are reported on errOut. Run returns an error only if
// in cannot be read or holds a line over 16 MiB, or out cannot be written.
func Run(in io.Reader, out io.Writer, errOut io.Writer) error {
	n := &node{beats: liveness.New[string](), tasks: newTaskTable()}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), maxDocument)
	// pending holds the lines of an unfinished document, and start the
	// number of its first line.
	var pending []byte
	start, lineNo := 0, 0
	for sc.Scan() {
		lineNo++
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		if len(pending) == 0 {
			start = lineNo
		}
		// doc is a copy: the scanner reuses line's memory.
		doc := append(pending, line...)
		pending = nil
		body, err := parseMessage(doc)
		if err != nil && start < lineNo && !errors.Is(err, io.ErrUnexpectedEOF) {
			// The line does not continue the pending document, so those
			// lines were not JSON; the line may still start a good one.
			fmt.Fprintf(errOut, "fdnode: %s: not JSON: %v\n", lines(start, lineNo-1), err)
			start, doc = lineNo, append([]byte(nil), line...)
			body, err = parseMessage(doc)
		}
		switch {
		case err == nil:
			if err := writeLine(out, n.handle(body)); err != nil {
				return err
			}
		case !errors.Is(err, io.ErrUnexpectedEOF):
			fmt.Fprintf(errOut, "fdnode: %s: not JSON: %v\n", lines(start, lineNo), err)
		case len(doc) >= maxDocument:
			fmt.Fprintf(errOut, "fdnode: %s: dropped: document longer than %d bytes\n", lines(start, lineNo), maxDocument)
		default:
			pending = append(doc, '\n')
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read line %d: %w", lineNo+1, err)
	}
	if len(pending) > 0 {
		fmt.Fprintf(errOut, "fdnode: %s: input ends inside a JSON document\n", lines(start, lineNo))
	}
	return nil
}

// lines names the input lines first to last in a report.
func lines(first, last int) string {
	if first == last {
		return fmt.Sprintf("line %d", first)
	}
	return fmt.Sprintf("lines %d-%d", first, last)
}

// writeLine writes reply and a newline in one call, then flushes out if it
// buffers, so that the peer sees each reply as soon as it is made.
func writeLine(out io.Writer, reply string) error {
	if _, err := io.WriteString(out, reply+"\n"); err != nil {
		return fmt.Errorf("write reply: %w", err)
	}
	if f, ok := out.(interface{ Flush() error }); ok {
		if err := f.Flush(); err != nil {
			return fmt.Errorf("flush reply: %w", err)
		}
	}
	return nil
}

// parseMessage returns the body of the message in doc: the "body" object of
// an envelope, or else doc itself, taken as a bare body. It returns
// io.ErrUnexpectedEOF if doc is only the start of a document.
func parseMessage(doc []byte) (json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	var top map[string]json.RawMessage
	if err := dec.Decode(&top); err != nil {
		return nil, err
	}
	if top == nil {
		return nil, errors.New("null is not a message")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("more than one JSON value")
	}
	if body, ok := top["body"]; ok && body[0] == '{' {
		return body, nil
	}
	return doc, nil
}

// node is the detector's state.
type node struct {
	beats *liveness.Tracker[string]
	tasks *taskTable
}

// handle answers one request body with one reply body.
func (n *node) handle(body json.RawMessage) string {
	var head struct {
		Type  *string         `json:"type"`
		MsgID json.RawMessage `json:"msg_id"`
	}
	// A type error still fills MsgID, so the error reply can cite it.
	err := json.Unmarshal(body, &head)
	inReplyTo := "null"
	switch {
	case len(head.MsgID) == 0 || string(head.MsgID) == "null":
	case head.MsgID[0] == '-' || head.MsgID[0] >= '0' && head.MsgID[0] <= '9': // a number
		inReplyTo = string(head.MsgID)
	default:
		return errorReply(inReplyTo, codeMalformed, "msg_id is not a number")
	}
	if err != nil {
		// body is a JSON object, so only a type that is not a string fails.
		return errorReply(inReplyTo, codeMalformed, "type is not a string")
	}
	if head.Type == nil {
		return errorReply(inReplyTo, codeMalformed, "missing type")
	}

	var replyType string
	var fields []field
	switch *head.Type {
	case "heartbeat":
		replyType, err = "heartbeat_ok", n.heartbeat(body)
	case "check_failures":
		replyType = "failures_detected"
		var failed []string
		failed, err = n.checkFailures(body)
		fields = []field{{"failed_workers", stringList(failed)}}
	case "reassign":
		replyType = "reassigned"
		var moved []string
		moved, err = n.reassign(body)
		fields = []field{{"reassigned_tasks", stringList(moved)}}
	case "init":
		// Maelstrom opens with init; this node needs nothing from it.
		replyType = "init_ok"
	default:
		return errorReply(inReplyTo, codeNotSupported, fmt.Sprintf("unsupported message type %s", quote(*head.Type)))
	}
	if err != nil {
		return errorReply(inReplyTo, codeMalformed, err.Error())
	}
	return object(append([]field{{"type", quote(replyType)}, {"in_reply_to", inReplyTo}}, fields...)...)
}

// errorReply is a Maelstrom error body.
func errorReply(inReplyTo string, code int, text string) string {
	return object(
		field{"type", quote("error")},
		field{"in_reply_to", inReplyTo},
		field{"code", strconv.Itoa(code)},
		field{"text", quote(text)},
	)
}

func (n *node) heartbeat(body json.RawMessage) error {
	var req struct {
		WorkerID  *string      `json:"worker_id"`
		Timestamp *json.Number `json:"timestamp"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return fmt.Errorf("heartbeat: %w", err)
	}
	if req.WorkerID == nil {
		return errors.New("heartbeat: missing worker_id")
	}
	at, err := millis(req.Timestamp, "timestamp")
	if err != nil {
		return fmt.Errorf("heartbeat: %w", err)
	}
	n.beats.Beat(*req.WorkerID, time.UnixMilli(at))
	return nil
}

func (n *node) checkFailures(body json.RawMessage) ([]string, error) {
	var req struct {
		TimeoutMS *json.Number `json:"timeout_ms"`
		Now       *json.Number `json:"now"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, fmt.Errorf("check_failures: %w", err)
	}
	timeout, err := millis(req.TimeoutMS, "timeout_ms")
	if err != nil {
		return nil, fmt.Errorf("check_failures: %w", err)
	}
	// A negative timeout means nothing, and one past MaxInt64 nanoseconds
	// (292 years) would overflow the Duration.
	if timeout < 0 || timeout > math.MaxInt64/int64(time.Millisecond) {
		return nil, fmt.Errorf("check_failures: timeout_ms %d out of range", timeout)
	}
	now, err := millis(req.Now, "now")
	if err != nil {
		return nil, fmt.Errorf("check_failures: %w", err)
	}
	return n.beats.Failed(time.UnixMilli(now), time.Duration(timeout)*time.Millisecond), nil
}

func (n *node) reassign(body json.RawMessage) ([]string, error) {
	var req struct {
		FailedWorker  *string `json:"failed_worker"`
		HealthyWorker *string `json:"healthy_worker"`
		Tasks         *[]struct {
			ID    *string         `json:"id"`
			Chunk json.RawMessage `json:"chunk"`
		} `json:"tasks"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, fmt.Errorf("reassign: %w", err)
	}
	switch {
	case req.FailedWorker == nil:
		return nil, errors.New("reassign: missing failed_worker")
	case req.HealthyWorker == nil:
		return nil, errors.New("reassign: missing healthy_worker")
	case req.Tasks == nil:
		return nil, errors.New("reassign: missing tasks")
	}
	// Check every task before moving any, so that a malformed request
	// changes nothing.
	ids := make([]string, len(*req.Tasks))
	for i, t := range *req.Tasks {
		if t.ID == nil {
			return nil, fmt.Errorf("reassign: tasks[%d]: missing id", i)
		}
		ids[i] = *t.ID
	}
	n.tasks.moveAll(*req.FailedWorker, *req.HealthyWorker)
	for _, t := range *req.Tasks {
		n.tasks.assign(*t.ID, t.Chunk, *req.HealthyWorker)
	}
	return ids, nil
}

// millis reads a field holding a whole number of milliseconds.
func millis(n *json.Number, name string) (int64, error) {
	if n == nil {
		return 0, fmt.Errorf("missing %s", name)
	}
	ms, err := n.Int64()
	if err != nil {
		return 0, fmt.Errorf("%s %s is not a whole number of milliseconds", name, n)
	}
	return ms, nil
}
