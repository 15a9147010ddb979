package scheduler

import (
	"strings"
	"testing"
)

// TestValidateExclusion: the settings of worker exclusion must make sense.
func TestValidateExclusion(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("default config: %v", err)
	}
	for _, tc := range []struct {
		name string
		set  func(*Config)
		want string
	}{
		{"no failures", func(c *Config) { c.ExcludeAfter = 0 }, "--exclude-after"},
		{"no window", func(c *Config) { c.ExcludeWindow = 0 }, "--exclude-window"},
		{"negative exclusion", func(c *Config) { c.ExcludeFor = -1 }, "--exclude-for"},
	} {
		cfg := DefaultConfig()
		tc.set(&cfg)
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error about %s", tc.name, err, tc.want)
		}
	}
}
