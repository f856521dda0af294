package audit

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pwndex/pwndex/index"
)

// kindBit maps an identifier kind to its bit in hit.kinds.
func kindBit(k index.Kind) uint8 {
	if k == index.KindPhone {
		return 2
	}
	return 1
}

// hit is one exposed identifier (or, after merging, one exposed customer):
// its source line, which kinds matched and the catalog indices of the
// breaches, sorted and unique.
type hit struct {
	line     uint64
	kinds    uint8
	breaches []uint32
}

// sortHits orders hits by input line, then by kind: the order in which the
// report lists them, whichever resolver (ranges or private lookups) found them.
func sortHits(all []hit) {
	slices.SortFunc(all, func(x, y hit) int {
		if c := cmp.Compare(x.line, y.line); c != 0 {
			return c
		}
		return cmp.Compare(x.kinds, y.kinds)
	})
}

// group is a run of records sharing kind and range prefix.
type group struct{ start, end int }

// resolveAll resolves every partition that has no hits file yet, with
// the prefix lengths of a.plan.
func (a *auditor) resolveAll(ck *checkpoint) error {
	n := 1 << uint(ck.Bits)
	a.resolveStart = time.Now()
	a.rows = ck.RowsDone
	var recs []record
	for p := 0; p < n; p++ {
		if validHits(hitsName(a.work, p)) {
			continue // done before an interruption
		}
		var err error
		recs, err = readPartition(a.work, p, recs[:0])
		if err != nil {
			return err
		}
		hits, err := a.resolve(recs)
		if err != nil {
			return err
		}
		if a.cat.added {
			if err := a.saveCatalog(); err != nil {
				return err
			}
			a.cat.added = false
		}
		if err := writeHits(hitsName(a.work, p), hits); err != nil {
			return err
		}
		a.partsDone.Add(1)
		a.resolveProgress(int64(n))
	}
	return nil
}

// resolveProgress reports the lookup stage: requests done of the plan's,
// or partitions done of parts when the lookup makes no requests.
func (a *auditor) resolveProgress(parts int64) {
	if a.cfg.Progress == nil {
		return
	}
	p := Progress{Stage: StageResolve, Rows: a.rows, Resumed: a.resumed, Elapsed: time.Since(a.start)}
	if a.plan == nil || a.plan.Total() == 0 {
		p.Done, p.Total = a.partsDone.Load(), parts
		a.cfg.Progress(p)
		return
	}
	p.Done, p.Total = a.reqDone.Load(), a.plan.Total()
	if rl, ok := a.cfg.Lookup.(remoteLookup); ok {
		p.RPM = rl.PacedRPM()
	}
	left := float64(max(0, p.Total-p.Done))
	switch el := time.Since(a.resolveStart).Seconds(); {
	case p.RPM > 0:
		p.ETA = time.Duration(left / p.RPM * float64(time.Minute))
		if p.Done > 0 && el > 0 { // slower than the key's rate: the server bounds it
			p.ETA = max(p.ETA, time.Duration(left/(float64(p.Done)/el)*float64(time.Second)))
		}
	case p.Done > 0 && el > 0:
		p.ETA = time.Duration(left / (float64(p.Done) / el) * float64(time.Second))
	}
	a.cfg.Progress(p)
}

func compareRecords(x, y record) int {
	if x.kind != y.kind {
		return int(x.kind) - int(y.kind)
	}
	if c := bytes.Compare(x.hash[:], y.hash[:]); c != 0 {
		return c
	}
	if x.line != y.line {
		if x.line < y.line {
			return -1
		}
		return 1
	}
	return 0
}

// resolve looks up every distinct (kind, prefix) of recs once, with
// cfg.Concurrency lookups in flight, and returns the hits sorted by line.
func (a *auditor) resolve(recs []record) ([]hit, error) {
	if hr, ok := a.cfg.Lookup.(hashResolver); ok {
		return a.resolveByHash(hr, recs)
	}
	slices.SortFunc(recs, compareRecords)
	var groups []group
	for i := 0; i < len(recs); {
		j := i + 1
		pi := a.groupPrefix(&recs[i])
		for j < len(recs) && recs[j].kind == recs[i].kind && a.groupPrefix(&recs[j]) == pi {
			j++
		}
		groups = append(groups, group{i, j})
		i = j
	}
	a.lookups += int64(len(groups))
	workers := min(a.cfg.Concurrency, len(groups))
	var (
		next    atomic.Int64
		wg      sync.WaitGroup
		mu      sync.Mutex
		all     []hit
		firstEr error
		failed  atomic.Bool
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var entries []RangeEntry
			var local []hit
			var cr compactRange
			rl, _ := a.cfg.Lookup.(remoteLookup)
			for !failed.Load() {
				gi := int(next.Add(1) - 1)
				if gi >= len(groups) {
					break
				}
				g := recs[groups[gi].start:groups[gi].end]
				var err error
				if d := a.digits(g[0].kind); rl != nil && a.plan.ShortRoute {
					p := index.Prefix{Value: a.groupPrefix(&g[0]), Digits: d}
					if err = rl.compactRange(a.ctx, g[0].kind, p, &cr); err == nil {
						local = a.matchCompact(g, &cr, local)
					}
				} else if entries, err = a.cfg.Lookup.Range(a.ctx, g[0].kind, g[0].prefix(), entries[:0]); err == nil {
					local = a.match(g, entries, local)
				}
				a.reqDone.Add(1)
				if err == nil {
					err = a.ctx.Err()
				}
				if err != nil {
					mu.Lock()
					if firstEr == nil {
						firstEr = err
					}
					mu.Unlock()
					failed.Store(true)
					break
				}
			}
			mu.Lock()
			all = append(all, local...)
			mu.Unlock()
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	tick := time.NewTicker(250 * time.Millisecond)
	for waiting := true; waiting; {
		select {
		case <-done:
			waiting = false
		case <-tick.C:
			if a.plan != nil && a.plan.Total() > 0 {
				a.resolveProgress(0)
			}
		}
	}
	tick.Stop()
	if firstEr != nil {
		return nil, firstEr
	}
	sortHits(all)
	return all, nil
}

// match appends a hit for every record of g (sorted by hash) whose full
// hash is in entries. Entries matching nothing (decoys) are ignored.
func (a *auditor) match(g []record, entries []RangeEntry, dst []hit) []hit {
	for i := range entries {
		e := &entries[i]
		if len(e.Breaches) == 0 {
			continue
		}
		j, found := slices.BinarySearchFunc(g, e.Hash, func(r record, h index.Hash) int {
			return bytes.Compare(r.hash[:], h[:])
		})
		if !found {
			continue
		}
		ids := make([]uint32, 0, len(e.Breaches))
		for _, name := range e.Breaches {
			ids = append(ids, a.cat.index(name))
		}
		slices.Sort(ids)
		ids = slices.Compact(ids)
		for ; j < len(g) && g[j].hash == e.Hash; j++ {
			dst = append(dst, hit{line: g[j].line, kinds: kindBit(g[j].kind), breaches: ids})
		}
	}
	return dst
}

// digits is the plan's prefix length for kind k (6 without a plan).
func (a *auditor) digits(k index.Kind) int {
	if a.plan == nil {
		return RangeDigits
	}
	return a.plan.Digits[kindSlot(k)]
}

// groupPrefix is the prefix a record is looked up by: its first
// a.digits(kind) hex digits.
func (a *auditor) groupPrefix(r *record) uint32 {
	return r.prefix() >> (4 * uint(RangeDigits-a.digits(r.kind)))
}

// matchCompact appends a hit for every record of g (sorted by hash) whose
// full hash is in c (sorted too): one merge of the two.
func (a *auditor) matchCompact(g []record, c *compactRange, dst []hit) []hit {
	ids := make([]int64, len(c.names)) // catalog index + 1 per name, 0 = not looked up
	i, j := 0, 0
	for i < len(g) && j < len(c.hashes) {
		switch d := bytes.Compare(g[i].hash[:], c.hashes[j][:]); {
		case d < 0:
			i++
		case d > 0:
			j++
		default:
			var bs []uint32
			for _, x := range c.breaches(j) {
				if ids[x] == 0 {
					ids[x] = int64(a.cat.index(c.names[x])) + 1
				}
				bs = append(bs, uint32(ids[x]-1))
			}
			slices.Sort(bs)
			bs = slices.Compact(bs)
			for ; i < len(g) && g[i].hash == c.hashes[j]; i++ {
				dst = append(dst, hit{line: g[i].line, kinds: kindBit(g[i].kind), breaches: bs})
			}
			j++
		}
	}
	return dst
}

// hitsFooter ends every hits file: a magic number and the CRC-32 of the
// records before it.
const hitsFooterSize = 8

var hitsMagic = [4]byte{'P', 'W', 'X', 'H'}

// writeHits writes a partition's hits atomically: line (8 bytes), kinds
// (1), count (2), then count catalog indices (4 each), big-endian, then
// the footer. The file is not fsynced: a file torn by a power loss fails
// validHits and the partition is resolved again.
func writeHits(path string, hits []hit) error {
	var buf []byte
	for _, h := range hits {
		buf = binary.BigEndian.AppendUint64(buf, h.line)
		buf = append(buf, h.kinds)
		buf = binary.BigEndian.AppendUint16(buf, uint16(min(len(h.breaches), 0xffff)))
		for _, id := range h.breaches[:min(len(h.breaches), 0xffff)] {
			buf = binary.BigEndian.AppendUint32(buf, id)
		}
	}
	buf = append(buf, hitsMagic[:]...)
	buf = binary.BigEndian.AppendUint32(buf, crc32.ChecksumIEEE(buf[:len(buf)-4]))
	return writeFileNoSync(path, buf)
}

// validHits reports whether path is a complete hits file.
func validHits(path string) bool {
	data, err := os.ReadFile(path)
	if err != nil || len(data) < hitsFooterSize {
		return false
	}
	n := len(data) - hitsFooterSize
	// The CRC covers the records, not the magic (see writeHits).
	return [4]byte(data[n:n+4]) == hitsMagic && binary.BigEndian.Uint32(data[n+4:]) == crc32.ChecksumIEEE(data[:n])
}

var errHits = errors.New("corrupt hits file")

func hitsError(p int, err error) error { return fmt.Errorf("audit: hits partition %d: %w", p, err) }
