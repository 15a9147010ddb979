package journal

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"time"
)

// The files of a journal directory.
const (
	snapshotFile = "snapshot.json"
	logFile      = "log"
	// logHeader starts a log; the version is its last byte before the
	// newline.
	logHeader = "mapreduce journal 1\n"
	// frameHeader is a frame's length, checksum and sequence number.
	frameHeader = 4 + 4 + 8
	// MaxRecord bounds one record: a torn length must not make the replay
	// allocate gigabytes. An Ended record holds a job's status, which
	// sendjob's replies bound far below this.
	MaxRecord = 64 << 20
	// defaultCompactAt is the least size of the log at which it is folded into
	// the snapshot; past it, the log is folded once it outgrows the
	// snapshot, so that writing snapshots costs at most about as much as
	// the records.
	defaultCompactAt = 4 << 20
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// Journal is an open journal directory. It is not safe for concurrent use.
type Journal struct {
	dir     string
	state   State
	log     *os.File
	logSize int64
	// snapshotSize is the size of the last snapshot written.
	snapshotSize int64
	compactAt    int64
	// syncs counts the appends, and synced is the time they took, for
	// what the journal costs (scripts/bench.sh).
	syncs  int
	synced time.Duration
	// broken: the log may end with bytes the state does not hold (an
	// append failed and could not be taken back), or there is no log (a
	// compaction failed after it replaced it). The next append starts
	// afresh from the state (compact).
	broken bool
}

// Open opens the journal in dir, making it if it is missing, and replays
// it. A record that is torn or fails its checksum, and whatever follows
// it, is dropped: a crash can tear the last record written, and a record
// that was not synced was never acted on. torn says what was dropped, for
// the log; it is empty when nothing was. The log is cut after its last
// good record, and goes on from there, with a record of this start.
func Open(dir string) (j *Journal, torn string, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, "", fmt.Errorf("journal: %w", err)
	}
	j = &Journal{dir: dir, state: State{Version: Version}, compactAt: defaultCompactAt}
	if err := j.readSnapshot(); err != nil {
		return nil, "", err
	}
	data, err := os.ReadFile(filepath.Join(dir, logFile))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, "", fmt.Errorf("journal: %w", err)
	}
	good, torn, err := Replay(&j.state, data)
	if err != nil {
		return nil, "", fmt.Errorf("journal: %s: %w: move it away, or start with --fresh", filepath.Join(dir, logFile), err)
	}
	if good == 0 {
		// No log, or not even its header: start one.
		if err := j.compact(); err != nil {
			j.Close()
			return nil, "", err
		}
		if err := j.start(); err != nil {
			j.Close()
			return nil, "", err
		}
		return j, torn, nil
	}
	j.log, err = os.OpenFile(filepath.Join(dir, logFile), os.O_WRONLY|os.O_APPEND, 0)
	if err == nil && good < len(data) {
		err = j.log.Truncate(int64(good))
		if err == nil {
			err = j.log.Sync()
		}
	}
	if err != nil {
		j.Close()
		return nil, "", fmt.Errorf("journal: %w", err)
	}
	j.logSize = int64(good)
	if err := j.start(); err != nil {
		j.Close()
		return nil, "", err
	}
	return j, torn, nil
}

// start records that a master starts on the journal.
func (j *Journal) start() error {
	return j.Append([]Record{{Started: &Started{Life: j.state.Lives + 1}}})
}

// Fresh empties the journal in dir, keeping only where job ids and
// master lives stopped, so that they never repeat. From a journal that
// cannot be read (a damaged snapshot), they are read off whatever its
// files still say: the largest "job" and "life" numbers in them.
func Fresh(dir string) error {
	first, lives := 0, 0
	if j, _, err := Open(dir); err == nil {
		first, lives = j.state.NextID(), j.state.Lives
		j.Close()
	} else {
		first, lives = salvage(dir)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	j := &Journal{dir: dir, state: State{Version: Version, First: first, Lives: lives}, compactAt: defaultCompactAt}
	if err := j.compact(); err != nil {
		return err
	}
	return j.Close()
}

var (
	jobNumber  = regexp.MustCompile(`"job":(\d+)`)
	lifeNumber = regexp.MustCompile(`"(?:life|lives)":(\d+)`)
)

// salvage returns one more than the largest job id, and the largest life,
// that the journal's files in dir name, however damaged.
func salvage(dir string) (next, lives int) {
	for _, name := range []string{snapshotFile, logFile} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			continue
		}
		for _, m := range jobNumber.FindAllSubmatch(data, -1) {
			if n, err := strconv.Atoi(string(m[1])); err == nil {
				next = max(next, n+1)
			}
		}
		for _, m := range lifeNumber.FindAllSubmatch(data, -1) {
			if n, err := strconv.Atoi(string(m[1])); err == nil {
				lives = max(lives, n)
			}
		}
	}
	return next, lives
}

// State returns the state the journal holds. The caller must not change
// it.
func (j *Journal) State() *State { return &j.state }

func (j *Journal) readSnapshot() error {
	data, err := os.ReadFile(filepath.Join(j.dir, snapshotFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	// A snapshot is written whole or not at all (atomicfile): one that
	// does not parse was damaged on disk, and replaying the log without
	// it would lose every job it holds.
	if err := json.Unmarshal(data, &j.state); err != nil {
		return fmt.Errorf("journal: snapshot %s is damaged (%v): move it away, or start with --fresh", filepath.Join(j.dir, snapshotFile), err)
	}
	if j.state.Version != Version {
		return fmt.Errorf("journal: snapshot %s has version %d; this master reads version %d: start with --fresh",
			filepath.Join(j.dir, snapshotFile), j.state.Version, Version)
	}
	j.snapshotSize = int64(len(data))
	return nil
}

// Replay folds the records of a log into st, skipping those st holds
// already (a crash between writing a snapshot and emptying the log leaves
// them in both). It stops at the first record that is torn, fails its
// checksum, is out of sequence or does not follow from st, and returns
// how many bytes of log were good (0 if not even its header) and what it
// dropped; "" when it read the log to its end. A crash tears only the end
// of a log: a record that fails its checksum with a good one after it is
// damage, and so is a log of another version; Replay returns an error for
// them rather than drop records that were acted on.
func Replay(st *State, log []byte) (good int, torn string, err error) {
	if len(log) == 0 {
		return 0, "", nil
	}
	if !bytes.HasPrefix(log, []byte(logHeader)) {
		if bytes.HasPrefix([]byte(logHeader), log) {
			return 0, fmt.Sprintf("a header torn after %d bytes", len(log)), nil
		}
		return 0, "", fmt.Errorf("not a log of version 1 (it starts %q)", log[:min(len(log), len(logHeader))])
	}
	off := len(logHeader)
	for off < len(log) {
		rest := log[off:]
		drop := func(why string) (int, string, error) {
			return off, fmt.Sprintf("%d bytes from offset %d: %s", len(rest), off, why), nil
		}
		if len(rest) < frameHeader {
			return drop("a torn frame header")
		}
		size := binary.BigEndian.Uint32(rest)
		sum := binary.BigEndian.Uint32(rest[4:])
		seq := binary.BigEndian.Uint64(rest[8:])
		if size > MaxRecord {
			return drop(fmt.Sprintf("a record of %d bytes, more than %d", size, MaxRecord))
		}
		end := frameHeader + int(size)
		if len(rest) < end {
			return drop("a torn record")
		}
		if crc32.Checksum(rest[8:end], crcTable) != sum {
			if wholeFrame(rest[end:]) {
				return off, "", fmt.Errorf("the record at offset %d fails its checksum, and a good one follows it: the log is damaged", off)
			}
			return drop("a record that fails its checksum")
		}
		if seq > st.Seq {
			if seq != st.Seq+1 {
				return drop(fmt.Sprintf("record %d where %d was due", seq, st.Seq+1))
			}
			var r Record
			if err := json.Unmarshal(rest[frameHeader:end], &r); err != nil {
				return drop(fmt.Sprintf("record %d does not parse: %v", seq, err))
			}
			if err := st.Apply(r); err != nil {
				return drop(fmt.Sprintf("record %d: %v", seq, err))
			}
			st.Seq = seq
		}
		off += end
	}
	return off, "", nil
}

// wholeFrame reports whether data starts with a whole frame that passes
// its checksum.
func wholeFrame(data []byte) bool {
	if len(data) < frameHeader {
		return false
	}
	size := binary.BigEndian.Uint32(data)
	end := frameHeader + int(size)
	return size <= MaxRecord && len(data) >= end && crc32.Checksum(data[8:end], crcTable) == binary.BigEndian.Uint32(data[4:])
}
