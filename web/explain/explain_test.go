//go:build !js

package explain

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"skbscope/scenario"
)

// maxRunes keeps a summary short enough to read on a projector.
const maxRunes = 400

// simplifiedOnly are common characters that exist only in simplified
// Chinese (their traditional forms differ); none may appear in zh-Hant.
const simplifiedOnly = "这发数据网络传输队处调设备驱动断软时间连为从进还应该关开简单们个过错误对无头缓区内写读说务标实现变换检测确认钟并转冲报帧协议栈层级线创删释复统计节点构体结" +
	"态将执环径获码类须邻项页题验载录阶丢"

// traditionalOnly are the traditional forms of common characters; none
// may appear in zh-Hans.
const traditionalOnly = "這發數據網絡傳輸隊處調設備驅動斷軟時間連為從進還應該關開簡單們個過錯誤對無頭緩區內寫讀說務標實現變換檢測確認鐘並轉衝報幀協議層級線創刪釋復複統計節點構體結"

func langs(t *testing.T) []string {
	t.Helper()
	if len(Langs) != 3 || Langs[0] != "en" {
		t.Fatalf("Langs = %v", Langs)
	}
	return Langs
}

// traced is a kernel function the model can put in a trace, and the Go
// file that declares it.
type traced struct{ Name, Src string }

// modelFuncs finds every kernel function the model traces: the trace
// names a function only through a kernel.Fn, and every kernel.Fn is made
// by kernel.NewFn with the name as a string literal, which the test
// insists on. It reads the source, so that the model keeps no registry
// (whose init code would grow app.wasm).
func modelFuncs(t *testing.T) []traced {
	t.Helper()
	var out []traced
	seen := map[string]bool{}
	fset := token.NewFileSet()
	for _, dir := range []string{"../../stack", "../../nicsim", "../../scenario"} {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			f, err := parser.ParseFile(fset, path, nil, 0)
			if err != nil {
				return err
			}
			ast.Inspect(f, func(n ast.Node) bool {
				if lit, ok := n.(*ast.CompositeLit); ok && isFnType(lit.Type) {
					t.Errorf("%s: a kernel.Fn literal: make it with NewFn, so this test sees it", fset.Position(lit.Pos()))
				}
				call, ok := n.(*ast.CallExpr)
				if !ok || !isNewFn(call.Fun) {
					return true
				}
				name, err := "", strconv.ErrSyntax
				if lit, ok := call.Args[0].(*ast.BasicLit); ok && lit.Kind == token.STRING {
					name, err = strconv.Unquote(lit.Value)
				}
				if err != nil {
					t.Errorf("%s: NewFn's name is not a string literal", fset.Position(call.Pos()))
					return true
				}
				if !seen[name] {
					seen[name] = true
					out = append(out, traced{name, fset.Position(call.Pos()).String()})
				}
				return true
			})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(out) < 100 {
		t.Fatalf("only %d functions found: has the model moved?", len(out))
	}
	return out
}

func isNewFn(e ast.Expr) bool {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name == "NewFn"
	case *ast.SelectorExpr:
		return e.Sel.Name == "NewFn"
	}
	return false
}

// isFnType reports a kernel.Fn type outside package kernel (whose NewFn
// makes them).
func isFnType(e ast.Expr) bool {
	s, ok := e.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	x, ok := s.X.(*ast.Ident)
	return ok && x.Name == "kernel" && s.Sel.Name == "Fn"
}

func TestEveryFunctionExplained(t *testing.T) {
	fns := modelFuncs(t)
	for _, lang := range langs(t) {
		for _, fn := range fns {
			txt, ok := Function(lang, fn.Name)
			if !ok || strings.TrimSpace(txt.Summary) == "" {
				t.Errorf("%s: no summary for %s (%s)", lang, fn.Name, fn.Src)
			}
		}
	}
}

// TestEveryTracedFunctionFound checks modelFuncs against the traces: a
// function in a lesson's trace that the source scan missed would escape
// TestEveryFunctionExplained.
func TestEveryTracedFunctionFound(t *testing.T) {
	found := map[string]bool{}
	for _, fn := range modelFuncs(t) {
		found[fn.Name] = true
	}
	for _, l := range scenario.Lessons() {
		tr, err := scenario.Run(l.Name)
		if err != nil {
			t.Fatalf("%s: %v", l.Name, err)
		}
		for _, e := range tr.Events {
			if e.Fn != "" && !found[e.Fn] {
				t.Errorf("%s: traces %s, which the source scan did not find", l.Name, e.Fn)
				found[e.Fn] = true
			}
		}
	}
}

// TestData checks that the merged file the page fetches holds exactly
// what the embedded files do.
func TestData(t *testing.T) {
	for _, lang := range Langs {
		b, err := Data(lang)
		if err != nil {
			t.Fatal(err)
		}
		f, err := decode(lang, []part{{DataPath(lang), b}})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(f, file(lang)) {
			t.Errorf("%s: the merged file differs from the embedded text", lang)
		}
		if !json.Valid(b) || len(f.Functions) < 100 {
			t.Errorf("%s: merged file of %d bytes, %d functions", lang, len(b), len(f.Functions))
		}
	}
	if _, err := Data("fr"); err == nil {
		t.Error("Data(fr) gave no error")
	}
	if err := Load("fr"); err == nil || Loaded("fr") {
		t.Error("Load(fr) gave no error")
	}
	if err := Load("zh-Hans"); err != nil || !Loaded("zh-Hans") {
		t.Errorf("Load(zh-Hans): %v", err)
	}
	if _, err := decode("en", []part{{"x", []byte(`{"lang":"zh-Hans"}`)}}); err == nil {
		t.Error("decode took a file of another language")
	}
	if _, err := decode("en", []part{{"x", []byte(`{"lang":"en","functions":{"a":"b"}}`)}, {"y", []byte(`{"lang":"en","functions":{"a":"c"}}`)}}); err == nil {
		t.Error("decode took a function explained twice")
	}
}

// TestNoStaleFunctions lists text for functions the model does not trace.
// It only logs: text may be written before the model code lands (as for
// TCP), but a function renamed in the model should be renamed here.
func TestNoStaleFunctions(t *testing.T) {
	known := map[string]bool{}
	for _, fn := range modelFuncs(t) {
		known[fn.Name] = true
	}
	for _, lang := range Langs {
		for name := range file(lang).Functions {
			if !known[name] {
				t.Logf("%s: text for %s, which the model does not trace (yet?)", lang, name)
			}
		}
	}
}

func TestEveryLessonTranslated(t *testing.T) {
	ls := scenario.Lessons()
	if len(ls) == 0 {
		t.Fatal("no lessons")
	}
	known := map[string]bool{}
	for _, l := range ls {
		known[l.Name] = true
		title, intro, ok := Lesson("en", l.Name)
		if !ok || title != l.Title || intro != l.Intro {
			t.Errorf("en %s: got %q, %v; want the lesson's own text", l.Name, title, ok)
		}
		for _, lang := range Langs[1:] {
			title, intro, ok := Lesson(lang, l.Name)
			if !ok || strings.TrimSpace(title) == "" || strings.TrimSpace(intro) == "" {
				t.Errorf("%s: lesson %s has no title or intro", lang, l.Name)
				continue
			}
			if title == l.Title || intro == l.Intro {
				t.Errorf("%s: lesson %s is the English text", lang, l.Name)
			}
		}
	}
	for _, lang := range Langs {
		for name := range file(lang).Lessons {
			if !known[name] {
				t.Logf("%s: translation of %s, which is not a lesson (yet?)", lang, name)
			}
		}
	}
	if len(file("en").Lessons) > 0 {
		t.Error("en.json has lessons: English lesson text belongs to the lesson files")
	}
}

func TestUnknown(t *testing.T) {
	fn := modelFuncs(t)[0].Name
	l := scenario.Lessons()[0].Name
	for _, c := range []struct{ lang, fn, lesson string }{
		{"en", "no_such_function", "no-such-lesson"},
		{"zh-Hans", "no_such_function", "no-such-lesson"},
		{"fr", fn, l},
		{"", fn, l},
		{"zh", fn, l},
		{"EN", fn, l},
	} {
		if txt, ok := Function(c.lang, c.fn); ok || txt.Summary != "" {
			t.Errorf("Function(%q, %q) = %q, %v", c.lang, c.fn, txt.Summary, ok)
		}
		if title, intro, ok := Lesson(c.lang, c.lesson); ok || title != "" || intro != "" {
			t.Errorf("Lesson(%q, %q) = %q, %q, %v", c.lang, c.lesson, title, intro, ok)
		}
	}
}

// allText calls f for every piece of text in every language (a note
// kept as it is has none).
func allText(f func(lang, key, s string)) {
	for _, lang := range Langs {
		lf := file(lang)
		for name, s := range lf.Functions {
			f(lang, name, s)
		}
		for name, l := range lf.Lessons {
			f(lang, name+" title", l.Title)
			f(lang, name+" intro", l.Intro)
		}
		for _, n := range lf.Notes {
			if !neutral(n) {
				f(lang, "note "+n.En, n.Tr)
			}
		}
	}
}

func TestShort(t *testing.T) {
	for _, lang := range Langs {
		lf := file(lang)
		for name, s := range lf.Functions {
			if n := utf8.RuneCountInString(s); n > maxRunes {
				t.Errorf("%s: %s is %d characters, more than %d", lf.Lang, name, n, maxRunes)
			}
		}
	}
}

func hanCount(s string) int {
	n := 0
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			n++
		}
	}
	return n
}

// TestTranslated fails for Chinese text that is a copy of the English, or
// mostly English, and for English text with Chinese in it.
func TestTranslated(t *testing.T) {
	en := file("en")
	allText(func(lang, key, s string) {
		if lang == "en" {
			if hanCount(s) > 0 {
				t.Errorf("en: %s contains Chinese: %q", key, s)
			}
			return
		}
		if e, ok := en.Functions[key]; ok && s == e {
			t.Errorf("%s: %s is the English text", lang, key)
		}
		if hanCount(s) < 2 {
			t.Errorf("%s: %s has no Chinese in it: %q", lang, key, s)
		}
	})
	hans, hant := file("zh-Hans"), file("zh-Hant")
	same := 0
	for name, s := range hans.Functions {
		if hant.Functions[name] == s {
			same++
		}
	}
	if same > len(hans.Functions)/10 {
		t.Errorf("%d zh-Hant summaries are identical to zh-Hans: not converted?", same)
	}
}

func TestScripts(t *testing.T) {
	allText(func(lang, key, s string) {
		var bad string
		switch lang {
		case "zh-Hant":
			bad = simplifiedOnly
		case "zh-Hans":
			bad = traditionalOnly
		default:
			return
		}
		for _, r := range s {
			if strings.ContainsRune(bad, r) {
				t.Errorf("%s: %s has %q, which does not belong in %s", lang, key, r, lang)
			}
		}
	})
}

// mainlandTerms are mainland words whose Taiwan equivalents zh-Hant uses
// (網路, 資料, 記憶體, 埠, 協定, 逾時, 呼叫, 傳回, 訊框, 位址, 佇列, 計時器…).
var mainlandTerms = []string{"網絡", "數據", "信息", "默認", "內存", "緩存", "接口", "端口", "協議",
	"軟件", "硬件", "超時", "回調", "克隆", "返回", "報文", "幀", "地址", "套接字", "進程", "線程",
	"調用", "文件", "字節", "服務器", "以太網", "鏈表", "哈希", "隊列", "定時器", "頭部", "打開",
	"支持", "通過", "實現"}

func TestTaiwanTerms(t *testing.T) {
	allText(func(lang, key, s string) {
		if lang != "zh-Hant" {
			return
		}
		for _, w := range mainlandTerms {
			if strings.Contains(s, w) {
				t.Errorf("zh-Hant: %s has the mainland term %s", key, w)
			}
		}
	})
}

// TestCharLists guards the lists themselves: a character in both would
// make one of the checks above fail on correct text.
func TestCharLists(t *testing.T) {
	for _, r := range simplifiedOnly {
		if strings.ContainsRune(traditionalOnly, r) {
			t.Errorf("%q is in both lists", r)
		}
	}
}

// ident matches kernel identifiers: words with an underscore, such as
// dev_queue_xmit, NET_RX or SKB_DROP_REASON_NO_SOCKET.
var ident = regexp.MustCompile(`[A-Za-z0-9]*_[A-Za-z0-9_]*[A-Za-z0-9]`)

// TestIdentifiersKept checks that every kernel identifier in the English
// text appears, untranslated, in the Chinese text too.
func TestIdentifiersKept(t *testing.T) {
	en := file("en")
	for _, lang := range Langs[1:] {
		f := file(lang)
		for name, s := range en.Functions {
			zh := f.Functions[name]
			for _, id := range ident.FindAllString(s, -1) {
				if !strings.Contains(zh, id) {
					t.Errorf("%s: %s lacks %s", lang, name, id)
				}
			}
		}
		for _, l := range scenario.Lessons() {
			// Joined with a newline, so that an identifier ending the
			// title does not run into the intro's first word.
			zh := f.Lessons[l.Name].Title + "\n" + f.Lessons[l.Name].Intro
			for _, id := range ident.FindAllString(l.Title+"\n"+l.Intro, -1) {
				if !strings.Contains(zh, id) {
					t.Errorf("%s: lesson %s lacks %s", lang, l.Name, id)
				}
			}
		}
	}
}
