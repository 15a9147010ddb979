package master

import (
	"sync"
	"time"
)

// Busy keeps the master's loop busy with n looks posted at once, each
// taking each, as a flood of messages would, and returns once all are done.
func (s *Server) Busy(n int, each time.Duration) {
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			read(s, func() struct{} {
				time.Sleep(each)
				return struct{}{}
			})
		})
	}
	wg.Wait()
}
