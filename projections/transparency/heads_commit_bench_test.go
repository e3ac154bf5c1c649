package transparency

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the process's CPU time so far (user and system, every thread: GC included).
func cpuTime() time.Duration {
	var u syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &u)
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}

// BenchmarkHeadsCommit: the CPU work of a checkpoint's heads root with 100k and 600k streams
// after 1000 events (half to existing streams, half creating streams): the incremental commit
// (only moved buckets and their paths re-hashed) against a full re-hash of every head, the
// two alternating in each of 3 rounds. Run with -benchtime=1x.
func BenchmarkHeadsCommit(b *testing.B) {
	for _, streams := range []int{100_000, 600_000} {
		b.Run(fmt.Sprintf("streams=%d", streams), func(b *testing.B) {
			r := rand.New(rand.NewPCG(7, uint64(streams)))
			leaf := make([]byte, 32)
			hs := newHeadSet()
			var idx uint64
			add := func(stream int) {
				idx++
				hs.set(Head{StreamID: fmt.Sprintf("document-%08d", stream), Version: 1 + idx%5, Index: idx, LeafHash: leaf})
			}
			for i := range streams {
				add(i)
			}
			hs.commit()
			next := streams
			var inc, full, ratio, incCPU, fullCPU []float64
			for round := range 3 {
				for i := range 2 {
					if (round+i)%2 == 0 {
						for j := range 1000 {
							if j%2 == 0 {
								add(r.IntN(next))
							} else {
								add(next)
								next++
							}
						}
						t0, c0 := time.Now(), cpuTime()
						hs.commit()
						inc = append(inc, float64(time.Since(t0).Microseconds())/1000)
						incCPU = append(incCPU, float64((cpuTime()-c0).Microseconds())/1000)
					} else {
						t0, c0 := time.Now(), cpuTime()
						fresh := newHeadSet()
						for _, bk := range hs.buckets {
							for _, h := range bk.heads {
								fresh.set(h)
							}
						}
						fresh.commit()
						full = append(full, float64(time.Since(t0).Microseconds())/1000)
						fullCPU = append(fullCPU, float64((cpuTime()-c0).Microseconds())/1000)
					}
				}
			}
			for i := range inc {
				ratio = append(ratio, 100*inc[i]/full[i])
			}
			med := func(s []float64) string {
				c := slices.Clone(s)
				slices.Sort(c)
				return fmt.Sprintf("%.2f (%.2f–%.2f)", c[len(c)/2], c[0], c[len(c)-1])
			}
			b.Logf("%d streams, ms per checkpoint's heads root after 1000 events: incremental %s, full re-hash %s; incremental/full %% %s; CPU ms (process): incremental %s, full %s",
				streams, med(inc), med(full), med(ratio), med(incCPU), med(fullCPU))
		})
	}
}
