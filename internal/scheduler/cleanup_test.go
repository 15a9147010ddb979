package scheduler

import (
	"errors"
	"reflect"
	"testing"

	"github.com/rs/zerolog"

	"mapreduce/protocol"
)

// toCommit runs job 0 of one input file, one mapper and one reducer on
// worker 101 until its outputs are being moved for the commit.
func toCommit(t *testing.T, s *Scheduler) {
	t.Helper()
	maps := sendsOf(s.InputScanned(at(sec), 0, inputFiles(1), nil), protocol.TypeNewWorkerJob)
	sorts := sendsOf(s.StatusReceived(at(sec), finished(maps[0])), protocol.TypeNewSortJob)
	s.StatusReceived(at(sec), finished(sorts[0]))
	reduces := sendsOf(s.Merged(at(sec), 0, nil), protocol.TypeNewWorkerJob)
	acts := s.StatusReceived(at(sec), finished(reduces[0]))
	if len(actionsOf[MoveOutputs](acts)) != 1 {
		t.Fatalf("last reduce returned %s, want a MoveOutputs", describe(acts))
	}
}

// TestJobDirRemovedOnceWhenJobEnds ends job 0 in every way a job ends and
// wants its directory removed exactly once, by the event that ends it, and
// never with KeepIntermediates; late reports and a second cancel remove
// nothing more.
func TestJobDirRemovedOnceWhenJobEnds(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name string
		// end drives job 0 to its end and returns the ending event's
		// actions.
		end   func(t *testing.T, s *Scheduler) []Action
		state string
	}{
		{"done", func(t *testing.T, s *Scheduler) []Action {
			toCommit(t, s)
			s.OutputsMoved(at(2*sec), 0, nil)
			return s.OutputsCommitted(at(2*sec), 0, nil)
		}, protocol.JobDone},
		{"a task fails", func(t *testing.T, s *Scheduler) []Action {
			maps := sendsOf(s.InputScanned(at(sec), 0, inputFiles(1), nil), protocol.TypeNewWorkerJob)
			return s.StatusReceived(at(2*sec), failed(maps[0], "mapper exited 1"))
		}, protocol.JobFailed},
		{"its directories cannot be made", func(t *testing.T, s *Scheduler) []Action {
			return s.JobDirsFailed(at(sec), 0, boom)
		}, protocol.JobFailed},
		{"its input cannot be read", func(t *testing.T, s *Scheduler) []Action {
			return s.InputScanned(at(sec), 0, nil, boom)
		}, protocol.JobFailed},
		{"the merge fails", func(t *testing.T, s *Scheduler) []Action {
			maps := sendsOf(s.InputScanned(at(sec), 0, inputFiles(1), nil), protocol.TypeNewWorkerJob)
			s.StatusReceived(at(sec), finished(sendsOf(s.StatusReceived(at(sec), finished(maps[0])), protocol.TypeNewSortJob)[0]))
			return s.Merged(at(2*sec), 0, boom)
		}, protocol.JobFailed},
		{"the move fails", func(t *testing.T, s *Scheduler) []Action {
			toCommit(t, s)
			return s.OutputsMoved(at(2*sec), 0, boom)
		}, protocol.JobFailed},
		{"the commit fails", func(t *testing.T, s *Scheduler) []Action {
			toCommit(t, s)
			s.OutputsMoved(at(2*sec), 0, nil)
			return s.OutputsCommitted(at(2*sec), 0, boom)
		}, protocol.JobFailed},
		{"cancelled while running", func(t *testing.T, s *Scheduler) []Action {
			s.InputScanned(at(sec), 0, inputFiles(1), nil)
			acts, err := s.Cancel(at(2*sec), 0)
			if err != nil {
				t.Fatal(err)
			}
			return acts
		}, protocol.JobCancelled},
		{"cancelled while its outputs are moved", func(t *testing.T, s *Scheduler) []Action {
			toCommit(t, s)
			acts, err := s.Cancel(at(2*sec), 0)
			if err != nil {
				t.Fatal(err)
			}
			return acts
		}, protocol.JobCancelled},
	}
	for _, keep := range []bool{false, true} {
		for _, tt := range tests {
			name := tt.name
			if keep {
				name += " keeping intermediates"
			}
			t.Run(name, func(t *testing.T) {
				cfg := testConfig
				cfg.KeepIntermediates = keep
				s := New(cfg, zerolog.Nop())
				s.Register(t0, protocol.Register{WorkerHost: "localhost", WorkerPort: port(101), WorkerPID: 101,
					Capabilities: []string{protocol.CapProgress, protocol.CapCancel}})
				s.Submit(t0, spec(1, 1))
				ending := tt.end(t, s)
				wantJobState(t, s, 0, tt.state)
				var want []RemoveJobDir
				if !keep {
					want = []RemoveJobDir{removed(0)}
				}
				if got := actionsOf[RemoveJobDir](ending); !reflect.DeepEqual(got, want) {
					t.Errorf("the ending event returned %s, want RemoveJobDir %+v", describe(ending), want)
				}
				// Late reports of the master's own work, and a second
				// cancel, remove nothing more.
				var late []Action
				late = append(late, s.InputScanned(at(3*sec), 0, inputFiles(1), nil)...)
				late = append(late, s.Merged(at(3*sec), 0, nil)...)
				late = append(late, s.OutputsMoved(at(3*sec), 0, nil)...)
				late = append(late, s.OutputsCommitted(at(3*sec), 0, nil)...)
				late = append(late, s.JobDirsFailed(at(3*sec), 0, boom)...)
				acts, err := s.Cancel(at(3*sec), 0)
				if err == nil {
					t.Errorf("a second cancel of the ended job was taken")
				}
				late = append(late, acts...)
				if got := actionsOf[RemoveJobDir](late); len(got) != 0 {
					t.Errorf("late events returned %s, want no RemoveJobDir", describe(late))
				}
				wantJobState(t, s, 0, tt.state)
				checkAttempts(t, s)
			})
		}
	}
}

// TestCancelledJobCannotCommit: a job cancelled while its outputs are moved
// never commits them; they are discarded when the move reports back, keeping
// intermediates or not.
func TestCancelledJobCannotCommit(t *testing.T) {
	for _, keep := range []bool{false, true} {
		cfg := testConfig
		cfg.KeepIntermediates = keep
		s := New(cfg, zerolog.Nop())
		register(s, t0, 101)
		s.Submit(t0, spec(1, 1))
		toCommit(t, s)
		if _, err := s.Cancel(at(2*sec), 0); err != nil {
			t.Fatal(err)
		}
		acts := s.OutputsMoved(at(3*sec), 0, nil)
		want := []Action{DiscardOutputs{Job: 0, Temp: "/out/_temporary-0"}}
		if !reflect.DeepEqual(acts, want) {
			t.Errorf("keep %v: the move of the cancelled job reported back: %s, want %s", keep, describe(acts), describe(want))
		}
		if acts := s.OutputsCommitted(at(3*sec), 0, nil); len(acts) != 0 {
			t.Errorf("keep %v: OutputsCommitted of the cancelled job returned %s", keep, describe(acts))
		}
		wantJobState(t, s, 0, protocol.JobCancelled)
	}
}
