package protocol

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// The shuffle between workers, our extension (capability CapShuffle): map
// tasks keep their output on the worker that made them, as one sorted run
// in the worker's own local directory, and reduce tasks fetch the key range
// they reduce from every run. The master only learns where each run is and
// a few sample keys of it, from which it chooses the key ranges; it never
// opens an intermediate file. docs/protocol.md tells the whole exchange.

// Message types of the shuffle.
const (
	// TypeFetchRun asks a worker for the lines of one of its runs within a
	// key range; the answer is the lines themselves, streamed on the same
	// connection (Transport.Stream).
	TypeFetchRun = "fetch_run"
	// TypeJobEnded tells a worker that announced CapShuffle that a job has
	// ended, so that it removes the runs it keeps for it.
	TypeJobEnded = "job_ended"
)

// BusyPrefix begins the text of an error that answers a fetch_run the
// holder cannot serve yet (every fetch slot is taken): the fetcher tries
// again later, and does not take the run for lost.
const BusyPrefix = "busy: "

// CapShuffle: the worker takes the map_output and reduce_input fields of
// new_worker_job, serves fetch_run and takes job_ended, its runs in the
// counted form (docs/protocol.md). "shuffle", the first form, kept plain
// lines: a worker that announces only that one is an older build, and a
// job with it takes the reference path.
const CapShuffle = "shuffle2"

// MapOutput, in a new_worker_job of the map stage, asks for the mapper's
// output to be kept on the worker as one run, named Run among the job's
// runs on that worker: sorted (by key, then line, as the reference
// protocol's sort), run through Combiner if it is set (and sorted again),
// in the worker's local directory. The status then describes the run
// (Status.Run) with at most Samples sample keys.
type MapOutput struct {
	Run      string `json:"run"`
	Combiner string `json:"combiner,omitempty"`
	Samples  int    `json:"samples"`
}

// RunInfo describes a run a map task kept: its size in bytes and sample
// keys, each with the bytes of lines from it to the next sample (or the
// end), spread evenly over the run. The master chooses the key ranges of
// the reduce tasks from every run's samples.
type RunInfo struct {
	Run     string   `json:"run"`
	Size    int64    `json:"size"`
	Samples []Sample `json:"samples,omitempty"`
}

// Sample is a key that begins a line of a run, and the bytes of the run's
// lines from there to the next sample. Keys are bytes: JSON carries them in
// base64.
type Sample struct {
	Key   []byte `json:"key"`
	Bytes int64  `json:"bytes"`
}

// ReduceInput, in a new_worker_job of the reduce stage, is what the reducer
// reads: the lines of every run in Pieces whose key is at least Lo and
// below Hi (a nil bound is open), merged in one sorted stream. The reducer's
// output goes to OutputFile, made whole once the reducer succeeds.
//
// Piece i is map task i's run, named RunName(i). On the wire each holder
// is listed once and each piece is the index of its holder (see
// MarshalJSON): a job of 100,000 map tasks sends 1000 reduce tasks each
// naming every piece, and a piece written out whole, with its holder's
// address and id, would make each message some 7 MB.
type ReduceInput struct {
	Lo         []byte
	Hi         []byte
	Pieces     []Piece
	OutputFile string
}

// reduceInputWire is ReduceInput as it travels.
type reduceInputWire struct {
	Lo         []byte   `json:"lo,omitempty"`
	Hi         []byte   `json:"hi,omitempty"`
	Holders    []Holder `json:"holders"`
	HeldBy     []int    `json:"held_by"`
	OutputFile string   `json:"output_file"`
}

// Holder is a worker that holds runs: its address and id, as it
// registered.
type Holder struct {
	Addr string `json:"addr"`
	ID   string `json:"id,omitempty"`
}

// RunName is the name of map task i's run.
func RunName(i int) string { return "map-" + strconv.Itoa(i) }

// MarshalJSON lists each holder once, and for piece i the index of its
// holder. Piece i must be run RunName(i).
func (in ReduceInput) MarshalJSON() ([]byte, error) {
	w := reduceInputWire{Lo: in.Lo, Hi: in.Hi, Holders: []Holder{}, HeldBy: make([]int, len(in.Pieces)), OutputFile: in.OutputFile}
	index := map[Holder]int{}
	for i, p := range in.Pieces {
		if p.Run != RunName(i) {
			return nil, fmt.Errorf("reduce input: piece %d is run %q, not %q", i, p.Run, RunName(i))
		}
		h := Holder{Addr: p.Holder, ID: p.HolderID}
		n, ok := index[h]
		if !ok {
			n = len(w.Holders)
			index[h] = n
			w.Holders = append(w.Holders, h)
		}
		w.HeldBy[i] = n
	}
	return json.Marshal(w)
}

// UnmarshalJSON reads what MarshalJSON writes; a holder index out of range
// is an error.
func (in *ReduceInput) UnmarshalJSON(data []byte) error {
	var w reduceInputWire
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	pieces := make([]Piece, len(w.HeldBy))
	for i, n := range w.HeldBy {
		if n < 0 || n >= len(w.Holders) {
			return fmt.Errorf("reduce input: piece %d held by holder %d of %d", i, n, len(w.Holders))
		}
		pieces[i] = Piece{Holder: w.Holders[n].Addr, HolderID: w.Holders[n].ID, Run: RunName(i)}
	}
	*in = ReduceInput{Lo: w.Lo, Hi: w.Hi, Pieces: pieces, OutputFile: w.OutputFile}
	return nil
}

// Piece is one map task's run as a reducer finds it: the worker that holds
// it (its address and id, as it registered) and the run's name there.
type Piece struct {
	Holder   string `json:"holder"`
	HolderID string `json:"holder_id,omitempty"`
	Run      string `json:"run"`
}

// FetchRun asks the worker holding run Run of job JobID for its lines whose
// key is at least Lo and below Hi.
type FetchRun struct {
	JobID int    `json:"job_id"`
	Run   string `json:"run"`
	Lo    []byte `json:"lo,omitempty"`
	Hi    []byte `json:"hi,omitempty"`
}

// JobEnded tells a worker that job JobID has ended: the runs it keeps for
// the job are no longer needed.
type JobEnded struct {
	JobID int `json:"job_id"`
}

func (FetchRun) Type() string { return TypeFetchRun }
func (JobEnded) Type() string { return TypeJobEnded }
