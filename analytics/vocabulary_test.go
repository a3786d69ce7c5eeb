package analytics

import (
	"regexp"
	"strings"
	"testing"
)

// keyRE is what a vocabulary key must look like: it names SQL columns,
// CSS classes and URL segments.
var keyRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

func TestVocabularyTables(t *testing.T) {
	seen := map[string]string{}
	key := func(table, k string) {
		t.Helper()
		if !keyRE.MatchString(k) {
			t.Errorf("%s key %q is not lower_snake_case", table, k)
		}
		if other, ok := seen[table+":"+k]; ok {
			t.Errorf("%s key %q is declared twice (%s)", table, k, other)
		}
		seen[table+":"+k] = table
	}
	advice := func(what string, a Advice) {
		t.Helper()
		if a.Text == "" || a.Source.Title == "" || a.Source.Section == "" || !strings.HasPrefix(a.Source.URL, "https://") {
			t.Errorf("%s: advice or its source is missing: %+v", what, a)
		}
	}
	colour := func(what string, c Colour) {
		t.Helper()
		if !regexp.MustCompile(`^#[0-9a-fA-F]{6}$`).MatchString(c.Light) || (c.Dark != "" && !regexp.MustCompile(`^#[0-9a-fA-F]{6}$`).MatchString(c.Dark)) {
			t.Errorf("%s: colour %+v is not #rrggbb", what, c)
		}
	}
	for _, i := range append(append([]StopReasonInfo{}, StopReasonTable...), StopNullInfo, StopUnknownInfo) {
		key("stop reason", i.Key())
		if i.Label == "" || i.Meaning == "" {
			t.Errorf("stop reason %s has no label or meaning", i.Key())
		}
		colour("stop reason "+i.Key(), i.Colour)
		advice("stop reason "+i.Key(), i.Advice)
		for _, f := range i.Raises {
			if !f.Valid() {
				t.Errorf("stop reason %s raises unknown flag %q", i.Key(), f)
			}
		}
	}
	bits := map[uint8]Flag{}
	for _, i := range FlagTable {
		key("flag", string(i.Flag))
		if i.Label == "" || i.Meaning == "" {
			t.Errorf("flag %s has no label or meaning", i.Flag)
		}
		colour("flag "+string(i.Flag), i.Colour)
		advice("flag "+string(i.Flag), i.Advice)
		if i.Bit >= 32 {
			t.Errorf("flag %s: bit %d does not fit in Flags", i.Flag, i.Bit)
		}
		if other, ok := bits[i.Bit]; ok {
			t.Errorf("flags %s and %s share bit %d", other, i.Flag, i.Bit)
		}
		bits[i.Bit] = i.Flag
	}
	for _, i := range CauseTable {
		key("cause", string(i.Cause))
		if i.Label == "" || i.Meaning == "" || !i.Flag.Valid() {
			t.Errorf("cause %s has no label, meaning or valid flag", i.Cause)
		}
		colour("cause "+string(i.Cause), i.Colour)
		advice("cause "+string(i.Cause), i.Advice)
	}
	for _, i := range KindTable {
		key("kind", string(i.Kind))
		if i.Label == "" || i.Meaning == "" {
			t.Errorf("kind %s has no label or meaning", i.Kind)
		}
		if i.Class() != "" {
			colour("kind "+string(i.Kind), i.Colour)
		}
	}
	for _, i := range AgentSubtypeTable {
		key("subtype", i.Subtype)
		if i.Subtype != SubtypeSuccess {
			advice("subtype "+i.Subtype, i.Advice)
		}
	}
	// Rollup columns are named by flag and cause keys: they must not meet.
	for _, c := range CauseTable {
		if Flag(c.Cause).Valid() {
			t.Errorf("cause %s has the name of a flag", c.Cause)
		}
	}
}

// TestFlagBitsStay pins the bits of the flags existing databases hold:
// changing one would misread every stored record.
func TestFlagBitsStay(t *testing.T) {
	for f, bit := range map[Flag]Flags{
		FlagEmptyTurn: 1 << 0, FlagTruncated: 1 << 1, FlagRefusal: 1 << 2,
		FlagIncompleteStream: 1 << 3, FlagUnknownStopReason: 1 << 4,
	} {
		if Bit(f) != bit {
			t.Errorf("flag %s is stored at mask %#x, want %#x", f, Bit(f), bit)
		}
	}
}

func TestDerivedLists(t *testing.T) {
	// An append to a derived list must not write into the table's.
	if cap(KnownStopReasons) != len(KnownStopReasons) || cap(AllFlags) != len(AllFlags) || cap(Kinds) != len(Kinds) {
		t.Error("a derived list has spare capacity")
	}
	for i, r := range KnownStopReasons {
		if StopReasonTable[i].Reason != r || !r.Known() || StopReasonInfoOf(r).Class() != "sr-"+string(r) {
			t.Errorf("KnownStopReasons[%d] = %s does not follow the table", i, r)
		}
	}
	if StopReason("nope").Known() || StopReasonInfoOf("nope").Class() != "sr-unknown" || StopReasonInfoOf(StopNull).Class() != "sr-null" {
		t.Error("unknown or null stop reasons are not told apart")
	}
	var all Flags
	for _, f := range AllFlags {
		all = all.With(f)
	}
	if all != FlagMask || len(all.List()) != len(FlagTable) {
		t.Errorf("the mask of every flag is %#x, FlagMask %#x", all, FlagMask)
	}
	var c Counts
	for _, f := range AllFlags {
		c = c.WithFlag(f, 2)
	}
	c.Add(CountsOf(&Record{Flags: FlagMask, Causes: AllCauses}))
	for _, f := range AllFlags {
		if c.Flag(f) != 3 {
			t.Errorf("count of %s = %d, want 3", f, c.Flag(f))
		}
	}
	for _, k := range AllCauses {
		if c.Cause(k) != 1 {
			t.Errorf("count of cause %s = %d, want 1", k, c.Cause(k))
		}
	}
}
