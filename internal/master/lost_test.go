package master_test

import (
	"net"

	"mapreduce/internal/master"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"mapreduce/internal/testutil"
	"mapreduce/internal/worker"
	"mapreduce/protocol"
)

// TestLostTaskGoesToAnotherWorker runs a master and two real workers on an
// in-memory network that silently drops the first new_worker_job sent to
// one of them: that worker heartbeats on without listing the task, so the
// master gives it to the other worker, and the job ends done.
func TestLostTaskGoesToAnotherWorker(t *testing.T) {
	c := startMaster(t, func(cfg *master.Config) { cfg.Scheduler.MissedHeartbeats = 5 })
	const victimPort = 41001
	victim := net.JoinHostPort("localhost", strconv.Itoa(victimPort))
	var dropped atomic.Bool
	c.net.SetFault(func(addr string, msg protocol.Message) error {
		if _, ok := msg.(protocol.NewWorkerJob); ok && addr == victim && dropped.CompareAndSwap(false, true) {
			return protocol.ErrLost
		}
		return nil
	})
	for i, port := range []int{victimPort, victimPort + 1} {
		cfg := worker.DefaultConfig(masterPort, port)
		cfg.Transport, cfg.PID = c.net, 900+i
		cfg.HeartbeatInterval, cfg.RegisterTimeout = heartbeatInterval, 5*time.Second
		w, err := worker.Start(cfg, zerolog.Nop())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			w.Stop()
			w.Wait()
		})
	}
	in := t.TempDir()
	if err := os.WriteFile(filepath.Join(in, "a"), []byte("x\ty\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	id := c.submit(protocol.NewMasterJob{
		InputDirectory: in, OutputDirectory: filepath.Join(t.TempDir(), "out"),
		MapperExecutable: "cat", ReducerExecutable: "cat", NumMappers: 1, NumReducers: 1,
	})
	var job protocol.JobInfo
	testutil.WaitFor(t, 10*time.Second, "the job to end", func() bool {
		job = c.job(id)
		return job.State == protocol.JobDone || job.State == protocol.JobFailed
	})
	if job.State != protocol.JobDone || !dropped.Load() {
		t.Fatalf("job ended %s (%v), a message dropped: %v; want done after a drop", job.State, job.Errors, dropped.Load())
	}
	if got := attemptSummary(task(t, job, "map", 0)); len(got) != 2 || got[0] != "900:lost" || got[1] != "901:finished" {
		t.Errorf("map attempts %v, want [900:lost 901:finished]", got)
	}
	if state := workerState(c.cluster(), 900); state != "unusable" {
		t.Errorf("the worker that lost a task is %q, want unusable", state)
	}
}
