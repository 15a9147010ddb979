// Package partition chooses the key ranges of the reducers from samples of
// the sorted runs, and tells a reducer its range. It does no I/O, so that
// the scheduler can use it directly.
//
// Partition i of the cuts c holds the keys k with c[i-1] <= k < c[i]:
// partition 0 has no lower bound, partition len(c) no upper bound, and
// partitions past len(c) are empty. Keys compare as bytes.Compare, and a
// key's lines all go to one partition.
package partition

import (
	"bytes"
	"slices"
)

// MaxKey bounds a sample's key: a worker sends no more of a longer key, and
// the master keeps no more. A cut need not be a key that occurs, only a
// point between keys, so a long key's head serves; and a map task's status
// with all its samples stays far below protocol.MaxMessageSize.
const MaxKey = 1 << 10

// Sample is a key of a sorted run and the bytes of the run it stands for:
// from its line to the next sample's.
type Sample struct {
	Key   []byte
	Bytes int64
}

// Cuts returns at most reducers-1 cut keys, strictly ascending and never
// empty, that split the sampled keys of all runs into partitions of about
// equal bytes. With too few distinct keys it returns fewer cuts, and the
// last partitions are empty.
func Cuts(runs [][]Sample, reducers int) [][]byte {
	if reducers < 2 {
		return nil
	}
	var all []Sample
	for _, samples := range runs {
		all = append(all, samples...)
	}
	slices.SortFunc(all, func(a, b Sample) int { return bytes.Compare(a.Key, b.Key) })
	var total int64
	for _, s := range all {
		total += s.Bytes
	}
	var cuts [][]byte
	// Each partition aims at an equal share of what the earlier ones left,
	// so that one falling short of its share (a large key went on to the
	// next) does not leave the next overfull.
	end := total / int64(reducers)
	var before int64 // the bytes of the keys before key
	for i := 0; i < len(all) && len(cuts) < reducers-1; {
		key, first := all[i].Key, i == 0
		var bytesOf int64
		for ; i < len(all) && bytes.Equal(all[i].Key, key); i++ {
			bytesOf += all[i].Bytes
		}
		// Cut before key if more than half of it lies past the current
		// partition's end; never before the least key, which would leave
		// partition 0 empty (and could be the empty key).
		if !first && before+bytesOf/2 >= end {
			cuts = append(cuts, bytes.Clone(key))
			end = before + (total-before)/int64(reducers-len(cuts))
		}
		before += bytesOf
	}
	return cuts
}

// Range returns partition i's bounds for the cuts: lo is nil for
// partition 0 (no lower bound), hi is nil for partition len(cuts) (no
// upper bound), and empty is true for a partition past those, or a
// negative i.
func Range(cuts [][]byte, i int) (lo, hi []byte, empty bool) {
	if i < 0 || i > len(cuts) {
		return nil, nil, true
	}
	if i > 0 {
		lo = cuts[i-1]
	}
	if i < len(cuts) {
		hi = cuts[i]
	}
	return lo, hi, false
}
