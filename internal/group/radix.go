package group

import "slices"

// Sorting a chunk's entries. A comparison sort reads the arena whenever two
// prefixes tie, and an entry's line lies anywhere in a chunk of hundreds
// of megabytes: out of cache. Most of the order is in the prefixes,
// though, so the entries are first put in order of their prefixes, one
// byte at a time, in place (an MSD radix sort: count each byte value, then
// swap every entry into its byte's bucket), which reads only the entries.
// Entries whose prefixes tie in all 8 bytes with keys longer than 7 bytes
// take the prefix of their keys' next bytes, read from the arena once
// each, and are radix sorted again by it. Only small buckets, and lines
// of equal keys, are ordered by comparing lines.
//
// c.compare stays right on entries whose prefixes are those of their keys
// from byte k on, when the keys are equal before k: it compares prefixes,
// then the keys from byte 7 (equal before), then the rest of the lines.

// radixCutoff is the bucket size below which a comparison sort is faster
// than another counting pass.
const radixCutoff = 64

// radixSort orders es by Compare.
func (c *chunk) radixSort(es []entry) { c.radixFrom(es, 0, 0) }

// radixFrom orders es, whose prefixes are those of their keys from byte
// from on (the keys being equal before it), and equal in their first
// depth bytes.
func (c *chunk) radixFrom(es []entry, depth, from int) {
	for len(es) >= radixCutoff && depth < 8 {
		shift := 56 - 8*depth
		var count [256]int
		for _, e := range es {
			count[byte(e.prefix>>shift)]++
		}
		if count[byte(es[0].prefix>>shift)] == len(es) {
			depth++ // every entry has this byte: on to the next one
			continue
		}
		// next[b] is where the next entry of byte b goes, end[b] where
		// bucket b ends.
		var next, end [256]int
		at := 0
		for b, n := range count {
			next[b] = at
			at += n
			end[b] = at
		}
		for b := range 256 {
			for next[b] < end[b] {
				e := es[next[b]]
				// Swap e into its bucket until one of byte b comes here.
				for d := int(byte(e.prefix >> shift)); d != b; d = int(byte(e.prefix >> shift)) {
					es[next[d]], e = e, es[next[d]]
					next[d]++
				}
				es[next[b]] = e
				next[b]++
			}
		}
		start := 0
		for _, n := range count {
			if n > 1 {
				c.radixFrom(es[start:start+n], depth+1, from)
			}
			start += n
		}
		return
	}
	switch {
	case len(es) >= radixCutoff && es[0].prefix&0xff == 0xff:
		// Every prefix is the same, of keys longer than it describes.
		c.byNextBytes(es, from)
	case len(es) > 1:
		slices.SortFunc(es, c.compare)
	}
}

// byNextBytes orders es, whose prefixes are all the same, those of their
// keys from byte from on, keys longer than the 7 bytes the prefix
// describes: it radix sorts them on the prefixes of their keys from byte
// from+7 on, then puts the common prefix back.
func (c *chunk) byNextBytes(es []entry, from int) {
	prefix := es[0].prefix
	for i, e := range es {
		es[i].prefix = keyPrefix(c.line(e)[from+7 : c.keyLen(e)])
	}
	c.radixFrom(es, 0, from+7)
	for i := range es {
		es[i].prefix = prefix
	}
}
