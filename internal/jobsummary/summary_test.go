package jobsummary

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"mapreduce/protocol"
)

var t0 = time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)

func at(d time.Duration) *time.Time {
	t := t0.Add(d)
	return &t
}

func s(n float64) time.Duration { return time.Duration(n * float64(time.Second)) }

// task is a done task whose one attempt ran from start to end (seconds
// from t0) and read in bytes and wrote out.
func task(phase string, index int, start, end float64, in, out int64) protocol.TaskInfo {
	return protocol.TaskInfo{Phase: phase, Index: index, State: "done",
		Attempts: []protocol.AttemptInfo{{WorkerPID: 1, Start: *at(s(start)), End: at(s(end)), Outcome: "finished"}},
		IO:       &protocol.TaskIO{InputBytes: in, OutputBytes: out, InputRecords: in / 10, OutputRecords: out / 10}}
}

func job() protocol.JobInfo {
	return protocol.JobInfo{
		ID: 1, State: protocol.JobDone, Started: at(0), Ended: at(s(10)),
		Stages: []protocol.StageInfo{
			{Name: "map", Started: at(0), Ended: at(s(4))},
			{Name: "sort", Started: at(s(4)), Ended: at(s(4))},
			{Name: "merge", Started: at(s(4)), Ended: at(s(4.5))},
			{Name: "reduce", Started: at(s(4)), Ended: at(s(9.5))},
			{Name: "commit", Started: at(s(9.5)), Ended: at(s(10))},
		},
		Tasks: []protocol.TaskInfo{
			task("map", 0, 0, 1, 1000, 2000),
			task("map", 1, 0, 3.5, 1000, 2000),
			task("map", 2, 1, 2, 1100, 2100),
			task("reduce", 0, 4.5, 5, 1000, 100),
			task("reduce", 1, 4.5, 6, 1200, 120),
			task("reduce", 2, 4.5, 9.5, 3600, 360),
			task("reduce", 3, 4.5, 5, 900, 90),
		},
	}
}

func TestSummaryFiguresSlowestAndSkew(t *testing.T) {
	sum := Of(job(), t0.Add(time.Hour))
	var names []string
	for _, st := range sum.Stages {
		names = append(names, st.Name)
	}
	if got := strings.Join(names, " "); got != "map sort merge reduce commit" {
		t.Fatalf("stages %s", got)
	}
	m, r := sum.Stages[0], sum.Stages[3]
	if m.Tasks != 3 || m.Done != 3 || m.Duration != (Figures{3, int64(s(1)), int64(s(1)), int64(s(3.5))}) {
		t.Errorf("map figures %+v", m)
	}
	if m.Skewed || !strings.HasSuffix(m.Skew, ": no skew") || m.Largest != "map-2" {
		t.Errorf("map skew %q (skewed %v)", m.Skew, m.Skewed)
	}
	if r.BytesIn != (Figures{4, 900, 1100, 3600}) || r.BytesOut != (Figures{4, 90, 110, 360}) {
		t.Errorf("reduce bytes %+v %+v", r.BytesIn, r.BytesOut)
	}
	if !r.Skewed || r.Largest != "reduce-2" || !strings.HasPrefix(r.Skew, "reduce-2 read 3.3× the median bytes") {
		t.Errorf("reduce skew %q (skewed %v)", r.Skew, r.Skewed)
	}
	if len(r.Slowest) != 3 || r.Slowest[0] != (Named{"reduce-2", s(5)}) || r.Slowest[1] != (Named{"reduce-1", s(1.5)}) {
		t.Errorf("reduce slowest %+v", r.Slowest)
	}
	if merge := sum.Stages[2]; merge.OnWorkers || merge.Started != s(4) || merge.Ended != s(4.5) {
		t.Errorf("merge %+v", merge)
	}
}

func TestSummaryLeavesOutWhatIsNotDoneOrNotCounted(t *testing.T) {
	j := job()
	j.State, j.Ended = protocol.JobReducing, nil
	j.Stages[3].Ended, j.Stages[4] = nil, protocol.StageInfo{Name: "commit"}
	j.Tasks[6].State, j.Tasks[6].Attempts[0].End, j.Tasks[6].Attempts[0].Outcome = "running", nil, ""
	j.Tasks[5].IO = nil // a reference worker counts nothing
	r := Of(j, t0.Add(s(7))).Stages[3]
	if r.Tasks != 4 || r.Done != 3 || r.Duration.N != 3 || r.BytesIn.N != 2 || r.Ended != -1 {
		t.Errorf("reduce %+v", r)
	}
	if commit := Of(j, t0).Stages[4]; commit.Started != -1 || commit.Ended != -1 {
		t.Errorf("commit not begun: %+v", commit)
	}
}

func TestSpeculative(t *testing.T) {
	tk := protocol.TaskInfo{Attempts: []protocol.AttemptInfo{
		{Start: *at(0), End: at(s(5)), Outcome: "superseded"},
		{Start: *at(s(3)), End: at(s(4)), Outcome: "finished"},
		{Start: *at(s(6))},
	}}
	for i, want := range []bool{false, true, false} {
		if got := Speculative(tk, i); got != want {
			t.Errorf("attempt %d speculative %v, want %v", i, got, want)
		}
	}
}

func TestWriteText(t *testing.T) {
	var b bytes.Buffer
	if err := WriteText(&b, Of(job(), t0)); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	for _, want := range []string{
		"STAGE", "map ", "merge", "3/3", "1s / 1s / 3.5s", "900 B / 1.1 KiB / 3.5 KiB",
		"reduce skew: reduce-2 read 3.3× the median bytes (3.5 KiB; median 1.1 KiB)\n",
		"reduce slowest: reduce-2 5s, reduce-1 1.5s, reduce-0 500ms\n",
		"map skew: map-2 read 1.1× the median bytes (1.1 KiB; median 1000 B): no skew\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("summary lacks %q:\n%s", want, text)
		}
	}
}

func TestBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 64 << 20: "64.0 MiB", 3 << 30: "3.0 GiB"} {
		if got := Bytes(n); got != want {
			t.Errorf("Bytes(%d) = %q, want %q", n, got, want)
		}
	}
}
