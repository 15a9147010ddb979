package master

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"mapreduce/internal/group"
	"mapreduce/internal/jobspec"
	"mapreduce/internal/scheduler"
)

// execute carries out the scheduler's actions. Quick ones run here on the
// loop; slow file work runs on its own goroutine and posts its result back.
func (s *Server) execute(actions []scheduler.Action) {
	for _, a := range actions {
		switch a := a.(type) {
		case scheduler.Send:
			s.outbox(a).push(a)
		case scheduler.CloseOutbox:
			s.closeOutbox(a.Incarnation)
		case scheduler.MakeJobDirs:
			if err := makeDirs(a.Dirs); err != nil {
				s.execute(s.sched.JobDirsFailed(time.Now(), a.Job, err))
			}
		case scheduler.ScanInput:
			go func() {
				files, err := scanInput(a.Dir, a.Executables, a.OutputDir)
				s.post(func(now time.Time) []scheduler.Action { return s.sched.InputScanned(now, a.Job, files, err) })
			}()
		case scheduler.Merge:
			go func() {
				start := time.Now()
				ready := func(partition int) {
					s.post(func(now time.Time) []scheduler.Action { return s.sched.PartitionMerged(now, a.Job, partition) })
				}
				resorted, err := group.MergePartition(a.Inputs, a.OutputDir, a.Reducers, ready)
				s.log.Info().Int("job", a.Job).Dur("took", time.Since(start)).Strs("resorted", resorted).Err(err).Msg("merged sorted files")
				s.post(func(now time.Time) []scheduler.Action { return s.sched.Merged(now, a.Job, err) })
			}()
		case scheduler.MoveOutputs:
			go func() {
				err := moveFiles(a.Files, a.Dest)
				s.post(func(now time.Time) []scheduler.Action { return s.sched.OutputsMoved(now, a.Job, err) })
			}()
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

// scanInput lists a job's input files as `cat dir/*` would read them:
// sorted, hidden names skipped, directories skipped. It also checks that
// each executable exists and may be run and that the output directory can
// be made and written, so that a job with a typo fails at once with a clear
// message instead of after all its work.
func scanInput(dir string, executables []string, outputDir string) ([]string, error) {
	for _, exe := range executables {
		if err := checkExecutable(exe); err != nil {
			return nil, err
		}
	}
	if err := checkWritable(outputDir); err != nil {
		return nil, fmt.Errorf("output directory: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("input directory: %w", err)
	}
	var files []string
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
			files = append(files, path)
		}
	}
	slices.Sort(files)
	return files, nil
}

func checkExecutable(exe string) error {
	if jobspec.OnPath(exe) {
		if _, err := exec.LookPath(exe); err != nil {
			return fmt.Errorf("executable %s: %w", exe, err)
		}
		return nil
	}
	info, err := os.Stat(exe)
	if err != nil {
		return fmt.Errorf("executable: %w", err)
	}
	if info.IsDir() || info.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("executable %s: not an executable file (mode %s)", exe, info.Mode())
	}
	return nil
}

func checkWritable(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".mapreduce-check-*")
	if err != nil {
		return err
	}
	f.Close()
	return os.Remove(f.Name())
}

// moveFiles moves each file into dest, made if missing, by rename where it
// can and by copy across file systems.
func moveFiles(files []string, dest string) error {
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return err
	}
	for _, f := range files {
		to := filepath.Join(dest, filepath.Base(f))
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
