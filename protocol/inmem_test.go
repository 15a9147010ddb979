package protocol

import (
	"sync"
	"testing"
	"time"
)

// TestInmemListenRacesWithSenders: senders racing with Listen never see a
// listener half made (under -race this found one whose handler was set
// after it entered the address table).
func TestInmemListenRacesWithSenders(t *testing.T) {
	n := NewInmem()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			n.Send("localhost:1", Shutdown{})
			n.SendDatagram("localhost:2", Heartbeat{WorkerPID: 1})
		}
	}()
	defer func() { close(stop); wg.Wait() }()
	got := make(chan string, 2)
	ln, err := n.Listen("localhost:1", func(string, Message, func(Message) error) {
		select {
		case got <- "message":
		default:
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dl, err := n.ListenDatagrams("localhost:2", func(string, Message) {
		select {
		case got <- "datagram":
		default:
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer dl.Close()
	for range 2 {
		select {
		case <-got:
		case <-time.After(2 * time.Second):
			t.Fatal("nothing delivered")
		}
	}
}
