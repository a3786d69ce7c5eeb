package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// nativeBody is a valid native ingest body of about size bytes.
func nativeBody(id string, size int) []byte {
	pad := strings.Repeat("x", max(0, size-300))
	return fmt.Appendf(nil, `{"response": {"id": %q, "type": "message", "role": "assistant", "model": "claude-sonnet-4-6",
"content": [{"type": "text", "text": %q}], "stop_reason": "end_turn", "stop_sequence": null,
"usage": {"input_tokens": 1, "output_tokens": 1}}}`, id, pad)
}

// A client trickling its body loses its ingest slot once the body
// deadline passes, its connection closed, while a body sent at the
// minimum rate or faster goes through however long it takes; with one
// ingest slot, a normal request succeeds as soon as the slow one is cut.
func TestSlowBodyLosesItsSlot(t *testing.T) {
	m := startMainWith(t, func(m *Main) {
		m.Ops.MaxConcurrentIngest = 1
		m.Ops.IngestBodyTimeout = time.Second
		m.Ops.IngestMinBodyRate = 1000
	})
	addr := m.httpLn.Addr().String()
	const failAfter = 20 * time.Second

	// slow runs one slow client, headers then a byte every 100 ms, with a
	// normal request alongside, and returns how the slow one ended.
	slow := func() string {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "POST /v1/responses HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{", addr)
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			for {
				select {
				case <-stop:
					return
				case <-time.After(100 * time.Millisecond):
				}
				if _, err := conn.Write([]byte(" ")); err != nil {
					return
				}
			}
		}()
		closed := make(chan string, 1)
		go func() {
			conn.SetReadDeadline(time.Now().Add(failAfter))
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				closed <- "no answer: " + err.Error()
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			// The server closes the connection after answering.
			if _, err := conn.Read(make([]byte, 1)); err == nil || strings.Contains(err.Error(), "timeout") {
				closed <- fmt.Sprintf("answered %d %s but the connection stayed open: %v", resp.StatusCode, b, err)
				return
			}
			closed <- fmt.Sprintf("%d %s", resp.StatusCode, b)
		}()

		// Meanwhile a normal request gets through once the slot is freed.
		deadline := time.Now().Add(failAfter)
		for {
			code, body := post(t, m.URL()+"/v1/responses", "application/json", nativeBody("msg_normal", 500))
			if code == 200 {
				break
			}
			if code != 503 || time.Now().After(deadline) {
				t.Fatalf("normal ingest: %d %s", code, body)
			}
			time.Sleep(50 * time.Millisecond)
		}
		select {
		case got := <-closed:
			return got
		case <-time.After(failAfter):
			t.Fatal("the slow client's connection was not closed")
		}
		return ""
	}
	// The slow client may come second to the normal request and be
	// refused the slot at once (503, its connection closed): then it never
	// held the slot, and the test runs again.
	got := slow()
	for i := 0; i < 5 && strings.HasPrefix(got, "503 "); i++ {
		got = slow()
	}
	if !strings.Contains(got, "too slowly") {
		t.Errorf("slow client: %s, want an answer saying the body was too slow", got)
	}

	// A body sent in pieces over longer than the timeout, but faster than
	// the minimum rate, is not cut.
	body := nativeBody("msg_paced", 4000)
	pr, pw := io.Pipe()
	go func() {
		for b := bytes.NewReader(body); b.Len() > 0; {
			if _, err := io.CopyN(pw, b, 500); err != nil && err != io.EOF {
				pw.CloseWithError(err)
				return
			}
			time.Sleep(150 * time.Millisecond)
		}
		pw.Close()
	}()
	req, _ := http.NewRequest("POST", m.URL()+"/v1/responses", pr)
	req.Header.Set("Content-Type", "application/json")
	req.ContentLength = int64(len(body))
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("paced body after %s: %d %s", time.Since(start), resp.StatusCode, b)
	}
}
