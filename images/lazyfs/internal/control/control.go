// Package control is lazyfs's control channel: a Unix socket taking one
// command per line and answering each with one JSON line, once the command
// has taken effect (as LazyFS's completion FIFO tells a clear-cache is done).
package control

import (
	"bufio"
	"encoding/json"
	"errors"
	"net"
	"os"
	"strings"
	"sync"
)

// Handler runs one command line and returns the reply object.
type Handler func(line string) (any, error)

// ErrorReply is the reply to a command that failed.
type ErrorReply struct {
	Error string `json:"error"`
}

// maxLine bounds a command line.
const maxLine = 4096

// Server serves a Handler on a Unix socket.
type Server struct {
	ln   net.Listener
	path string
	wg   sync.WaitGroup
	mu   sync.Mutex
	conn map[net.Conn]struct{}
}

// Listen creates the socket at path (replacing a stale one), readable and
// writable by its owner only.
func Listen(path string) (*Server, error) {
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSocket != 0 {
		os.Remove(path)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, err
	}
	return &Server{ln: ln, path: path, conn: map[net.Conn]struct{}{}}, nil
}

// Serve answers connections until Close.
func (s *Server) Serve(h Handler) {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conn[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			serveConn(c, h)
			s.mu.Lock()
			delete(s.conn, c)
			s.mu.Unlock()
		}()
	}
}

func serveConn(c net.Conn, h Handler) {
	defer c.Close()
	sc := bufio.NewScanner(c)
	sc.Buffer(make([]byte, 0, 256), maxLine)
	enc := json.NewEncoder(c)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		reply, err := h(line)
		if err != nil {
			reply = ErrorReply{Error: err.Error()}
		}
		if enc.Encode(reply) != nil {
			return
		}
	}
}

// Close stops listening, closes open connections, waits for their
// handlers and removes the socket.
func (s *Server) Close() {
	s.ln.Close()
	s.mu.Lock()
	for c := range s.conn {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	os.Remove(s.path)
}

// Call sends one command to the socket at path and returns the reply line
// (without its newline). A reply carrying "error" is returned as an error
// too, with the line.
func Call(path, command string) (string, error) {
	c, err := net.Dial("unix", path)
	if err != nil {
		return "", err
	}
	defer c.Close()
	if _, err := c.Write([]byte(command + "\n")); err != nil {
		return "", err
	}
	r := bufio.NewReader(c)
	line, err := r.ReadString('\n')
	if err != nil {
		return "", errors.New("no reply: " + err.Error())
	}
	line = strings.TrimSuffix(line, "\n")
	var e ErrorReply
	if json.Unmarshal([]byte(line), &e) == nil && e.Error != "" {
		return line, errors.New(e.Error)
	}
	return line, nil
}
