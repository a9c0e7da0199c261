package layer

import "time"

// flusher is the lying disk's own schedule: every LieFlushInterval it
// persists everything dirty (it passes the gate like any writer, so a cut
// stops it). What it has not reached when the cut comes is lost although
// an fsync said it was safe.
func (l *FS) flusher() {
	defer close(l.flusherDone)
	t := time.NewTicker(l.opts.LieFlushInterval)
	defer t.Stop()
	for {
		select {
		case <-l.stopFlusher:
			return
		case <-t.C:
		}
		if !l.gate.enter(l.stopFlusher) {
			return
		}
		r := l.cache.PersistAll()
		l.gate.leave()
		l.lieFlushes.Add(1)
		l.lieFlushedBytes.Add(r.KeptBytes)
	}
}
