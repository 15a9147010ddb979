package scheduler

import (
	"fmt"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"mapreduce/internal/journal"
	"mapreduce/protocol"
)

// BenchmarkRecover10000Jobs measures a master's start on a journal of
// 10,000 ended jobs, each a word count of 8 map and 4 reduce tasks kept
// with its tasks: the journal read and replayed, and the jobs rebuilt.
// scripts/bench.sh reports it.
func BenchmarkRecover10000Jobs(b *testing.B) {
	dir := b.TempDir()
	j, _, err := journal.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	for batch := range 100 {
		var records []journal.Record
		for id := batch * 100; id < (batch+1)*100; id++ {
			spec := protocol.NewMasterJob{InputDirectory: "/data/in", OutputDirectory: fmt.Sprintf("/data/out-%d", id),
				MapperExecutable: "/bin/map", ReducerExecutable: "/bin/reduce", NumMappers: 8, NumReducers: 4}
			info := protocol.JobInfo{ID: id, State: protocol.JobDone, InputDirectory: spec.InputDirectory, OutputDirectory: spec.OutputDirectory,
				Submitted: now, Started: &now, Ended: &now, Counters: protocol.Counters{"wc": {"words": 12345, "lines": 678}}}
			for _, phase := range []struct {
				name string
				n    int
			}{{protocol.PhaseMap, 8}, {protocol.PhaseReduce, 4}} {
				info.Phases = append(info.Phases, protocol.PhaseInfo{Name: phase.name, Done: phase.n, Total: phase.n})
				for i := range phase.n {
					info.Tasks = append(info.Tasks, protocol.TaskInfo{Phase: phase.name, Index: i, State: "done",
						Attempts: []protocol.AttemptInfo{{WorkerPID: 1000 + i, Start: now, End: &now, Outcome: OutcomeFinished}}})
				}
			}
			records = append(records, journal.Record{Accepted: &journal.Accepted{Job: id, Spec: spec, Submitted: now}},
				journal.Record{Ended: &journal.Ended{Job: id, Info: info}})
		}
		if err := j.Append(records); err != nil {
			b.Fatal(err)
		}
	}
	j.Close()
	b.ResetTimer()
	for b.Loop() {
		j, _, err := journal.Open(dir)
		if err != nil {
			b.Fatal(err)
		}
		s := New(testConfig, zerolog.Nop())
		s.Step(now, RestoreEvent{State: j.State()})
		j.Close()
		if st, _ := s.Snapshot(nil, true); len(st.Jobs) != 10000 {
			b.Fatalf("%d jobs restored", len(st.Jobs))
		}
	}
}
