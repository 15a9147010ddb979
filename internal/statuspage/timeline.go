package statuspage

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"

	"mapreduce/internal/jobsummary"
	"mapreduce/internal/layout"
	"mapreduce/protocol"
)

// The timeline's geometry, in SVG pixels, and its bounds: a job of any
// size draws at most maxLanes lanes and about maxShapes bars and bins, so
// the page stays small (see the README's "Status page").
const (
	plotWidth   = 960.0
	labelWidth  = 130.0
	axisHeight  = 22.0
	laneHeight  = 14.0
	barHeight   = 10.0
	maxLanes    = 200
	maxShapes   = 2500
	maxBins     = 120 // per lane, when a lane is binned
	maxLaneBars = 120 // attempts a lane draws one by one
	// maxMarked bounds the marked attempts (not plain finished ones) drawn
	// one by one in binned lanes.
	maxMarked = 500
)

// timeline is the SVG drawing of a job's attempts: one lane per worker
// and attempt it held at once, one bar per attempt, or per bin where a
// lane holds too many.
type timeline struct {
	Width, Height float64
	Lanes         []lane
	Ticks         []tick
	Bars          []bar
	Bins          []bin
	// Attempts counts every attempt; Binned those drawn as bins, not
	// bars; MarkedLeft the marked attempts of binned lanes not drawn;
	// LanesLeft the lanes not drawn, and AttemptsLeft their attempts.
	Attempts, Binned, MarkedLeft, LanesLeft, AttemptsLeft int
}

// lane is one lane of one worker.
type lane struct {
	Y      float64
	TextY  float64
	Label  string
	Binned bool
}

type tick struct {
	X     float64
	Label string
}

// bar is one attempt. Class holds its stage, and its mark: failed,
// killed, lost, timed_out, retry, running; spec for a speculative copy.
type bar struct {
	X, Y, W float64
	Class   string
	Title   string
}

// bin is a stretch of a binned lane: Opacity is how busy the lane was,
// Class the stage that kept it busiest.
type bin struct {
	X, Y, W, Opacity float64
	Class            string
	Title            string
}

// placed is an attempt with its lane.
type placed struct {
	task    *protocol.TaskInfo
	index   int
	a       *protocol.AttemptInfo
	start   time.Duration
	end     time.Duration
	running bool
}

// drawTimeline lays out job's attempts as of now.
func drawTimeline(job protocol.JobInfo, now time.Time) timeline {
	origin := now
	if job.Started != nil {
		origin = *job.Started
	}
	span := now.Sub(origin)
	if job.Ended != nil {
		span = job.Ended.Sub(origin)
	}
	byWorker := map[int][]placed{}
	tl := timeline{}
	for k := range job.Tasks {
		t := &job.Tasks[k]
		for i := range t.Attempts {
			a := &t.Attempts[i]
			p := placed{task: t, index: i, a: a, start: a.Start.Sub(origin), end: now.Sub(origin), running: a.End == nil}
			if a.End != nil {
				p.end = a.End.Sub(origin)
			}
			span = max(span, p.end)
			byWorker[a.WorkerPID] = append(byWorker[a.WorkerPID], p)
			tl.Attempts++
		}
	}
	span = max(span, time.Millisecond)
	scale := plotWidth / float64(span)
	x := func(d time.Duration) float64 { return round1(labelWidth + float64(max(d, 0))*scale) }
	lanes := slotLanes(byWorker)
	if len(lanes) > maxLanes {
		for _, l := range lanes[maxLanes:] {
			tl.LanesLeft++
			tl.AttemptsLeft += len(l.attempts)
		}
		lanes = lanes[:maxLanes]
	}
	// Each lane draws its attempts one by one, or bins: the bars of lanes
	// not binned, and the bins, come to maxShapes each at most.
	bins, laneBars := maxBins, maxLaneBars
	if len(lanes) > 0 {
		bins = max(10, min(maxBins, maxShapes/len(lanes)))
		laneBars = max(10, min(maxLaneBars, maxShapes/len(lanes)))
	}
	marked := 0
	for i, l := range lanes {
		y := axisHeight + float64(i)*laneHeight
		binned := len(l.attempts) > laneBars
		tl.Lanes = append(tl.Lanes, lane{Y: y, TextY: y + barHeight, Label: fmt.Sprintf("worker %d · %d", l.worker, l.slot+1), Binned: binned})
		if binned {
			tl.Binned += len(l.attempts)
			tl.Bins = append(tl.Bins, binLane(l.attempts, y, span, bins, x)...)
		}
		for _, p := range l.attempts {
			class := attemptClass(p)
			if binned && class == p.task.Phase {
				continue // plain: its bin shows it
			}
			if binned && marked >= maxMarked {
				tl.MarkedLeft++
				continue
			}
			if binned {
				marked++
			}
			tl.Bars = append(tl.Bars, bar{X: x(p.start), Y: y + (laneHeight-barHeight)/2, W: max(round1(float64(p.end-p.start)*scale), 1),
				Class: class, Title: attemptTitle(p)})
		}
	}
	tl.Width = labelWidth + plotWidth + 10
	tl.Height = axisHeight + float64(len(lanes))*laneHeight + 4
	tl.Ticks = ticks(span, x)
	return tl
}

// slotLane is one lane of a worker and the attempts it ran.
type slotLane struct {
	worker, slot int
	attempts     []placed
}

// slotLanes puts each worker's attempts into lanes: an attempt takes the
// first lane free when it starts. The master does not know a worker's
// slots, nor which ran an attempt: a worker has as many lanes as it held
// attempts at once, those its slots ran and those it queued for them.
func slotLanes(byWorker map[int][]placed) []slotLane {
	var lanes []slotLane
	for _, pid := range slices.Sorted(maps.Keys(byWorker)) {
		attempts := byWorker[pid]
		slices.SortStableFunc(attempts, func(a, b placed) int { return cmp.Compare(a.start, b.start) })
		var free []time.Duration // when each slot is free again
		first := len(lanes)
		for _, p := range attempts {
			slot := slices.IndexFunc(free, func(f time.Duration) bool { return f <= p.start })
			if slot < 0 {
				slot = len(free)
				free = append(free, 0)
				lanes = append(lanes, slotLane{worker: pid, slot: slot})
			}
			free[slot] = p.end
			lanes[first+slot].attempts = append(lanes[first+slot].attempts, p)
		}
	}
	return lanes
}

// binLane cuts a lane's time into n bins and shades each by how busy the
// slot was in it, in the colour of the stage that kept it busiest.
func binLane(attempts []placed, y float64, span time.Duration, n int, x func(time.Duration) float64) []bin {
	width := span / time.Duration(n)
	if width <= 0 {
		width = 1
	}
	type acc struct {
		busy    map[string]time.Duration
		count   int
		phases  map[string]int
		started bool
	}
	accs := make([]acc, n)
	for _, p := range attempts {
		for b := max(0, int(p.start/width)); b < n && time.Duration(b)*width < p.end; b++ {
			lo, hi := max(p.start, time.Duration(b)*width), min(p.end, time.Duration(b+1)*width)
			if !accs[b].started {
				accs[b] = acc{busy: map[string]time.Duration{}, phases: map[string]int{}, started: true}
			}
			accs[b].busy[p.task.Phase] += max(hi-lo, 0)
			if p.start >= time.Duration(b)*width {
				accs[b].count++
				accs[b].phases[p.task.Phase]++
			}
		}
	}
	var bins []bin
	for b, a := range accs {
		if !a.started {
			continue
		}
		total, top := time.Duration(0), ""
		for _, ph := range protocol.Phases {
			total += a.busy[ph]
			if top == "" || a.busy[ph] > a.busy[top] {
				top = ph
			}
		}
		lo := time.Duration(b) * width
		busy := math.Min(1, float64(total)/float64(width))
		bins = append(bins, bin{X: x(lo), Y: y + (laneHeight-barHeight)/2, W: max(round1(x(lo+width)-x(lo)), 1),
			Opacity: round2(math.Max(0.15, busy)), Class: top,
			Title: fmt.Sprintf("%s–%s: %d attempts began (%s); busy %.0f%%", jobsummary.Duration(lo), jobsummary.Duration(lo+width),
				a.count, phaseCounts(a.phases), 100*busy)})
	}
	return bins
}

func phaseCounts(counts map[string]int) string {
	s := ""
	for _, ph := range protocol.Phases {
		if counts[ph] > 0 {
			if s != "" {
				s += ", "
			}
			s += fmt.Sprintf("%s %d", ph, counts[ph])
		}
	}
	if s == "" {
		return "none"
	}
	return s
}

// attemptClass is a bar's classes: its stage, then its mark if any.
func attemptClass(p placed) string {
	class := p.task.Phase
	if m := mark(p.a.Outcome, p.running); m != "" {
		class += " " + m
	}
	if jobsummary.Speculative(*p.task, p.index) {
		class += " spec"
	}
	return class
}

// mark names how an attempt that did not simply finish ended.
func mark(outcome string, running bool) string {
	switch outcome {
	case "":
		if running {
			return "running"
		}
		return ""
	case "finished":
		return ""
	case "cancelled", "superseded":
		return "killed"
	case "worker_dead", "lost":
		return "lost"
	}
	return outcome // failed, timed_out, retry
}

// outcomeWords says how an attempt ended, for a person.
var outcomeWords = map[string]string{
	"finished":    "finished",
	"failed":      "failed",
	"worker_dead": "lost: its worker died",
	"lost":        "lost: its worker never had it",
	"cancelled":   "killed: its job ended",
	"superseded":  "killed: another copy finished first",
	"timed_out":   "timed out",
	"retry":       "an input was missing; run again",
}

func attemptTitle(p placed) string {
	outcome := cmp.Or(outcomeWords[p.a.Outcome], p.a.Outcome)
	if p.running {
		outcome = "running"
	}
	spec := ""
	if jobsummary.Speculative(*p.task, p.index) {
		spec = ", speculative copy"
	}
	return fmt.Sprintf("%s attempt %d on worker %d: %s from %s, %s%s", layout.TaskName(p.task.Phase, p.task.Index), p.index+1,
		p.a.WorkerPID, jobsummary.Duration(p.end-p.start), jobsummary.Duration(p.start), outcome, spec)
}

// ticks marks the time axis every 1, 2 or 5 times a power of ten
// seconds, ten marks at most.
func ticks(span time.Duration, x func(time.Duration) float64) []tick {
	step := time.Millisecond
	for p := time.Millisecond; span/step > 10; p *= 10 {
		for _, m := range []time.Duration{1, 2, 5} {
			if step = m * p; span/step <= 10 {
				break
			}
		}
	}
	var ts []tick
	for d := time.Duration(0); d <= span; d += step {
		ts = append(ts, tick{X: x(d), Label: jobsummary.Duration(d)})
	}
	return ts
}

func round1(v float64) float64 { return math.Round(v*10) / 10 }
func round2(v float64) float64 { return math.Round(v*100) / 100 }
