package protocol

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// payload returns n bytes that differ from chunk to chunk, so that a chunk
// moved or swapped shows.
func payload(n int) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range b {
		b[i] = byte(r.UintN(256))
	}
	return b
}

// streamHandler answers fetch_run: run "missing" with an Error, run "fail"
// with a stream that fails after some bytes, any other with data.
func streamHandler(data []byte) Handler {
	return func(_ string, msg Message, reply func(Message) error) {
		m, ok := msg.(FetchRun)
		if !ok {
			return
		}
		switch m.Run {
		case "missing":
			reply(Error{Error: "no run missing of job 1"})
		case "fail":
			reply(Streamer(func(w io.Writer) error {
				w.Write(data[:100<<10])
				return errors.New("disk on fire")
			}))
		default:
			reply(Streamer(func(w io.Writer) error {
				// In uneven writes, to cross chunk boundaries.
				for rest := data; len(rest) > 0; {
					n := min(len(rest), 10000)
					if _, err := w.Write(rest[:n]); err != nil {
						return err
					}
					rest = rest[n:]
				}
				return nil
			}))
		}
	}
}

// checkStreams checks a round trip, an Error answer and a stream that
// fails midway through tr, served by a streamHandler at addr.
func checkStreams(t *testing.T, tr Transport, addr string, data []byte) {
	t.Helper()
	r, err := tr.Stream(context.Background(), addr, FetchRun{JobID: 1, Run: "run-0"}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	r.Close()
	if err != nil || !bytes.Equal(got, data) {
		t.Errorf("stream: %d bytes, %v; want %d bytes, nil", len(got), err, len(data))
	}

	_, err = tr.Stream(context.Background(), addr, FetchRun{JobID: 1, Run: "missing"}, 5*time.Second)
	var remote *RemoteError
	if !errors.As(err, &remote) || remote.Err != "no run missing of job 1" {
		t.Errorf("stream of a missing run: %v, want a RemoteError", err)
	}

	r, err = tr.Stream(context.Background(), addr, FetchRun{JobID: 1, Run: "fail"}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	got, err = io.ReadAll(r)
	r.Close()
	if !errors.As(err, &remote) || !strings.Contains(remote.Err, "disk on fire") || len(got) != 100<<10 {
		t.Errorf("stream that fails: %d bytes, %v; want 100 KiB and a RemoteError", len(got), err)
	}
}

func TestTCPStream(t *testing.T) {
	data := payload(3<<20 + 12345)
	for _, auth := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "auth"}[auth], func(t *testing.T) {
			server, client := TCP{Log: zerolog.Nop()}, TCP{}
			if auth {
				server.Auth, client.Auth = NewAuth(testSecret, testWorker), NewAuth(testSecret, Self{})
			}
			ln, err := server.Listen("127.0.0.1:0", streamHandler(data))
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			checkStreams(t, client, ln.Addr(), data)
		})
	}
}

func TestInmemStream(t *testing.T) {
	data := payload(1<<20 + 7)
	n := NewInmem()
	ln, err := n.Listen("localhost:0", streamHandler(data))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	checkStreams(t, n, ln.Addr(), data)

	// A handler that never answers: the idle timeout ends the wait.
	block := make(chan struct{})
	defer close(block)
	quiet, err := n.Listen("localhost:0", func(string, Message, func(Message) error) { <-block })
	if err != nil {
		t.Fatal(err)
	}
	defer quiet.Close()
	if _, err := n.Stream(context.Background(), quiet.Addr(), FetchRun{Run: "x"}, 50*time.Millisecond); err == nil {
		t.Error("a stream nobody answers: no error")
	}
}

// rawServer serves each connection at one address by reading the request
// and writing what answer makes of the request's nonce.
func rawServer(t *testing.T, answer func(nonce string) []byte) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			req, err := ReadMessage(conn)
			if err == nil {
				if _, nonce, _, _, _, err := parseFrame(req); err == nil {
					conn.Write(answer(nonce))
				} else {
					conn.Write(answer(""))
				}
			}
			conn.Close()
		}
	}()
	return ln.Addr().String()
}

// streamBytes is the stream of data as the answer to the request with
// nonce, and where each of its chunks starts.
func streamBytes(t *testing.T, auth *Auth, nonce string, data []byte) ([]byte, []int) {
	t.Helper()
	var b bytes.Buffer
	if err := writeStream(&b, auth, nonce, func(w io.Writer) error { _, err := w.Write(data); return err }); err != nil {
		t.Fatal(err)
	}
	s := b.Bytes()
	var starts []int
	for at := len(streamMagic); at < len(s); {
		starts = append(starts, at)
		at += chunkHeader(auth) + int(uint32(s[at+1])<<24|uint32(s[at+2])<<16|uint32(s[at+3])<<8|uint32(s[at+4]))
	}
	return s, starts
}

// TestStreamRefusals: a stream cut short, changed, reordered or spliced
// from another stream is an error at the reader, never a short read.
func TestStreamRefusals(t *testing.T) {
	data := payload(3*maxChunk + 1000) // 4 data chunks and the end
	auth := NewAuth(testSecret, testWorker)
	for _, tt := range []struct {
		name string
		auth bool
		// edit makes the bad stream from the good one for nonce.
		edit func(s []byte, starts []int, nonce string) []byte
		want error
	}{
		{"truncated before the end chunk", true, func(s []byte, starts []int, _ string) []byte {
			return s[:starts[4]]
		}, ErrTruncated},
		{"truncated within a chunk", true, func(s []byte, starts []int, _ string) []byte {
			return s[:starts[2]+100]
		}, ErrTruncated},
		{"truncated, without auth", false, func(s []byte, starts []int, _ string) []byte {
			return s[:starts[4]]
		}, ErrTruncated},
		{"a data byte changed", true, func(s []byte, starts []int, _ string) []byte {
			s[starts[1]+chunkHeader(auth)+10] ^= 1
			return s
		}, ErrUnauthenticated},
		{"two chunks swapped", true, func(s []byte, starts []int, _ string) []byte {
			out := append([]byte(nil), s[:starts[0]]...)
			out = append(out, s[starts[1]:starts[2]]...)
			out = append(out, s[starts[0]:starts[1]]...)
			return append(out, s[starts[2]:]...)
		}, ErrUnauthenticated},
		{"a chunk dropped", true, func(s []byte, starts []int, _ string) []byte {
			return append(append([]byte(nil), s[:starts[1]]...), s[starts[2]:]...)
		}, ErrUnauthenticated},
		{"a chunk from another stream", true, func(s []byte, starts []int, _ string) []byte {
			other, _ := streamBytes(t, auth, strings.Repeat("ab", 16), data)
			copy(s[starts[1]:starts[2]], other[starts[1]:starts[2]])
			return s
		}, ErrUnauthenticated},
		{"another stream whole", true, func(s []byte, starts []int, _ string) []byte {
			other, _ := streamBytes(t, auth, strings.Repeat("ab", 16), data)
			return other
		}, ErrUnauthenticated},
	} {
		t.Run(tt.name, func(t *testing.T) {
			client := TCP{}
			var serverAuth *Auth
			if tt.auth {
				client.Auth, serverAuth = NewAuth(testSecret, Self{}), auth
			}
			addr := rawServer(t, func(nonce string) []byte {
				s, starts := streamBytes(t, serverAuth, nonce, data)
				return tt.edit(s, starts, nonce)
			})
			r, err := client.Stream(context.Background(), addr, FetchRun{JobID: 1, Run: "r"}, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			got, err := io.ReadAll(r)
			if !errors.Is(err, tt.want) {
				t.Errorf("read %d bytes, then %v; want %v", len(got), err, tt.want)
			}
		})
	}
	// The good stream, through the same server, for contrast.
	addr := rawServer(t, func(nonce string) []byte { s, _ := streamBytes(t, auth, nonce, data); return s })
	r, err := TCP{Auth: NewAuth(testSecret, Self{})}.Stream(context.Background(), addr, FetchRun{JobID: 1, Run: "r"}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got, err := io.ReadAll(r); err != nil || !bytes.Equal(got, data) {
		t.Errorf("the good stream: %d bytes, %v", len(got), err)
	}
}

// TestStreamIdle: a stream longer than the server's deadline for an
// answer is not cut by it; a server that stops writing midway is cut by
// the reader's idle timeout, though the stream as a whole is longer.
func TestStreamIdle(t *testing.T) {
	old := readTimeout
	readTimeout = 100 * time.Millisecond
	t.Cleanup(func() { readTimeout = old })
	stall := make(chan struct{})
	defer close(stall)
	server := TCP{Log: zerolog.Nop()}
	ln, err := server.Listen("127.0.0.1:0", func(_ string, _ Message, reply func(Message) error) {
		reply(Streamer(func(w io.Writer) error {
			for range 5 { // 5 × 60 ms: longer than the timeout, never idle that long
				if _, err := w.Write(make([]byte, maxChunk)); err != nil {
					return err
				}
				time.Sleep(60 * time.Millisecond)
			}
			<-stall
			return nil
		}))
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	r, err := TCP{}.Stream(context.Background(), ln.Addr(), FetchRun{Run: "r"}, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := io.ReadAll(r)
	if len(got) != 5*maxChunk || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("read %d bytes, then %v; want %d and a timeout", len(got), err, 5*maxChunk)
	}
}

// TestStreamCancelled: once the caller's context is done, a stream from a
// peer that went silent ends at once, before its idle timeout (a minute
// here): whether the peer never answered, or stopped midway.
func TestStreamCancelled(t *testing.T) {
	stall := make(chan struct{})
	defer close(stall)
	arrived := make(chan struct{}, 1)
	handler := func(_ string, msg Message, reply func(Message) error) {
		if msg.(FetchRun).Run == "silent" {
			arrived <- struct{}{}
			<-stall
			return
		}
		reply(Streamer(func(w io.Writer) error {
			w.Write(make([]byte, maxChunk))
			<-stall
			return nil
		}))
	}
	for _, tr := range []struct {
		name string
		t    Transport
	}{{"tcp", TCP{Log: zerolog.Nop()}}, {"inmem", NewInmem()}} {
		ln, err := tr.t.Listen("127.0.0.1:0", handler)
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		for _, run := range []string{"silent", "midway"} {
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() {
				r, err := tr.t.Stream(ctx, ln.Addr(), FetchRun{Run: run}, time.Minute)
				if err == nil {
					defer r.Close()
					// A byte of the stream, then the wait: cancelled.
					if _, err = r.Read(make([]byte, 1)); err == nil {
						cancel()
						_, err = io.ReadAll(r)
					}
				}
				done <- err
			}()
			if run == "silent" {
				<-arrived // the request is with the peer, which says nothing
				cancel()
			}
			select {
			case err := <-done:
				if err == nil {
					t.Errorf("%s, %s peer: a cancelled stream ended without an error", tr.name, run)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("%s, %s peer: a cancelled stream still waits", tr.name, run)
			}
			cancel()
		}
	}
}
