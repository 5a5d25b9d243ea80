package bus

import (
	"context"
	"io"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"
)

// slowUplink forwards TCP connections to upstream and holds every chunk a
// client sends for delay before passing it on; what upstream sends back
// goes through at once. It is the latency a loaded machine (or a remote
// NATS server) puts between a pull request and the server seeing it.
func slowUplink(t *testing.T, upstream string, delay time.Duration) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			server, err := net.Dial("tcp", upstream)
			if err != nil {
				_ = client.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, client, server)
			mu.Unlock()
			type chunk struct {
				at   time.Time
				data []byte
			}
			chunks := make(chan chunk, 1024)
			wg.Add(3)
			go func() {
				defer wg.Done()
				_, _ = io.Copy(client, server)
				_ = client.Close()
			}()
			go func() {
				defer wg.Done()
				defer close(chunks)
				for {
					buf := make([]byte, 32<<10)
					n, err := client.Read(buf)
					if n > 0 {
						chunks <- chunk{time.Now().Add(delay), buf[:n]}
					}
					if err != nil {
						return
					}
				}
			}()
			go func() {
				defer wg.Done()
				defer server.Close()
				for c := range chunks {
					// Latency injected on purpose, not a wait for an event.
					time.Sleep(time.Until(c.at))
					if _, err := server.Write(c.data); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// A pull request reaches the server some time after the client sent it,
// and the server's expiry runs from then. A consumer that stopped
// listening on its own clock (FetchContext with a 1 s deadline, which
// asked the server for 0.9 s) left the server a request that outlived it
// whenever the request took over 0.1 s to arrive: a message published in
// that gap went to an inbox no one read, and waited out AckWait (30 s for
// sinks) unseen and with no error. With a 400 ms uplink that gap is 0.3 s
// of every second the consumer waits; every message published at a random
// moment while it waits must reach the handler on its first delivery.
func TestConsumeConcurrentlyLosesNoMessageToALatePull(t *testing.T) {
	t.Parallel()
	// File storage, as a client of an external server makes its streams.
	server := openTest(t, Config{Listen: "127.0.0.1:0", DataDir: t.TempDir()})
	client := openTest(t, Config{URL: "nats://" + slowUplink(t, server.srv.Addr().String(), 400*time.Millisecond)})
	// A lost message comes back after AckWait, on its second delivery.
	c := Consumer{Stream: StreamAlerts, Durable: "late-pull", AckWait: 15 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := server.EnsureConsumer(ctx, c); err != nil {
		t.Fatal(err)
	}
	const n = 12
	handled := make(chan Delivery, 2*n)
	consumeInBackground(t, client, c, 1, func(_ context.Context, d Delivery) error {
		handled <- d
		return nil
	})
	for i := range n {
		// Publish at a random moment of two pull cycles of the waiting
		// consumer, whose first pull request may be later than the handler
		// by its acknowledgement's round trip.
		select {
		case <-time.After(fetchWait/2 + rand.N(2*fetchWait)):
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		}
		if err := server.Publish(ctx, Subject(SubjectAlerts, "r"), []byte(strconv.Itoa(i)), ""); err != nil {
			t.Fatal(err)
		}
		select {
		case d := <-handled:
			if string(d.Data) != strconv.Itoa(i) || d.Attempt != 1 {
				t.Errorf("message %d reached the handler on delivery %d (got %q): the server had sent it to a pull request the consumer no longer read", i, d.Attempt, d.Data)
			}
		case <-ctx.Done():
			t.Fatalf("message %d never handled", i)
		}
	}
}
