package master

import (
	"sync"
	"time"

	"mapreduce/internal/scheduler"
)

// Busy keeps the master's loop busy with n events posted at once, each
// taking each, as a flood of messages would, and returns once all are done.
func (s *Server) Busy(n int, each time.Duration) {
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			s.post(func(time.Time) []scheduler.Action {
				time.Sleep(each)
				return nil
			})
		})
	}
	wg.Wait()
}
