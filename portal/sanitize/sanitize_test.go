package sanitize

import (
	"strings"
	"testing"

	nethtml "golang.org/x/net/html"
)

func TestHTMLInert(t *testing.T) {
	tests := []struct {
		name, in    string
		want        []string // substrings that must appear
		mustNotHave []string
	}{
		{"script", `<p>Hi</p><script>alert(1)</script>`, []string{"<p>Hi</p>"}, []string{"script", "alert"}},
		{"remote image", `<img src="https://track.example/p.gif">x`, []string{"[image not shown]", "x"}, []string{"track.example", "<img"}},
		{"javascript link", `<a href="javascript:alert(1)">click</a>`, []string{"click"}, []string{"javascript", "<a"}},
		{"spaced javascript link", `<a href=" JaVaScRiPt:alert(1)">c</a>`, []string{"c"}, []string{"alert"}},
		{"handler attribute", `<p onclick="alert(1)" style="background:url(https://x.example/)">t</p>`, []string{"<p>t</p>"}, []string{"onclick", "x.example"}},
		{"http link kept and shown", `<a href="https://clinic.example/faq">FAQ</a>`, []string{`href="https://clinic.example/faq"`, "(https://clinic.example/faq)", `rel="noopener noreferrer nofollow"`}, nil},
		{"style sheet", `<style>@import url(https://x.example/a.css)</style><b>b</b>`, []string{"<b>b</b>"}, []string{"x.example", "@import"}},
		{"iframe and form", `<iframe src="https://x.example"></iframe><form action="https://x.example"><input name=a></form>`, nil, []string{"x.example", "iframe", "form", "input"}},
		{"svg", `<svg><script>alert(1)</script><image href="https://x.example/i"/></svg>`, nil, []string{"alert", "x.example"}},
		{"escaped text", `<p>1 &lt; 2 &amp; &lt;script&gt;</p>`, []string{"1 &lt; 2 &amp; &lt;script&gt;"}, []string{"<script>"}},
		{"data url link", `<a href="data:text/html,<script>alert(1)</script>">d</a>`, []string{"d"}, []string{"data:", "alert"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := HTML(tc.in)
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("missing %q in %q", w, got)
				}
			}
			for _, b := range tc.mustNotHave {
				if strings.Contains(strings.ToLower(got), strings.ToLower(b)) {
					t.Errorf("kept %q in %q", b, got)
				}
			}
		})
	}
}

func TestHTMLDepthBounded(t *testing.T) {
	in := strings.Repeat("<div>", 10000) + "deep" + strings.Repeat("</div>", 10000)
	got := HTML(in)
	if strings.Count(got, "<div>") > maxDepth+1 {
		t.Fatalf("kept %d nested divs", strings.Count(got, "<div>"))
	}
}

// FuzzHTML checks, by re-parsing the output, that only allowed elements
// and attributes survive and that every link target is http(s) or mailto.
func FuzzHTML(f *testing.F) {
	f.Add(`<a href="javascript:x">y</a><script>z</script><img src=http://a>`)
	f.Add(`<p onclick=x><a href="https://a.example">a</a></p>`)
	f.Fuzz(func(t *testing.T, s string) {
		z := nethtml.NewTokenizer(strings.NewReader(HTML(s)))
		for z.Next() != nethtml.ErrorToken {
			tok := z.Token()
			if tok.Type != nethtml.StartTagToken && tok.Type != nethtml.SelfClosingTagToken {
				continue
			}
			if !allowed[tok.DataAtom] {
				t.Fatalf("element %q survived", tok.Data)
			}
			for _, a := range tok.Attr {
				ok := (a.Key == "href" && safeURL(a.Val)) || a.Key == "rel" || a.Key == "target" || a.Key == "class"
				if !ok {
					t.Fatalf("attribute %s=%q survived", a.Key, a.Val)
				}
			}
		}
	})
}
