package builder

import (
	"fmt"
	"hash/fnv"
	"testing"
)

// When the small wheels outgrow their layers and one more is added, only
// the wheels that go to the new layer move: every other layer keeps its
// wheels but those, so its cached blob is only missing what left.
func TestSmallGroupsGrowByMovingToTheNewGroup(t *testing.T) {
	var ws []WheelRef
	for i := range 40 {
		ws = append(ws, WheelRef{Name: fmt.Sprintf("pkg%02d", i), Size: 100})
	}
	groupOf := func(target int64) (map[string]int, int) {
		gs := smallGroups(ws, target, 8)
		m := map[string]int{}
		for i, g := range gs {
			for _, w := range g {
				m[w.Name] = i
			}
		}
		return m, len(gs)
	}
	before, n := groupOf(1400) // 4000 bytes: 3 groups
	after, m := groupOf(1000)  // 4 groups
	if n != 3 || m != 4 {
		t.Fatalf("%d and %d groups, want 3 and 4", n, m)
	}
	moved := 0
	for name, g := range before {
		if after[name] != g {
			moved++
			if after[name] != 3 {
				t.Errorf("%s moved from group %d to %d, want it kept or moved to the new group 3", name, g, after[name])
			}
		}
	}
	if moved == 0 || moved > len(ws)/2 {
		t.Errorf("%d of %d wheels moved to the new group, want some and at most half", moved, len(ws))
	}
}

// jumpHash keeps a key in its bucket or moves it to the new one as n grows.
func TestJumpHashMovesOnlyToTheNewBucket(t *testing.T) {
	for k := range 2000 {
		h := fnv.New64a()
		fmt.Fprintf(h, "key%d", k)
		key := h.Sum64()
		prev := jumpHash(key, 1)
		if prev != 0 {
			t.Fatalf("jumpHash(%d, 1) = %d", key, prev)
		}
		for n := 2; n <= 16; n++ {
			b := jumpHash(key, n)
			if b < 0 || b >= n || (b != prev && b != n-1) {
				t.Fatalf("key %d: bucket %d among %d, %d among %d", key, prev, n-1, b, n)
			}
			prev = b
		}
	}
}
