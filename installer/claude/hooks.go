package claude

import (
	"encoding/json"
	"fmt"

	"github.com/sage-mcp/sage/installer/jsonfile"
	"github.com/sage-mcp/sage/shared/claudehooks"
)

// HooksKey is the settings.json key that holds the hooks.
const HooksKey = "hooks"

// AddHooks merges Sage's hooks for bridgePath into the settings document:
// for every event of claudehooks.Events, when the Sage entries there are
// not exactly claudehooks.Entries(bridgePath), the old Sage hooks are
// taken out and the right ones appended. Every other hook, matcher and
// setting stays where it is. created lists the containers it had to add
// ("hooks", "hooks.<Event>"), which RemoveHooks may drop again.
func AddHooks(d *Doc, bridgePath string) (changed bool, created []string, err error) {
	hooks, ok, err := d.Root.Object(HooksKey)
	if err != nil {
		return false, nil, fmt.Errorf("settings: %w", err)
	}
	if !ok {
		hooks = jsonfile.NewObject()
		created = append(created, HooksKey)
	}
	entries := claudehooks.Entries(bridgePath)
	for _, ev := range claudehooks.Events {
		want := make([]json.RawMessage, 0, len(entries[ev]))
		for _, m := range entries[ev] {
			b, err := jsonfile.Marshal(m)
			if err != nil {
				return false, nil, err
			}
			want = append(want, b)
		}
		groups, ok, err := hooks.Array(ev)
		if err != nil {
			return false, nil, fmt.Errorf("settings: hooks: %w", err)
		}
		if !ok {
			created = append(created, HooksKey+"."+ev)
		}
		if ok && sageGroupsEqual(groups, want) {
			continue
		}
		kept, _, err := removeSage(groups)
		if err != nil {
			return false, nil, fmt.Errorf("settings: hooks.%s: %w", ev, err)
		}
		if err := hooks.SetValue(ev, append(kept, want...)); err != nil {
			return false, nil, err
		}
		changed = true
	}
	if !changed {
		return false, nil, nil
	}
	return true, created, d.Root.SetValue(HooksKey, hooks)
}

// RemoveHooks takes every Sage hook (claudehooks.IsSage) out of the
// settings document. A matcher left without hooks goes; an event list, and
// then the "hooks" object, left empty go when drop says so (drop receives
// "hooks.<Event>" or "hooks"; nil drops every emptied container).
func RemoveHooks(d *Doc, drop func(container string) bool) (bool, error) {
	if drop == nil {
		drop = func(string) bool { return true }
	}
	hooks, ok, err := d.Root.Object(HooksKey)
	if err != nil || !ok {
		return false, err
	}
	changed := false
	for _, ev := range hooks.Keys() {
		groups, _, err := hooks.Array(ev)
		if err != nil {
			return false, fmt.Errorf("settings: hooks: %w", err)
		}
		kept, removed, err := removeSage(groups)
		if err != nil {
			return false, fmt.Errorf("settings: hooks.%s: %w", ev, err)
		}
		if !removed {
			continue
		}
		changed = true
		if len(kept) == 0 && drop(HooksKey+"."+ev) {
			hooks.Delete(ev)
			continue
		}
		if kept == nil {
			kept = []json.RawMessage{}
		}
		if err := hooks.SetValue(ev, kept); err != nil {
			return false, err
		}
	}
	if !changed {
		return false, nil
	}
	if hooks.Len() == 0 && drop(HooksKey) {
		d.Root.Delete(HooksKey)
		return true, nil
	}
	return true, d.Root.SetValue(HooksKey, hooks)
}

// CountHooks returns, per event, how many Sage hook commands the settings
// hold.
func CountHooks(d *Doc) (map[string]int, error) {
	out := map[string]int{}
	hooks, ok, err := d.Root.Object(HooksKey)
	if err != nil || !ok {
		return out, err
	}
	for _, ev := range hooks.Keys() {
		groups, _, err := hooks.Array(ev)
		if err != nil {
			return nil, err
		}
		for _, g := range groups {
			var m struct {
				Hooks []struct {
					Command string `json:"command"`
				} `json:"hooks"`
			}
			if json.Unmarshal(g, &m) != nil {
				continue
			}
			for _, h := range m.Hooks {
				if claudehooks.IsSage(h.Command) {
					out[ev]++
				}
			}
		}
	}
	return out, nil
}

// sageGroupsEqual reports whether the matchers of groups that hold Sage
// hooks are exactly want, and hold nothing but Sage hooks.
func sageGroupsEqual(groups, want []json.RawMessage) bool {
	var sage []json.RawMessage
	for _, g := range groups {
		n, total, err := countSage(g)
		if err != nil {
			return false
		}
		if n > 0 {
			if n != total {
				return false
			}
			sage = append(sage, g)
		}
	}
	if len(sage) != len(want) {
		return false
	}
	for i := range sage {
		if !jsonfile.Equal(sage[i], want[i]) {
			return false
		}
	}
	return true
}

// countSage counts the Sage hooks in one matcher group, and all its hooks.
func countSage(group json.RawMessage) (sage, total int, err error) {
	obj, err := jsonfile.ParseObject(group)
	if err != nil {
		return 0, 0, nil // not a matcher object: not ours, leave it
	}
	hs, ok, err := obj.Array("hooks")
	if err != nil || !ok {
		return 0, 0, nil
	}
	for _, h := range hs {
		total++
		var c struct {
			Command string `json:"command"`
		}
		if json.Unmarshal(h, &c) == nil && claudehooks.IsSage(c.Command) {
			sage++
		}
	}
	return sage, total, nil
}

// removeSage drops the Sage hooks from every matcher group; a group left
// with no hooks goes. Groups without Sage hooks are kept byte for byte.
func removeSage(groups []json.RawMessage) (kept []json.RawMessage, removed bool, err error) {
	for _, g := range groups {
		n, _, _ := countSage(g)
		if n == 0 {
			kept = append(kept, g)
			continue
		}
		removed = true
		obj, err := jsonfile.ParseObject(g)
		if err != nil {
			return nil, false, err
		}
		hs, _, err := obj.Array("hooks")
		if err != nil {
			return nil, false, err
		}
		var left []json.RawMessage
		for _, h := range hs {
			var c struct {
				Command string `json:"command"`
			}
			if json.Unmarshal(h, &c) == nil && claudehooks.IsSage(c.Command) {
				continue
			}
			left = append(left, h)
		}
		if len(left) == 0 {
			continue
		}
		if err := obj.SetValue("hooks", left); err != nil {
			return nil, false, err
		}
		b, err := obj.MarshalJSON()
		if err != nil {
			return nil, false, err
		}
		kept = append(kept, b)
	}
	return kept, removed, nil
}
