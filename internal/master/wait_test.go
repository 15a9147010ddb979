package master_test

import (
	"path/filepath"
	"testing"
	"time"

	"mapreduce/protocol"
)

// TestStatusWaitsForAChange: a job_status for one job with wait_ms and the
// progress the client has seen is answered once that progress changes (a
// map task finishes), and otherwise after the wait, unchanged; without
// wait_ms, at once.
func TestStatusWaitsForAChange(t *testing.T) {
	c := startMaster(t, nil)
	w := c.join(701)
	id := c.submit(testJob(t, map[string]string{"a.txt": "a\n", "b.txt": "b\n"}, 2, 1))
	first := w.nextWorkerJob()
	w.nextWorkerJob()
	seen := c.job(id).Progress()

	start := time.Now()
	reply := c.request(protocol.JobStatusRequest{JobID: &id, Brief: true, WaitMS: 100, Seen: seen})
	if st, ok := reply.(protocol.ClusterStatus); !ok || st.Jobs[0].Progress() != seen {
		t.Fatalf("answer %+v, want the job unchanged", reply)
	}
	if waited := time.Since(start); waited < 100*time.Millisecond {
		t.Errorf("an unchanged job was answered after %s, before its wait of 100ms", waited)
	}

	answers := make(chan protocol.Message, 1)
	go func() {
		answers <- c.request(protocol.JobStatusRequest{JobID: &id, Brief: true, WaitMS: int(protocol.MaxStatusWait / time.Millisecond), Seen: seen})
	}()
	var outputs []string
	for _, in := range first.InputFiles {
		outputs = append(outputs, filepath.Join(first.OutputDirectory, filepath.Base(in)))
	}
	w.report(protocol.Status{OutputFiles: outputs, Status: protocol.StatusFinished})
	select {
	case reply := <-answers:
		st, ok := reply.(protocol.ClusterStatus)
		if !ok || st.Jobs[0].Progress() == seen || st.Jobs[0].Phases[0].Done != 1 {
			t.Errorf("answer %+v, want the job with one map task done", reply)
		}
	case <-time.After(protocol.MaxStatusWait - time.Second):
		t.Fatal("no answer when the job's progress changed")
	}

	start = time.Now()
	if _, ok := c.request(protocol.JobStatusRequest{JobID: &id, Brief: true, Seen: "anything"}).(protocol.ClusterStatus); !ok {
		t.Fatal("no answer without wait_ms")
	}
	if waited := time.Since(start); waited > time.Second {
		t.Errorf("a request without wait_ms waited %s", waited)
	}
}
