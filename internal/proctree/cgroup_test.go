package proctree

import "testing"

// TestCgroupDir: the process's cgroup directory is found under the cgroup2
// mount, in unified and hybrid hierarchies, in a cgroup namespace and under
// a mount of a subtree; there is none without a cgroup2 mount or a 0:: line.
func TestCgroupDir(t *testing.T) {
	hybrid := "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n" +
		"32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n" +
		"41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
	unified := "30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate\n"
	for _, c := range []struct {
		name, self, mounts, want string
	}{
		{"hybrid, root", "1:cpu:/\n0::/\n", hybrid, "/sys/fs/cgroup/unified"},
		{"unified", "0::/system.slice/worker.service\n", unified, "/sys/fs/cgroup/system.slice/worker.service"},
		{"subtree mounted", "0::/a/b\n", "30 23 0:26 /a /mnt/cg\\040x rw - cgroup2 cgroup2 rw\n", "/mnt/cg x/b"},
		{"outside the mount", "0::/c\n", "30 23 0:26 /a /mnt/cg rw - cgroup2 cgroup2 rw\n", ""},
		{"no cgroup2 mount", "0::/\n", "31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n", ""},
		{"cgroup v1 only", "1:cpu:/\n", hybrid, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := cgroupDir(c.self, c.mounts)
			if got != c.want || (err == nil) != (c.want != "") {
				t.Errorf("cgroupDir = %q, %v; want %q", got, err, c.want)
			}
		})
	}
}
