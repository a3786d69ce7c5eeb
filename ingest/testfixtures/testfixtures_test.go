package testfixtures

import "testing"

// TestFixtures checks that every response fixture has an entry in
// expected.json and every entry a fixture.
func TestFixtures(t *testing.T) {
	exp := Expected(t)
	names := ResponseNames(t)
	for _, n := range names {
		if _, ok := exp[n]; !ok {
			t.Errorf("%s is not in expected.json", n)
		}
	}
	if len(exp) != len(names) {
		t.Errorf("expected.json has %d entries for %d response fixtures", len(exp), len(names))
	}
	if len(Read(t, "otlp/openinference-js-anthropic-traces.pb")) == 0 {
		t.Error("the OpenInference capture is empty")
	}
}
