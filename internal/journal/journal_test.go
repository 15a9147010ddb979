package journal

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"mapreduce/protocol"
)

func accepted(id int) Record {
	return Record{Accepted: &Accepted{Job: id, Spec: protocol.NewMasterJob{InputDirectory: "in", OutputDirectory: "out", NumMappers: 2, NumReducers: 1},
		Submitted: time.Date(2026, 12, 2, 0, 0, id, 0, time.UTC)}}
}

func done(id, index int) Record {
	return Record{Done: &Done{Job: id, Index: index, Outputs: []string{"var/job-0/mapper-output/split_0"},
		Counters: protocol.Counters{"g": {"n": int64(index)}}}}
}

func ended(id int) Record {
	return Record{Ended: &Ended{Job: id, Info: protocol.JobInfo{ID: id, State: protocol.JobDone}, Logged: true}}
}

func mustOpen(t *testing.T, dir string) *Journal {
	t.Helper()
	j, torn, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if torn != "" {
		t.Fatalf("torn: %s", torn)
	}
	return j
}

func TestReopenKeepsEveryRecord(t *testing.T) {
	dir := t.TempDir()
	j := mustOpen(t, dir)
	records := []Record{accepted(0), {Planned: &Planned{Job: 0, Mode: ModeSplits, Ranges: [][]protocol.InputRange{{{File: "a", Length: 3}}}}},
		done(0, 0), ended(0), accepted(1), done(1, 1)}
	for _, r := range records {
		if err := j.Append([]Record{r}); err != nil {
			t.Fatal(err)
		}
	}
	want := j.State()
	j.Close()
	j2 := mustOpen(t, dir)
	defer j2.Close()
	got := j2.State()
	// The reopening is a start of its own.
	if got.Lives != 2 || got.Seq != 8 {
		t.Errorf("reopened: life %d, record %d; want 2 and 8", got.Lives, got.Seq)
	}
	copied := *got
	copied.Lives, copied.Seq = 1, 7
	if !reflect.DeepEqual(normal(&copied), normal(want)) {
		t.Fatalf("reopened state differs:\n got %+v\nwant %+v", got, want)
	}
	if got.NextID() != 2 || got.Job(0).Ended == nil || got.Job(0).Done != nil || len(got.Job(1).Done) != 1 || !reflect.DeepEqual(got.Ends, []int{0}) {
		t.Fatalf("state: %+v", got)
	}
}

// normal is st as JSON: times compare after a round trip.
func normal(st *State) string {
	data, _ := json.Marshal(st)
	return string(data)
}

// A crash may tear the last record at any byte: the replay keeps every
// record before it, drops it, and the journal goes on from there.
func TestTornLastRecordAtEveryOffset(t *testing.T) {
	dir := t.TempDir()
	j := mustOpen(t, dir)
	if err := j.Append([]Record{accepted(0), done(0, 0)}); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(filepath.Join(dir, logFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Append([]Record{done(0, 1)}); err != nil {
		t.Fatal(err)
	}
	full, err := os.ReadFile(filepath.Join(dir, logFile))
	if err != nil {
		t.Fatal(err)
	}
	snapshot, err := os.ReadFile(filepath.Join(dir, snapshotFile))
	if err != nil {
		t.Fatal(err)
	}
	j.Close()
	for cut := len(before); cut < len(full); cut++ {
		torn := t.TempDir()
		os.WriteFile(filepath.Join(torn, snapshotFile), snapshot, 0o644)
		os.WriteFile(filepath.Join(torn, logFile), full[:cut], 0o644)
		j, why, err := Open(torn)
		if err != nil {
			t.Fatalf("cut at %d: %v", cut, err)
		}
		if (why == "") != (cut == len(before)) {
			t.Errorf("cut at %d: torn %q", cut, why)
		}
		st := j.State()
		if st.NextID() != 1 || len(st.Job(0).Done) != 1 {
			t.Fatalf("cut at %d: state %+v", cut, st.Job(0))
		}
		// The journal goes on after the torn record.
		if err := j.Append([]Record{done(0, 1)}); err != nil {
			t.Fatal(err)
		}
		j.Close()
		j = mustOpen(t, torn)
		if len(j.State().Job(0).Done) != 2 {
			t.Fatalf("cut at %d: appended record lost", cut)
		}
		j.Close()
	}
	// A flipped byte fails the checksum.
	bad := t.TempDir()
	flipped := append([]byte(nil), full...)
	flipped[len(flipped)-2] ^= 0xff
	os.WriteFile(filepath.Join(bad, snapshotFile), snapshot, 0o644)
	os.WriteFile(filepath.Join(bad, logFile), flipped, 0o644)
	j, why, err := Open(bad)
	if err != nil || !strings.Contains(why, "checksum") || len(j.State().Job(0).Done) != 1 {
		t.Fatalf("flipped byte: %v %q", err, why)
	}
	j.Close()
}

// A crash between writing a snapshot and emptying the log leaves records
// in both: the replay applies each once.
func TestRecordsInSnapshotAndLogApplyOnce(t *testing.T) {
	dir := t.TempDir()
	j := mustOpen(t, dir)
	if err := j.Append([]Record{accepted(0), ended(0), accepted(1)}); err != nil {
		t.Fatal(err)
	}
	log, _ := os.ReadFile(filepath.Join(dir, logFile))
	if err := j.compact(); err != nil {
		t.Fatal(err)
	}
	j.Close()
	os.WriteFile(filepath.Join(dir, logFile), log, 0o644)
	j = mustOpen(t, dir)
	defer j.Close()
	if st := j.State(); st.NextID() != 2 || !reflect.DeepEqual(st.Ends, []int{0}) {
		t.Fatalf("state: %+v", st)
	}
}

func TestLogIsCompacted(t *testing.T) {
	dir := t.TempDir()
	j := mustOpen(t, dir)
	defer j.Close()
	j.compactAt = 64 << 10
	for batch := range 30 {
		var records []Record
		for id := batch * 100; id < (batch+1)*100; id++ {
			records = append(records, accepted(id), done(id, 0), ended(id))
		}
		if err := j.Append(records); err != nil {
			t.Fatal(err)
		}
	}
	info, err := os.Stat(filepath.Join(dir, logFile))
	if err != nil {
		t.Fatal(err)
	}
	if info.Size() >= j.snapshotSize+100*1024 {
		t.Fatalf("log of %d bytes was never compacted", info.Size())
	}
	j.Close()
	j = mustOpen(t, dir)
	if j.State().NextID() != 3000 || len(j.State().Ends) != 3000 {
		t.Fatalf("after compaction: %d jobs", j.State().NextID())
	}
}

func TestFreshKeepsCountingIDs(t *testing.T) {
	dir := t.TempDir()
	j := mustOpen(t, dir)
	j.Append([]Record{accepted(0), accepted(1)})
	j.Close()
	if err := Fresh(dir); err != nil {
		t.Fatal(err)
	}
	j = mustOpen(t, dir)
	defer j.Close()
	if st := j.State(); len(st.Jobs) != 0 || st.NextID() != 2 {
		t.Fatalf("fresh: %+v", st)
	}
	if err := j.Append([]Record{accepted(1)}); err == nil {
		t.Fatal("an id before First was accepted")
	}
	if err := j.Append([]Record{accepted(2)}); err != nil {
		t.Fatal(err)
	}
}

func TestApplyRefusesRecordsThatDoNotFollow(t *testing.T) {
	var st State
	for _, r := range []Record{accepted(1), done(0, 0), {}} {
		if err := st.Apply(r); err == nil {
			t.Errorf("%+v applied to an empty state", r)
		}
	}
	st.Apply(accepted(0))
	st.Apply(ended(0))
	if err := st.Apply(done(0, 0)); err == nil {
		t.Error("a record for an ended job applied")
	}
}

// Only the KeepTasks newest ended jobs keep their tasks.
func TestOlderJobsKeptWithoutTasks(t *testing.T) {
	var st State
	for id := range KeepTasks + 2 {
		r := ended(id)
		r.Ended.Info.Tasks = []protocol.TaskInfo{{Phase: "map"}}
		if err := st.Apply(accepted(id)); err != nil {
			t.Fatal(err)
		}
		if err := st.Apply(r); err != nil {
			t.Fatal(err)
		}
	}
	for id, want := range map[int]bool{0: false, 1: false, 2: true, KeepTasks + 1: true} {
		if got := st.Job(id).Ended.Info.Tasks != nil; got != want {
			t.Errorf("job %d kept with tasks: %v, want %v", id, got, want)
		}
	}
}

// Records of the stages after map fold in by stage, and go with the job's
// end.
func TestLaterStages(t *testing.T) {
	var st State
	for _, r := range []Record{accepted(0),
		{Planned: &Planned{Job: 0, Stage: "sort", Files: [][]string{{"a"}, {"b"}}}},
		{Done: &Done{Job: 0, Stage: "sort", Index: 1, Outputs: []string{"sorted_1"}}},
		{Done: &Done{Job: 0, Index: 0}},
	} {
		if err := st.Apply(r); err != nil {
			t.Fatal(err)
		}
	}
	j := st.Job(0)
	if l := j.Later["sort"]; l == nil || len(l.Plan.Files) != 2 || l.Done[1].Outputs[0] != "sorted_1" || len(j.Done) != 1 {
		t.Fatalf("later stages: %+v, map done %v", j.Later, j.Done)
	}
	if err := st.Apply(ended(0)); err != nil || st.Job(0).Later != nil {
		t.Fatalf("ended: %v, later %+v", err, st.Job(0).Later)
	}
}

// A record that does not follow is refused and not written: the records
// after it are kept, and a replay reads them all (review finding: a
// refused record used to end every replay).
func TestRefusedRecordIsNotWritten(t *testing.T) {
	dir := t.TempDir()
	j := mustOpen(t, dir)
	if err := j.Append([]Record{accepted(0)}); err != nil {
		t.Fatal(err)
	}
	if err := j.Append([]Record{done(1, 0)}); err == nil {
		t.Fatal("a record for a job never accepted was taken")
	}
	if err := j.Append([]Record{accepted(1), accepted(2)}); err != nil {
		t.Fatal(err)
	}
	j.Close()
	j = mustOpen(t, dir)
	defer j.Close()
	if n := j.State().NextID(); n != 3 {
		t.Fatalf("after a refused record, reopened with next id %d, want 3", n)
	}
}

// An append that fails is not kept, and the journal goes on: the log ends
// with the last record kept (review finding: a failed write left bytes the
// state did not hold, and later records were lost at the next replay).
func TestFailedAppendIsNotKept(t *testing.T) {
	dir := t.TempDir()
	j := mustOpen(t, dir)
	if err := j.Append([]Record{accepted(0)}); err != nil {
		t.Fatal(err)
	}
	j.log.Close() // the next write fails, and so does taking it back
	if err := j.Append([]Record{accepted(1)}); err == nil {
		t.Fatal("an append to a closed log succeeded")
	}
	if err := j.Append([]Record{accepted(1), accepted(2)}); err != nil {
		t.Fatalf("the journal did not go on after a failed append: %v", err)
	}
	j.Close()
	j = mustOpen(t, dir)
	defer j.Close()
	if n := j.State().NextID(); n != 3 {
		t.Fatalf("reopened with next id %d, want 3", n)
	}
}

// --fresh on a journal whose snapshot is damaged still counts on from the
// ids and lives its files name (review finding: ids started again at 0).
func TestFreshOnADamagedJournal(t *testing.T) {
	dir := t.TempDir()
	j := mustOpen(t, dir) // life 1
	j.Append([]Record{accepted(0), accepted(1), ended(0)})
	j.compact()
	j.Close()
	os.WriteFile(filepath.Join(dir, snapshotFile), []byte(`{"version":1,"lives":1,"jobs":[{"job":0},{"job":1`), 0o644)
	if _, _, err := Open(dir); err == nil {
		t.Fatal("a damaged snapshot was read")
	}
	if err := Fresh(dir); err != nil {
		t.Fatal(err)
	}
	j = mustOpen(t, dir)
	defer j.Close()
	if st := j.State(); st.NextID() != 2 || st.Lives != 2 {
		t.Fatalf("after --fresh: next id %d, life %d; want 2 and 2", st.NextID(), st.Lives)
	}
}

// Damage is not a tear: a record that fails its checksum with a good one
// after it, or a log of another version, stops the start with an error
// that names --fresh, rather than drop records that were acted on
// (review finding).
func TestDamagedLogIsRefused(t *testing.T) {
	dir := t.TempDir()
	j := mustOpen(t, dir)
	if err := j.Append([]Record{accepted(0)}); err != nil {
		t.Fatal(err)
	}
	if err := j.Append([]Record{accepted(1)}); err != nil {
		t.Fatal(err)
	}
	j.Close()
	log, err := os.ReadFile(filepath.Join(dir, logFile))
	if err != nil {
		t.Fatal(err)
	}
	for name, damage := range map[string]func([]byte){
		"an early record": func(b []byte) { b[len(logHeader)+frameHeader+5] ^= 0xff },
		"another version": func(b []byte) { b[len(logHeader)-2] = '2' },
	} {
		damaged := append([]byte(nil), log...)
		damage(damaged)
		if err := os.WriteFile(filepath.Join(dir, logFile), damaged, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, _, err := Open(dir); err == nil || !strings.Contains(err.Error(), "--fresh") {
			t.Errorf("%s damaged: Open = %v, want an error naming --fresh", name, err)
		}
	}
}
