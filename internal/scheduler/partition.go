package scheduler

// Partition splits items into at most n parts, round-robin, so that part
// sizes differ by at most one and no part is empty: 5 files in 4 parts give
// three parts of one file and one of two.
func Partition(items []string, n int) [][]string {
	n = min(n, len(items))
	if n <= 0 {
		return nil
	}
	parts := make([][]string, n)
	for i, item := range items {
		parts[i%n] = append(parts[i%n], item)
	}
	return parts
}
