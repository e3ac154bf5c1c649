// Package rounds runs throughput contenders interleaved, so that a machine's drift (other
// load, caches, autovacuum) falls on every contender alike: each round runs every contender
// once for the same time, and each round rotates the order. It reports each contender's
// median and range over the rounds, and paired ratios: a/b within each round, then the
// median and range of those.
package rounds

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Contender measures one way of doing the work: it runs for about d and returns its rate
// (operations per second).
type Contender struct {
	Name string
	Run  func(ctx context.Context, d time.Duration) (float64, error)
}

// Result holds each contender's rate per round, in the contenders' order.
type Result struct {
	Names []string
	Rates [][]float64 // [contender][round]
}

// Run runs rounds rounds of every contender for d each, rotating the order every round.
func Run(ctx context.Context, rounds int, d time.Duration, cs ...Contender) (Result, error) {
	res := Result{Rates: make([][]float64, len(cs))}
	for _, c := range cs {
		res.Names = append(res.Names, c.Name)
	}
	for r := range rounds {
		for k := range cs {
			i := (k + r) % len(cs)
			rate, err := cs[i].Run(ctx, d)
			if err != nil {
				return res, fmt.Errorf("%s, round %d: %w", cs[i].Name, r+1, err)
			}
			res.Rates[i] = append(res.Rates[i], rate)
		}
	}
	return res, nil
}

// Stat is a median with its range.
type Stat struct{ Median, Min, Max float64 }

func stat(xs []float64) Stat {
	if len(xs) == 0 {
		return Stat{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return Stat{Median: m, Min: s[0], Max: s[len(s)-1]}
}

func (r Result) index(name string) int { return slices.Index(r.Names, name) }

// Of is a contender's rate over the rounds.
func (r Result) Of(name string) Stat {
	if i := r.index(name); i >= 0 {
		return stat(r.Rates[i])
	}
	return Stat{}
}

// Ratio is a's rate over b's, paired within each round.
func (r Result) Ratio(a, b string) Stat {
	i, j := r.index(a), r.index(b)
	if i < 0 || j < 0 {
		return Stat{}
	}
	var xs []float64
	for k := range r.Rates[i] {
		if k < len(r.Rates[j]) && r.Rates[j][k] > 0 {
			xs = append(xs, r.Rates[i][k]/r.Rates[j][k])
		}
	}
	return stat(xs)
}

// Write prints every contender's median and range, then the ratio of each to base (paired by
// round), e.g. for `make bench` and `custody bench --compare`.
func (r Result) Write(w io.Writer, unit, base string) {
	rounds := 0
	if len(r.Rates) > 0 {
		rounds = len(r.Rates[0])
	}
	fmt.Fprintf(w, "%d interleaved rounds, order rotated each round; median (min–max)\n", rounds)
	width := 0
	for _, n := range r.Names {
		width = max(width, len(n))
	}
	for _, n := range r.Names {
		s := r.Of(n)
		line := fmt.Sprintf("  %-*s %10.0f %s (%.0f–%.0f)", width, n, s.Median, unit, s.Min, s.Max)
		if n != base && base != "" {
			q := r.Ratio(n, base)
			line += fmt.Sprintf("   ÷ %s %.2f (%.2f–%.2f)", base, q.Median, q.Min, q.Max)
		}
		fmt.Fprintln(w, strings.TrimRight(line, " "))
	}
}
