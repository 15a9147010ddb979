package journal

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"time"

	"mapreduce/internal/atomicfile"
)

// Append writes records to the log and syncs it, then folds them into the
// state. Once it returns nil, they survive a crash. On an error, none of
// them was kept: the log still ends with the last record kept, so that a
// replay reads every record after it too.
func (j *Journal) Append(records []Record) error {
	if len(records) == 0 {
		return nil
	}
	if err := j.state.check(records); err != nil {
		// Written, such a record would end every replay there, and every
		// record after it would be lost: a bug of the scheduler's.
		return fmt.Errorf("journal: refused: %w", err)
	}
	if j.broken {
		if err := j.compact(); err != nil {
			return err
		}
	}
	var buf bytes.Buffer
	seq := j.state.Seq
	for _, r := range records {
		seq++
		if err := appendFrame(&buf, seq, r); err != nil {
			return err
		}
	}
	start := time.Now()
	defer func() { j.syncs, j.synced = j.syncs+1, j.synced+time.Since(start) }()
	if err := j.write(buf.Bytes()); err != nil {
		// Take back what may be half written, or written and not synced.
		if terr := j.log.Truncate(j.logSize); terr != nil {
			j.broken = true
		}
		return err
	}
	j.logSize += int64(buf.Len())
	for _, r := range records {
		j.state.Apply(r) // checked above
		j.state.Seq++
	}
	if j.logSize >= max(j.compactAt, j.snapshotSize) {
		if err := j.compact(); err != nil {
			return fmt.Errorf("journal: the records are kept, but the log could not be folded into the snapshot: %w", err)
		}
	}
	return nil
}

// write appends data to the log and syncs it.
func (j *Journal) write(data []byte) error {
	if _, err := j.log.Write(data); err != nil {
		return fmt.Errorf("journal: append: %w", err)
	}
	if err := j.log.Sync(); err != nil {
		return fmt.Errorf("journal: sync: %w", err)
	}
	return nil
}

// appendFrame writes r as record seq to buf.
func appendFrame(buf *bytes.Buffer, seq uint64, r Record) error {
	payload, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("journal: encode record: %w", err)
	}
	if len(payload) > MaxRecord {
		return fmt.Errorf("journal: a record of %d bytes, more than %d", len(payload), MaxRecord)
	}
	var head [frameHeader]byte
	binary.BigEndian.PutUint32(head[:], uint32(len(payload)))
	binary.BigEndian.PutUint64(head[8:], seq)
	crc := crc32.Update(crc32.Checksum(head[8:], crcTable), crcTable, payload)
	binary.BigEndian.PutUint32(head[4:], crc)
	buf.Write(head[:])
	buf.Write(payload)
	return nil
}

// compact writes the state as the snapshot, then starts the log afresh.
// A crash between the two leaves records in both, which Replay skips by
// their numbers. If it fails before the new log replaces the old one, the
// old one goes on; after, the journal is broken until a compaction works.
func (j *Journal) compact() error {
	if err := writeFile(filepath.Join(j.dir, snapshotFile), func(w *bufio.Writer) error {
		return json.NewEncoder(w).Encode(&j.state)
	}); err != nil {
		return err
	}
	// The snapshot's rename must be on disk before the log's.
	if err := syncDir(j.dir); err != nil {
		return err
	}
	if info, err := os.Stat(filepath.Join(j.dir, snapshotFile)); err == nil {
		j.snapshotSize = info.Size()
	}
	if err := writeFile(filepath.Join(j.dir, logFile), func(w *bufio.Writer) error {
		_, err := w.WriteString(logHeader)
		return err
	}); err != nil {
		return err
	}
	if j.log != nil {
		j.log.Close()
	}
	j.log, j.broken = nil, true
	if err := syncDir(j.dir); err != nil {
		return err
	}
	log, err := os.OpenFile(filepath.Join(j.dir, logFile), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	j.log, j.logSize, j.broken = log, int64(len(logHeader)), false
	return nil
}

// writeFile writes path whole or not at all, synced.
func writeFile(path string, write func(*bufio.Writer) error) error {
	f, err := atomicfile.Create(path)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	w := bufio.NewWriter(f)
	if err := write(w); err != nil {
		f.Abort()
		return fmt.Errorf("journal: write %s: %w", path, err)
	}
	if err := w.Flush(); err != nil {
		f.Abort()
		return fmt.Errorf("journal: write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Abort()
		return fmt.Errorf("journal: sync %s: %w", path, err)
	}
	if err := f.Commit(); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	return nil
}

// syncDir makes the renames in dir survive a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("journal: sync %s: %w", dir, err)
	}
	return nil
}

// Cost returns how many appends the journal made since it was opened and
// the time they took, written and synced.
func (j *Journal) Cost() (int, time.Duration) { return j.syncs, j.synced }

// Close closes the log.
func (j *Journal) Close() error {
	if j.log == nil {
		return nil
	}
	err := j.log.Close()
	j.log = nil
	return err
}
