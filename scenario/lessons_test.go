package scenario

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"skbscope/stack/trace"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func runLesson(t *testing.T, name string) *trace.Trace {
	t.Helper()
	tr, err := Run(name)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func jsonOf(t *testing.T, tr *trace.Trace) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := tr.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestGolden compares each lesson's JSON trace with the recorded one, and
// its SHA-256 with the recorded hash. The hash file is what the wasm run
// under node checks too, so native and wasm must produce the same bytes.
func TestGolden(t *testing.T) {
	for _, l := range Lessons() {
		t.Run(l.Name, func(t *testing.T) {
			tr := runLesson(t, l.Name)
			got := jsonOf(t, tr)
			whole, err := json.Marshal(tr) // events and skb snapshots
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(whole)
			hash := hex.EncodeToString(sum[:]) + "\n"
			gold := filepath.Join("testdata", l.Name+".golden.jsonl")
			hashFile := filepath.Join("testdata", l.Name+".sha256")
			if *update {
				// Big traces keep only their hash; the readable copy is
				// for diffs of lessons small enough to review.
				if len(got) < 1<<20 {
					if err := os.WriteFile(gold, got, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				if err := os.WriteFile(hashFile, []byte(hash), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(hashFile)
			if err != nil {
				t.Fatalf("%v (run go test ./scenario -update natively to record it)", err)
			}
			if hash != string(want) {
				if wantJSON, err := os.ReadFile(gold); err == nil {
					t.Errorf("first difference: %s", firstDiff(wantJSON, got))
				}
				t.Fatalf("trace hash %s, want %s", strings.TrimSpace(hash), strings.TrimSpace(string(want)))
			}
		})
	}
}

func firstDiff(a, b []byte) string {
	al, bl := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := 0; i < len(al) && i < len(bl); i++ {
		if al[i] != bl[i] {
			return fmt.Sprintf("line %d:\n  want %s\n  got  %s", i+1, al[i], bl[i])
		}
	}
	return "length differs"
}

// TestDeterministic runs a lesson twice in one process: the traces must
// be byte for byte the same.
func TestDeterministic(t *testing.T) {
	a := jsonOf(t, runLesson(t, "udp-sendto"))
	b := jsonOf(t, runLesson(t, "udp-sendto"))
	if !bytes.Equal(a, b) {
		t.Fatal("two runs of udp-sendto differ")
	}
}
