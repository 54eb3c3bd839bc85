package alipay

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The protocol knowledge the code depends on lives in docs/ (wire.md,
// isv.md, notifications.md). The research notes it was written from are not
// in the repository, so no comment or document may send a reader there.

var (
	// researchMark is a research note's mark for an unconfirmed fact.
	researchMark = regexp.MustCompile(`\[U(?:[0-9]+)?[]:]`)
	// researchFile names a research note, possibly with a path before it.
	researchFile = regexp.MustCompile(`[\w./-]*\b(?:protocol|endpoints|endpoints-isv|style|performance|peers)\.md`)
	// docLink is a reference into docs/: a file and an optional anchor.
	docLink = regexp.MustCompile(`(docs/[\w-]+\.md)(#[\w-]+)?`)
	// rowRef cites a row of the table of undocumented points.
	rowRef = regexp.MustCompile(`\brows? (U[0-9]+)`)
)

// TestDocsSelfContained reads every Go and Markdown file of the repository:
// none carries a research mark ("[U]"), cites a § of anything but an RFC, or
// names a .md file that does not exist next to it or at the root; every
// docs/….md#anchor names a heading of that file; every "row U<n>" is a row
// of docs/wire.md.
func TestDocsSelfContained(t *testing.T) {
	t.Parallel()
	anchors := map[string]map[string]bool{}
	for _, name := range []string{"wire.md", "isv.md", "notifications.md"} {
		anchors["docs/"+name] = headingAnchors(t, filepath.Join("docs", name))
	}
	protocol, err := os.ReadFile(filepath.Join("docs", "wire.md"))
	require.NoError(t, err)
	n := 0
	err = filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || (!strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, ".md")) || path == "docs_test.go" {
			return nil
		}
		n++
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(b), "\n") {
			at := fmt.Sprintf("%s:%d", path, i+1)
			if m := researchMark.FindString(line); m != "" {
				t.Errorf("%s: research mark %q: say \"Alipay does not document X; we do Y\" and cite docs/wire.md", at, m)
			}
			if strings.Contains(line, "§") && !strings.Contains(line, "RFC") { // only RFCs are cited by section
				t.Errorf("%s: a § citation: cite a docs/….md#anchor instead", at)
			}
			// The research notes' names are refused outright, even for a
			// file of that name in the repository: a reader (or a check)
			// cannot tell the two apart.
			for _, ref := range researchFile.FindAllString(line, -1) {
				t.Errorf("%s: %s names a research note: cite docs/wire.md#anchor or say it inline", at, ref)
			}
			for _, m := range docLink.FindAllStringSubmatch(line, -1) {
				file, anchor := m[1], strings.TrimPrefix(m[2], "#")
				known, ok := anchors[file]
				if !ok {
					assert.True(t, fileExists(file), "%s: %s does not exist", at, file)
					continue
				}
				if anchor != "" {
					assert.True(t, known[anchor], "%s: %s has no heading #%s", at, file, anchor)
				}
			}
			for _, m := range rowRef.FindAllStringSubmatch(line, -1) {
				assert.Contains(t, string(protocol), "| "+m[1]+" |", "%s: docs/wire.md has no row %s", at, m[1])
			}
		}
		return nil
	})
	require.NoError(t, err)
	assert.Greater(t, n, 100, "the walk read the repository")
}

// headingAnchors returns the GitHub anchors of a Markdown file's headings.
func headingAnchors(t *testing.T, path string) map[string]bool {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer func() { _ = f.Close() }()
	out := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "#") {
			continue
		}
		title := strings.TrimSpace(strings.TrimLeft(line, "#"))
		var b strings.Builder
		for _, r := range strings.ToLower(title) {
			switch {
			case r == ' ':
				b.WriteByte('-')
			case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 0x7f:
				b.WriteRune(r)
			}
		}
		out[b.String()] = true
	}
	require.NoError(t, sc.Err())
	return out
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// TestContributingLayout: CONTRIBUTING.md's layout names every source file
// of the package (by name or by a glob in backquotes), so a new file
// arrives with its line there.
func TestContributingLayout(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("CONTRIBUTING.md")
	require.NoError(t, err)
	var globs []string
	for _, m := range regexp.MustCompile("`([\\w*]+\\.go)`").FindAllStringSubmatch(string(b), -1) {
		globs = append(globs, m[1])
	}
	for name := range parseSource(t).files {
		found := false
		for _, g := range globs {
			if ok, _ := filepath.Match(g, name); ok {
				found = true
			}
		}
		assert.True(t, found, "CONTRIBUTING.md's layout does not say what %s holds", name)
	}
}

// readmeBlock is one ```go block of a Markdown file: its text (dedented)
// and the line its first line is on.
type readmeBlock struct {
	line int
	text string
}

// goBlocks returns the ```go blocks of md, a list item's indentation removed.
func goBlocks(md string) []readmeBlock {
	var blocks []readmeBlock
	lines := strings.Split(md, "\n")
	for i := 0; i < len(lines); i++ {
		indent, ok := strings.CutSuffix(lines[i], "```go")
		if !ok || strings.TrimSpace(indent) != "" {
			continue
		}
		b := readmeBlock{line: i + 2}
		for i++; i < len(lines) && lines[i] != indent+"```"; i++ {
			b.text += strings.TrimPrefix(lines[i], indent) + "\n"
		}
		blocks = append(blocks, b)
	}
	return blocks
}

// TestREADMESnippetsCompile: every Go snippet of the README compiles as
// written — declarations as they are, statements as the body of a function
// returning error — against the stub declarations of its free variables
// in testdata/readme/stubs.go (a logger, a ctx, your own functions). A
// variable declared and not used, a wrong name or a wrong type fails, named
// by its README line. The snippets are compiled in the workspace as a
// package of the nested module examples/notify (which has redisstore,
// go-redis and testify) that exists only in a go build -overlay.
func TestREADMESnippetsCompile(t *testing.T) {
	t.Parallel()
	goTool, err := exec.LookPath(filepath.Join(runtime.GOROOT(), "bin", "go"))
	if err != nil {
		t.Skip("no go command:", err)
	}
	root, err := filepath.Abs(".")
	require.NoError(t, err)
	for _, f := range []string{"go.work", "examples/notify/go.mod"} {
		if _, err := os.Stat(filepath.Join(root, f)); err != nil {
			t.Skip("not in the repository's workspace:", err)
		}
	}
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	stubs, err := os.ReadFile(filepath.Join("testdata", "readme", "stubs.go"))
	require.NoError(t, err)
	src := bytes.NewBuffer(stubs)
	blocks := goBlocks(string(readme))
	require.Greater(t, len(blocks), 5)
	for i, b := range blocks {
		first := strings.TrimSpace(b.text)
		for strings.HasPrefix(first, "//") {
			_, first, _ = strings.Cut(first, "\n")
		}
		if strings.HasPrefix(first, "func ") || strings.HasPrefix(first, "type ") {
			fmt.Fprintf(src, "\n//line README.md:%d\n%s", b.line, b.text)
			continue
		}
		fmt.Fprintf(src, "\nfunc readmeSnippet%d() error {\n//line README.md:%d\n%s\treturn nil\n}\n", i, b.line, b.text)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "readme.go")
	require.NoError(t, os.WriteFile(file, src.Bytes(), 0o600))
	overlay, err := json.Marshal(map[string]map[string]string{
		"Replace": {filepath.Join(root, "examples", "notify", "readmecheck", "readme.go"): file}})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "overlay.json"), overlay, 0o600))
	cmd := exec.Command(goTool, "build", "-gcflags=-e", "-overlay", filepath.Join(dir, "overlay.json"), "./examples/notify/readmecheck")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOWORK="+filepath.Join(root, "go.work"), "GOFLAGS=")
	out, err := cmd.CombinedOutput()
	assert.NoError(t, err, "README snippets:\n%s", out)
}

// TestCIRunsTheREADMETestCommand: .ci/run runs exactly the command of the
// README's "Tests" section, so what passes in CI is what a newcomer runs.
func TestCIRunsTheREADMETestCommand(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	_, section, ok := strings.Cut(string(readme), "\n## Tests\n")
	require.True(t, ok, "README has a Tests section")
	_, block, ok := strings.Cut(section, "```sh\n")
	require.True(t, ok, "the Tests section opens a sh block")
	command, _, _ := strings.Cut(block, "\n")
	require.True(t, strings.HasPrefix(command, "go test "), "the block's first line is the test command: %q", command)
	ci, err := os.ReadFile(".ci/run")
	require.NoError(t, err)
	lines := strings.Split(string(ci), "\n")
	assert.Contains(t, lines, command, ".ci/run must run the README's test command as one line")
}
