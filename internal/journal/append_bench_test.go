package journal

import "testing"

// BenchmarkAppend measures one synced append of a task's Done record, what
// the master pays per finished task: scripts/bench.sh's 100M word count
// appends about 20 (a job, its plans, 8 map and 4 reduce tasks, its
// commit and its end).
func BenchmarkAppend(b *testing.B) {
	j, _, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer j.Close()
	if err := j.Append([]Record{accepted(0)}); err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		if err := j.Append([]Record{done(0, i)}); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
