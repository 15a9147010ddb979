package worker

import (
	"context"
	"io"
	"time"

	"mapreduce/protocol"
)

// OpenPiece is openPiece, for the tests of package worker_test.
func OpenPiece(ctx context.Context, w *Worker, job int, p protocol.Piece, lo, hi []byte) (io.ReadCloser, error) {
	return w.openPiece(ctx, job, p, lo, hi)
}

// LocalDir is the worker's local directory, once ready.
func LocalDir(w *Worker) string { return w.localDir() }

// SetFetchHooks sets openRange and fetchSlotWait until the test ends.
func SetFetchHooks(t interface{ Cleanup(func()) }, open func(path string, lo, hi []byte) (io.ReadCloser, error), wait time.Duration) {
	oldOpen, oldWait := openRange, fetchSlotWait
	openRange, fetchSlotWait = open, wait
	t.Cleanup(func() { openRange, fetchSlotWait = oldOpen, oldWait })
}

// Held counts the tasks the worker holds.
func Held(w *Worker) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.held)
}
