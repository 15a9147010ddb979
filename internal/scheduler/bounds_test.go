package scheduler

import (
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/rs/zerolog"

	"mapreduce/protocol"
)

func TestClip(t *testing.T) {
	// text is n bytes: "HEAD", then filler, then "TAIL".
	text := func(n int, filler string) string {
		body := strings.Repeat(filler, n/len(filler)+1)[:n-8]
		return "HEAD" + body + "TAIL"
	}
	tests := []struct {
		name  string
		in    string
		limit int
		whole bool
	}{
		{"empty", "", MaxErrorText, true},
		{"short", "exit status 1: boom", MaxErrorText, true},
		{"exactly the limit", text(MaxErrorText, "x"), MaxErrorText, true},
		{"one byte over", text(MaxErrorText+1, "x"), MaxErrorText, false},
		{"15,000,112 bytes", text(15_000_112, "Traceback line\n"), MaxErrorText, false},
		{"multibyte characters", text(100_000, "é€😀"), MaxErrorText, false},
		{"a log line's limit", text(10_000, "y"), maxLoggedText, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := clip(tt.in, tt.limit)
			if tt.whole {
				if got != tt.in {
					t.Fatalf("clip changed a text within the limit: %d bytes became %d", len(tt.in), len(got))
				}
				return
			}
			if len(got) > tt.limit {
				t.Errorf("clipped to %d bytes, want at most %d", len(got), tt.limit)
			}
			if len(got) < tt.limit-8 {
				t.Errorf("clipped to %d bytes, want about %d: it keeps as much as fits", len(got), tt.limit)
			}
			if !strings.HasPrefix(got, "HEAD") || !strings.HasSuffix(got, "TAIL") {
				t.Errorf("clipped text lost its head or its tail: %.40q…%q", got, got[max(0, len(got)-40):])
			}
			if utf8.ValidString(tt.in) && !utf8.ValidString(got) {
				t.Errorf("clipped inside a character")
			}
			// The marker says how much was cut, and the rest is the
			// original's head and tail.
			before, after, ok := strings.Cut(got, " […")
			count, tail, ok2 := strings.Cut(after, " bytes cut…] ")
			var cut int
			if _, err := fmt.Sscanf(count, "%d", &cut); !ok || !ok2 || err != nil {
				t.Fatalf("no marker in %.200q", got)
			}
			if !strings.HasPrefix(tt.in, before) || !strings.HasSuffix(tt.in, tail) || len(before)+cut+len(tail) != len(tt.in) {
				t.Errorf("kept %d + %d bytes, said %d were cut, of %d", len(before), len(tail), cut, len(tt.in))
			}
			if len(tail) <= len(before) {
				t.Errorf("kept %d bytes of the head and %d of the tail; the tail, where a program's last words are, should get more", len(before), len(tail))
			}
		})
	}
}

func TestClipFiles(t *testing.T) {
	long := strings.Repeat("d/", 10_000) + "f"
	tests := []struct {
		name  string
		files []string
		want  int // entries logged
	}{
		{"none", nil, 0},
		{"few", []string{"/a", "/b"}, 2},
		{"the limit", []string{"/a", "/b", "/c"}, 3},
		{"many", make([]string, 100_000), maxLoggedFiles + 1},
		{"a long name", []string{long}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := clipFiles(tt.files)
			if len(got) != tt.want {
				t.Errorf("logged %d entries, want %d", len(got), tt.want)
			}
			for _, f := range got {
				if len(f) > maxLoggedText {
					t.Errorf("logged a %d-byte name", len(f))
				}
			}
			if len(tt.files) > maxLoggedFiles && got[len(got)-1] != fmt.Sprintf("(%d more)", len(tt.files)-maxLoggedFiles) {
				t.Errorf("last entry %q, want the count of the others", got[len(got)-1])
			}
		})
	}
}

// TestFailedStatusErrorIsClipped: a failed status's error becomes the job's
// error whole when it is short, and clipped to MaxErrorText, head and tail,
// when a worker sends megabytes.
func TestFailedStatusErrorIsClipped(t *testing.T) {
	const prefix = "map task %d on worker 101: "
	tests := []struct {
		name  string
		error string
	}{
		{"short", "exit status 1: ValueError"},
		{"our worker's 4 KiB of stderr", "/bin/map < /in/file_000.txt: exit status 1: " + strings.Repeat("e", 4<<10)},
		{"1 MB", "START" + strings.Repeat("z", 1<<20) + "END"},
		{"15,000,112 bytes", "START" + strings.Repeat("Traceback\n", 1_500_011) + "END"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newScheduler()
			maps := startJob(t, s, []int{101}, 1, 1, 1)
			s.StatusReceived(at(sec), failed(maps[0], tt.error))
			j := wantJobState(t, s, 0, protocol.JobFailed)
			if len(j.Errors) != 1 {
				t.Fatalf("%d errors, want 1", len(j.Errors))
			}
			got, whole := j.Errors[0], fmt.Sprintf(prefix, 0)+tt.error
			if len(whole) <= MaxErrorText {
				if got != whole {
					t.Errorf("error %.100q…, want the whole %.100q…", got, whole)
				}
				return
			}
			if len(got) > MaxErrorText {
				t.Errorf("the job keeps %d bytes of error, want at most %d", len(got), MaxErrorText)
			}
			if !strings.HasPrefix(got, fmt.Sprintf(prefix, 0)+"START") || !strings.HasSuffix(got, "END") {
				t.Errorf("error %.80q…%q, want the head and the tail", got, got[len(got)-40:])
			}
			// One marker, which says how much of the whole was cut.
			if n := strings.Count(got, " bytes cut…] "); n != 1 {
				t.Fatalf("%d markers in the error, want 1", n)
			}
			before, after, _ := strings.Cut(got, " […")
			count, tail, _ := strings.Cut(after, " bytes cut…] ")
			var cut int
			fmt.Sscanf(count, "%d", &cut)
			if !strings.HasPrefix(whole, before) || !strings.HasSuffix(whole, tail) || len(before)+cut+len(tail) != len(whole) {
				t.Errorf("kept %d + %d bytes, said %d were cut, of %d", len(before), len(tail), cut, len(whole))
			}
		})
	}
}

// TestJobKeepsAtMostMaxJobErrors: past MaxJobErrors, a job counts its
// errors instead of keeping them.
func TestJobKeepsAtMostMaxJobErrors(t *testing.T) {
	tests := []struct {
		errors int
		want   []string // the last error listed
	}{
		{0, nil},
		{1, []string{"error 0"}},
		{MaxJobErrors, []string{fmt.Sprintf("error %d", MaxJobErrors-1)}},
		{MaxJobErrors + 1, []string{"(1 more errors not kept)"}},
		{1000, []string{fmt.Sprintf("(%d more errors not kept)", 1000-MaxJobErrors)}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.errors), func(t *testing.T) {
			j := &job{}
			for i := range tt.errors {
				j.addError(fmt.Sprintf("error %d", i) + strings.Repeat("!", i%20*1000))
			}
			got := j.errorList()
			if len(got) > MaxJobErrors+1 {
				t.Errorf("%d errors listed, want at most %d", len(got), MaxJobErrors+1)
			}
			if len(j.errors) > MaxJobErrors {
				t.Errorf("%d errors kept, want at most %d", len(j.errors), MaxJobErrors)
			}
			if tt.want == nil {
				if len(got) != 0 {
					t.Errorf("listed %q, want nothing", got)
				}
				return
			}
			if last := got[len(got)-1]; !strings.HasPrefix(last, tt.want[0]) {
				t.Errorf("last error listed %.40q, want %q", last, tt.want[0])
			}
			for _, e := range got {
				if len(e) > MaxErrorText {
					t.Errorf("an error of %d bytes kept", len(e))
				}
			}
			// Listing twice does not change what is kept.
			if again := j.errorList(); len(again) != len(got) {
				t.Errorf("listed %d errors, then %d", len(got), len(again))
			}
		})
	}
}

// TestReplyForAllJobsStaysWithinBudget: however many jobs, and whatever
// they failed with, a reply for every job stays within StatusBudget; the
// newest jobs come with their tasks, the older ones without, the oldest are
// counted if they do not fit; and one job asked for by id is whole.
func TestReplyForAllJobsStaysWithinBudget(t *testing.T) {
	tests := []struct {
		name      string
		jobs      int
		errorSize int
		tasks     int // map tasks per job
		omitted   bool
	}{
		{"a few jobs", 3, 100, 2, false},
		{"100 jobs failed with 1 MB errors", 100, 1 << 20, 2, false},
		{"600 jobs failed with 1 MB errors", 600, 1 << 20, 2, true},
		{"100 jobs of 300 tasks", 100, 100, 300, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newScheduler()
			register(s, t0, 101)
			text := strings.Repeat("E", tt.errorSize)
			for id := range tt.jobs {
				now := at(sec * time.Duration(id))
				s.Submit(now, spec(tt.tasks, 1))
				sends := sendsOf(s.InputScanned(now, id, inputFiles(tt.tasks), nil), protocol.TypeNewWorkerJob)
				if len(sends) == 0 {
					t.Fatalf("job %d: no map task sent", id)
				}
				s.StatusReceived(now, failed(sends[0], text))
			}
			status, _ := s.Snapshot(nil, false)
			data, err := protocol.Encode(status)
			if err != nil {
				t.Fatal(err)
			}
			if len(data) > StatusBudget+64<<10 {
				t.Errorf("reply for every job is %d bytes, want about %d at most", len(data), StatusBudget)
			}
			if (status.JobsOmitted > 0) != tt.omitted || status.JobsOmitted+len(status.Jobs) != tt.jobs {
				t.Errorf("%d jobs listed, %d omitted, of %d", len(status.Jobs), status.JobsOmitted, tt.jobs)
			}
			for i, j := range status.Jobs {
				if want := status.JobsOmitted + i; j.ID != want {
					t.Fatalf("jobs[%d] is job %d, want %d: the newest, oldest first", i, j.ID, want)
				}
				newest := j.ID >= tt.jobs-DetailedJobs
				if newest && len(j.Tasks) == 0 || !newest && len(j.Tasks) != 0 {
					t.Errorf("job %d of %d listed with %d tasks", j.ID, tt.jobs, len(j.Tasks))
				}
				if len(j.Errors) != 1 || len(j.Errors[0]) > MaxErrorText {
					t.Errorf("job %d listed with %d errors", j.ID, len(j.Errors))
				}
			}
			// One job, asked for, is whole: all its tasks.
			if j := jobInfo(t, s, 0); len(j.Tasks) < tt.tasks {
				t.Errorf("job 0 alone listed with %d tasks, want all (at least %d)", len(j.Tasks), tt.tasks)
			}
		})
	}
}

// TestRegisterWithAnImpossibleHostIsIgnored: a worker_host longer than any
// host name is not recorded, so the worker list in every reply stays small.
func TestRegisterWithAnImpossibleHostIsIgnored(t *testing.T) {
	tests := []struct {
		host string
		ok   bool
	}{
		{"localhost", true},
		{strings.Repeat("h", maxHostName), true},
		{strings.Repeat("h", maxHostName+1), false},
		{strings.Repeat("h", 16<<20), false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(len(tt.host)), func(t *testing.T) {
			s := newScheduler()
			acts := s.Register(t0, protocol.Register{WorkerHost: tt.host, WorkerPort: 7001, WorkerPID: 1})
			status, _ := s.Snapshot(nil, false)
			if registered := len(status.Workers) == 1 && len(sendsOf(acts, protocol.TypeRegisterAck)) == 1; registered != tt.ok {
				t.Errorf("a %d-byte host registered: %v (actions %s), want %v", len(tt.host), registered, describe(acts), tt.ok)
			}
		})
	}
}

// TestImpossibleRegistrationsRefused: a worker that could never be sent a
// task (a port that is none, the master's own ports on its own host) is
// not registered, so it is never listed; one on the master's port number
// on another host is.
func TestImpossibleRegistrationsRefused(t *testing.T) {
	cfg := testConfig
	cfg.MasterHost, cfg.MasterPort = "master.example", 6000
	s := New(cfg, zerolog.Nop())
	for i, tt := range []struct {
		host string
		port int
		ok   bool
	}{
		{"localhost", 0, false},
		{"localhost", -1, false},
		{"localhost", 70000, false},
		{"localhost", 6000, false},
		{"127.0.0.1", 5999, false},
		{"master.example", 6000, false},
		{"", 6000, false},
		{"10.0.0.2", 6000, true},
		{"localhost", 6001, true},
	} {
		actions := s.Register(t0, protocol.Register{WorkerHost: tt.host, WorkerPort: tt.port, WorkerPID: 100 + i})
		if got := len(sendsOf(actions, protocol.TypeRegisterAck)) > 0; got != tt.ok {
			t.Errorf("register %s:%d acknowledged %v, want %v", tt.host, tt.port, got, tt.ok)
		}
	}
	if st, _ := s.Snapshot(nil, true); len(st.Workers) != 2 {
		t.Errorf("%d workers listed, want 2: %+v", len(st.Workers), st.Workers)
	}
}

// TestWorkerTableBounded: past MaxWorkers, a new worker is refused; one
// already known registers again.
func TestWorkerTableBounded(t *testing.T) {
	s := newScheduler()
	reg := func(pid int) bool {
		return len(sendsOf(s.Register(t0, protocol.Register{WorkerHost: "localhost", WorkerPort: 10000 + pid%50000, WorkerPID: pid}),
			protocol.TypeRegisterAck)) > 0
	}
	for pid := 1; pid <= MaxWorkers; pid++ {
		if !reg(pid) {
			t.Fatalf("worker %d refused", pid)
		}
	}
	if reg(MaxWorkers + 1) {
		t.Error("a worker past MaxWorkers was registered")
	}
	if !reg(1) {
		t.Error("a known worker registering again was refused")
	}
}
