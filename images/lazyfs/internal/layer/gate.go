package layer

import "sync"

// gate is the freeze: every operation that writes, syncs or changes metadata
// passes it. Freeze waits until no such operation is in flight and shuts it;
// from then on operations wait at it until Thaw (a frozen disk never
// acknowledges again), or until their request is interrupted.
type gate struct {
	mu       sync.Mutex
	idle     *sync.Cond // signalled when inflight drops to zero
	frozen   bool
	closed   bool          // the layer is going away: nothing is admitted again
	thawed   chan struct{} // closed by Thaw
	inflight int
	waiting  int
}

func newGate() *gate {
	g := &gate{thawed: make(chan struct{})}
	g.idle = sync.NewCond(&g.mu)
	return g
}

// enter admits an operation, waiting while frozen. It returns false if done
// was closed first (the kernel interrupted the request: the caller answers
// EINTR, which a process killed by SIGKILL never sees) or the gate was
// closed.
func (g *gate) enter(done <-chan struct{}) bool {
	g.mu.Lock()
	for g.frozen {
		if g.closed {
			g.mu.Unlock()
			return false
		}
		ch := g.thawed
		g.waiting++
		g.mu.Unlock()
		select {
		case <-ch:
		case <-done:
			g.mu.Lock()
			g.waiting--
			g.mu.Unlock()
			return false
		}
		g.mu.Lock()
		g.waiting--
	}
	g.inflight++
	g.mu.Unlock()
	return true
}

func (g *gate) leave() {
	g.mu.Lock()
	g.inflight--
	if g.inflight == 0 {
		g.idle.Broadcast()
	}
	g.mu.Unlock()
}

// freeze shuts the gate and returns once every admitted operation is done.
func (g *gate) freeze() {
	g.mu.Lock()
	if !g.frozen {
		g.frozen = true
		g.thawed = make(chan struct{})
	}
	for g.inflight > 0 {
		g.idle.Wait()
	}
	g.mu.Unlock()
}

// shut closes the gate without waiting: the operations in flight finish,
// no later one is admitted (freeze then waits for the ones in flight).
func (g *gate) shut() {
	g.mu.Lock()
	if !g.frozen {
		g.frozen = true
		g.thawed = make(chan struct{})
	}
	g.mu.Unlock()
}

// thaw opens the gate and releases the waiting operations.
func (g *gate) thaw() {
	g.mu.Lock()
	if g.frozen && !g.closed {
		g.frozen = false
		close(g.thawed)
	}
	g.mu.Unlock()
}

// close freezes for good and turns away the waiting operations (the
// layer is exiting: they fail rather than hold the unmount up).
func (g *gate) close() {
	g.freeze()
	g.mu.Lock()
	if !g.closed {
		g.closed = true
		close(g.thawed)
	}
	g.mu.Unlock()
}

func (g *gate) state() (frozen bool, waiting, inflight int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.frozen, g.waiting, g.inflight
}
