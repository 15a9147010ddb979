package master

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"mapreduce/internal/group"
	"mapreduce/internal/jobspec"
	"mapreduce/internal/layout"
	"mapreduce/internal/program"
	"mapreduce/internal/scheduler"
	"mapreduce/internal/split"
	"mapreduce/protocol"
)

// execute carries out the scheduler's actions. Quick ones run here on the
// loop; slow file work runs on its own goroutine and posts its result back.
func (s *Server) execute(actions []scheduler.Action) {
	for _, a := range s.persist(actions) {
		switch a := a.(type) {
		case scheduler.Send:
			s.outbox(a).push(a)
		case scheduler.CloseOutbox:
			s.closeOutbox(a.Incarnation)
		case scheduler.MakeJobDirs:
			if err := makeDirs(a.Dirs); err != nil {
				s.execute(s.step(time.Now(), scheduler.JobDirsFailedEvent{Job: a.Job, Err: err}))
			}
		case scheduler.ScanInput:
			go func() {
				files, err := scanInput(a.Dir, a.Executables, a.WorkDir, a.OutputDir, s.cfg.Scheduler.VarDir)
				s.post(scheduler.InputScannedEvent{Job: a.Job, Files: files, Err: err})
			}()
		case scheduler.Merge:
			go func() {
				start := time.Now()
				ready := func(partition int) {
					s.post(scheduler.PartitionMergedEvent{Job: a.Job, Partition: partition})
				}
				resorted, err := group.MergePartition(a.Inputs, a.OutputDir, a.Reducers, ready)
				s.log.Info().Int("job", a.Job).Stringer("took", time.Since(start)).Strs("resorted", resorted).Err(err).Msg("merged sorted files")
				s.post(scheduler.MergedEvent{Job: a.Job, Err: err})
			}()
		case scheduler.MoveOutputs:
			go func() {
				err := moveOutputs(a.Files, a.Dest, a.Temp)
				s.post(scheduler.OutputsMovedEvent{Job: a.Job, Err: err})
			}()
		case scheduler.CommitOutputs:
			// Here on the loop: no event comes between the scheduler's
			// word to commit and the commit.
			leftover, err := commitOutputs(a.Temp, a.Dest, a.Names)
			if err == nil {
				s.log.Info().Int("job", a.Job).Str("output", a.Dest).Msg("outputs committed")
			}
			if leftover != nil {
				s.log.Warn().Err(leftover).Int("job", a.Job).Str("dir", a.Temp).
					Msg("commit: the outputs are in place, but what was left in the commit directory could not be removed")
			}
			s.execute(s.step(time.Now(), scheduler.OutputsCommittedEvent{Job: a.Job, Err: err}))
		case scheduler.DiscardOutputs:
			s.removals.Go(func() {
				s.removeDir(a.Job, a.Temp, "outputs of a commit that did not happen")
				// The output directory goes too if nothing else is in it:
				// a job that does not commit leaves nothing behind.
				os.Remove(filepath.Dir(a.Temp))
			})
		case scheduler.RemoveJobDir:
			s.removals.Go(func() { s.removeDir(a.Job, a.Dir, "job directory") })
		case scheduler.KeepLog:
			s.keepLog(a)
		case scheduler.RemoveLogs:
			s.removals.Go(func() { s.removeDir(a.Job, a.Dir, "task logs") })
		default:
			panic(fmt.Sprintf("unknown action %T", a))
		}
	}
}

func makeDirs(dirs []string) error {
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	return nil
}

// scanInput lists a job's input files, with their sizes, as `cat dir/*`
// would read them: sorted, hidden names skipped, directories skipped
// (split.Plan cuts them by their sizes). It also checks that
// each executable exists and may be run and that the output directory is
// fit for the job, new or empty, and can be made and written, so that a
// job with a typo, or whose output directory an earlier job filled since it
// was accepted, fails at once with a clear message instead of after all
// its work.
func scanInput(dir string, executables []string, workDir, outputDir, varDir string) ([]split.File, error) {
	if err := checkWorkDir(workDir); err != nil {
		return nil, err
	}
	for _, exe := range executables {
		if err := checkExecutable(exe, workDir); err != nil {
			return nil, err
		}
	}
	if err := checkOutputDir(dir, outputDir, varDir); err != nil {
		return nil, err
	}
	// Checked, not made: the output directory is made when the first
	// output goes into it, so that a job that fails before leaves none.
	if err := checkMakeable(outputDir); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("input directory: %w", err)
	}
	var files []split.File
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		path := filepath.Join(dir, e.Name())
		info, err := os.Stat(path) // follows links, as cat would
		if err != nil {
			return nil, fmt.Errorf("input file: %w", err)
		}
		if info.Mode().IsRegular() {
			files = append(files, split.File{Path: path, Size: info.Size()})
		}
	}
	slices.SortFunc(files, func(a, b split.File) int { return strings.Compare(a.Path, b.Path) })
	return files, nil
}

// checkOutputDir refuses an output directory that a job's outputs cannot
// go into whole, as Hadoop refuses one: the input directory or one inside
// it (the outputs, named input_0 …, would overwrite inputs), one inside
// the master's var directory (removed when jobs end), and one that exists
// and is not an empty directory (the outputs would sit beside an earlier
// job's). Paths are compared as given and with their links resolved. A
// missing directory is fine: it is made when the job starts.
func checkOutputDir(input, output, varDir string) error {
	given := protocol.NewMasterJob{InputDirectory: input, OutputDirectory: output}
	resolved := protocol.NewMasterJob{InputDirectory: jobspec.RealPath(input), OutputDirectory: jobspec.RealPath(output)}
	for _, spec := range []protocol.NewMasterJob{given, resolved} {
		if err := jobspec.CheckDirectories(spec); err != nil {
			return err
		}
		if jobspec.Within(spec.OutputDirectory, varDir) || jobspec.Within(spec.OutputDirectory, jobspec.RealPath(varDir)) {
			return fmt.Errorf("output_directory %s is inside the master's var directory %s, whose files are removed", output, varDir)
		}
	}
	info, err := os.Stat(output)
	if err != nil {
		return nil // missing, or unreachable: checkMakeable says why
	}
	if !info.IsDir() {
		return fmt.Errorf("output_directory %s exists and is not a directory", output)
	}
	entries, err := os.ReadDir(output)
	if err != nil {
		return fmt.Errorf("output_directory: %w", err)
	}
	// The probe of another job starting into the same directory is not
	// an output.
	if len(entries) > 0 {
		var names []string
		for _, e := range entries[:min(3, len(entries))] {
			names = append(names, e.Name())
		}
		if len(entries) > 3 {
			names = append(names, fmt.Sprintf("… %d in all", len(entries)))
		}
		return fmt.Errorf("output_directory %s is not empty (it holds %s): a job writes into a new or empty directory",
			output, strings.Join(names, ", "))
	}
	return nil
}

// checkExecutable checks that program exe of a job with working directory
// workDir can be found and run, with a hint that names the fix if not.
func checkExecutable(exe, workDir string) error {
	path, err := program.Find(exe, workDir)
	if err != nil {
		return err
	}
	return program.Check(path)
}

// checkWorkDir checks that the job's working directory, if it has one,
// is a directory here, as it must be on every worker.
func checkWorkDir(dir string) error {
	if dir == "" {
		return nil
	}
	info, err := os.Stat(dir)
	if err == nil && !info.IsDir() {
		err = errors.New("not a directory")
	}
	if err != nil {
		return fmt.Errorf("the job's working directory %s (where sendjob ran) is not visible to the master: %w; "+
			"the master and every worker must see it at the same path", dir, err)
	}
	return nil
}

// moveOutputs is the first step of a commit: it makes dest if missing and
// temp, a new directory inside it, and moves each file into temp, by
// rename where it can and by copy across file systems. If it fails, it
// removes temp and what it holds, and dest if it made it.
func moveOutputs(files []string, dest, temp string) (err error) {
	_, statErr := os.Stat(dest)
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return err
	}
	defer func() {
		if err != nil && errors.Is(statErr, fs.ErrNotExist) {
			os.Remove(dest) // made here, for outputs that did not come
		}
	}()
	if err := os.Mkdir(temp, 0o755); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(temp)
		}
	}()
	for _, f := range files {
		to := filepath.Join(temp, filepath.Base(f))
		err := os.Rename(f, to)
		if errors.Is(err, syscall.EXDEV) {
			err = copyFile(f, to)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// commitOutputs is the second step: it renames each of names from temp
// into dest, where none may exist yet, removes temp and what is left in it
// (what attempts killed mid-write left there), and writes the success
// marker last. Every rename is within dest's file system, and
// atomic. If a step fails it removes what it put into dest, which is left
// as it was found; temp and the outputs still in it stay for the caller to
// discard. But temp that cannot be removed once every output is in place
// (a writer nobody can stop keeps adding to it) does not undo the commit:
// that error is returned as leftover, for the caller to report.
func commitOutputs(temp, dest string, names []string) (leftover, err error) {
	for _, name := range names {
		_, err := os.Lstat(filepath.Join(dest, filepath.Base(name)))
		if err == nil {
			return nil, fmt.Errorf("%s already exists", filepath.Join(dest, filepath.Base(name)))
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	var placed []string
	defer func() {
		if err == nil {
			return
		}
		for _, p := range placed {
			if rmErr := os.Remove(p); rmErr != nil {
				err = errors.Join(err, fmt.Errorf("undo the commit: %w", rmErr))
			}
		}
	}()
	for _, name := range names {
		to := filepath.Join(dest, filepath.Base(name))
		if err := os.Rename(filepath.Join(temp, name), to); err != nil {
			return nil, err
		}
		placed = append(placed, to)
	}
	leftover = removeTemp(temp)
	marker := filepath.Join(dest, layout.SuccessMarker)
	f, err := os.OpenFile(marker, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
	if err != nil {
		return nil, err
	}
	placed = append(placed, marker)
	return leftover, f.Close()
}

// removeTemp removes a commit directory whose outputs are in place: it is
// removeAll, which a test replaces.
var removeTemp = removeAll

// removeDir removes dir and all it holds (removeAll), and logs how it went.
func (s *Server) removeDir(job int, dir, what string) {
	if err := removeAll(dir); err != nil {
		s.log.Warn().Err(err).Int("job", job).Str("dir", dir).Msg("could not remove " + what)
		return
	}
	s.log.Debug().Int("job", job).Str("dir", dir).Msg("removed " + what)
}

// removeAll removes dir and all it holds. A program still writing there
// (of an ended job, being killed, or a reference-only worker's attempt
// that nobody can stop) may add a file between the removal's last read of
// a directory and its rmdir: a directory found not empty is tried again,
// up to 5 times in 200 ms.
func removeAll(dir string) error {
	var err error
	for i := range 5 {
		if i > 0 {
			time.Sleep(time.Duration(i) * 20 * time.Millisecond)
		}
		if err = os.RemoveAll(dir); err == nil || !errors.Is(err, syscall.ENOTEMPTY) {
			return err
		}
	}
	return err
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s to %s: %w", from, to, err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("copy %s to %s: %w", from, to, err)
	}
	return os.Remove(from)
}
