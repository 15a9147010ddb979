// Package bytesize reads sizes such as 256MiB from flags.
package bytesize

import (
	"fmt"
	"strconv"
	"strings"
)

// Size is a flag value for a number of bytes, given as 268435456, 256MiB,
// 256M (also MiB), 1G, 512KiB...
type Size int64

var units = []struct {
	suffix string
	scale  int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
	{"KB", 1 << 10}, {"MB", 1 << 20}, {"GB", 1 << 30},
	{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1},
}

func (s *Size) Set(text string) error {
	t := strings.TrimSpace(text)
	scale := int64(1)
	for _, u := range units {
		if strings.HasSuffix(strings.ToUpper(t), strings.ToUpper(u.suffix)) {
			t, scale = strings.TrimSpace(t[:len(t)-len(u.suffix)]), u.scale
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/scale {
		return fmt.Errorf("%q is not a size: a number of bytes, or one with KiB, MiB or GiB (K, M, G, KB, MB and GB are the same units)", text)
	}
	*s = Size(n * scale)
	return nil
}

func (s *Size) String() string {
	switch n := int64(*s); {
	case n != 0 && n%(1<<30) == 0:
		return fmt.Sprintf("%dGiB", n>>30)
	case n != 0 && n%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", n>>20)
	case n != 0 && n%(1<<10) == 0:
		return fmt.Sprintf("%dKiB", n>>10)
	default:
		return strconv.FormatInt(n, 10)
	}
}

func (s *Size) Type() string { return "size" }
