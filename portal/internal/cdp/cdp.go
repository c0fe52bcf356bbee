// Package cdp drives a headless Chromium over the DevTools protocol for
// end-to-end tests: start the browser on loopback, navigate, evaluate
// expressions, set file inputs, allow downloads and take screenshots.
package cdp

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/websocket"
)

// Find returns the Chromium binary, or "" when none is installed.
func Find() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless_shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// Browser is a running headless Chromium with one page attached.
type Browser struct {
	cmd *exec.Cmd
	dir string
	ws  *websocket.Conn

	mu      sync.Mutex
	next    int
	pending map[int]chan reply
	done    chan struct{}
}

type reply struct {
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Message string `json:"message"`
	} `json:"error"`
}

// Start launches bin with a fresh profile in dir (which must exist).
// Certificate errors are ignored: tests serve self-signed certificates.
func Start(ctx context.Context, bin, dir string) (*Browser, error) {
	args := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--user-data-dir=" + dir, "--remote-debugging-address=127.0.0.1",
		"--remote-debugging-port=0", "--remote-allow-origins=*", "--ignore-certificate-errors",
		"--window-size=900,1300", "about:blank"}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = nil, nil
	ownGroup(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("cdp: start chromium: %w", err)
	}
	b := &Browser{cmd: cmd, dir: dir, pending: map[int]chan reply{}, done: make(chan struct{})}
	if err := b.attach(ctx); err != nil {
		b.Close()
		return nil, err
	}
	go b.read()
	return b, nil
}

// attach waits for DevToolsActivePort and connects to the first page.
func (b *Browser) attach(ctx context.Context) error {
	var port string
	for port == "" {
		if data, err := os.ReadFile(filepath.Join(b.dir, "DevToolsActivePort")); err == nil {
			port, _, _ = strings.Cut(string(data), "\n")
		}
		if port == "" {
			select {
			case <-ctx.Done():
				return fmt.Errorf("cdp: chromium did not open its debugging port: %w", ctx.Err())
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	wsURL, err := pageURL(ctx, port)
	if err != nil {
		return err
	}
	b.ws, err = websocket.Dial(wsURL, "", "http://127.0.0.1/")
	if err != nil {
		return fmt.Errorf("cdp: %w", err)
	}
	b.ws.MaxPayloadBytes = 64 << 20
	return nil
}

func pageURL(ctx context.Context, port string) (string, error) {
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://127.0.0.1:"+port+"/json/list", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			var targets []struct{ Type, WebSocketDebuggerURL string }
			err = json.NewDecoder(resp.Body).Decode(&targets)
			resp.Body.Close()
			for _, t := range targets {
				if t.Type == "page" && t.WebSocketDebuggerURL != "" {
					return t.WebSocketDebuggerURL, nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("cdp: no page target: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// read dispatches replies to their callers; events are ignored.
func (b *Browser) read() {
	defer close(b.done)
	for {
		var msg struct {
			ID int `json:"id"`
			reply
		}
		if err := websocket.JSON.Receive(b.ws, &msg); err != nil {
			return
		}
		b.mu.Lock()
		ch := b.pending[msg.ID]
		delete(b.pending, msg.ID)
		b.mu.Unlock()
		if ch != nil {
			ch <- msg.reply
		}
	}
}

// Call sends one command and decodes its result into out (if non-nil).
func (b *Browser) Call(ctx context.Context, method string, params, out any) error {
	ch := make(chan reply, 1)
	b.mu.Lock()
	b.next++
	id := b.next
	b.pending[id] = ch
	b.mu.Unlock()
	if params == nil {
		params = struct{}{}
	}
	if err := websocket.JSON.Send(b.ws, map[string]any{"id": id, "method": method, "params": params}); err != nil {
		return fmt.Errorf("cdp: %s: %w", method, err)
	}
	select {
	case r := <-ch:
		if r.Error != nil {
			return fmt.Errorf("cdp: %s: %s", method, r.Error.Message)
		}
		if out != nil {
			return json.Unmarshal(r.Result, out)
		}
		return nil
	case <-b.done:
		return fmt.Errorf("cdp: %s: browser connection closed", method)
	case <-ctx.Done():
		return fmt.Errorf("cdp: %s: %w", method, ctx.Err())
	}
}

// Eval evaluates a JavaScript expression in the page and decodes its
// value into out (if non-nil). DevTools evaluation is not subject to the
// page's Content-Security-Policy; the page itself runs no script.
func (b *Browser) Eval(ctx context.Context, expr string, out any) error {
	var res struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text string `json:"text"`
		} `json:"exceptionDetails"`
	}
	err := b.Call(ctx, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true}, &res)
	if err != nil {
		return err
	}
	if res.ExceptionDetails != nil {
		return errors.New("cdp: evaluate: " + res.ExceptionDetails.Text)
	}
	if out != nil && len(res.Result.Value) > 0 {
		return json.Unmarshal(res.Result.Value, out)
	}
	return nil
}

// Navigate loads url and waits for the document to be complete.
func (b *Browser) Navigate(ctx context.Context, url string) error {
	if err := b.Call(ctx, "Page.navigate", map[string]any{"url": url}, nil); err != nil {
		return err
	}
	return b.WaitFor(ctx, "document.readyState === 'complete' && location.href !== 'about:blank'")
}

// WaitFor polls a boolean expression until it is true or ctx ends.
func (b *Browser) WaitFor(ctx context.Context, expr string) error {
	for {
		var ok bool
		if err := b.Eval(ctx, "!!("+expr+")", &ok); err == nil && ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cdp: waiting for %s: %w", expr, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// SetFiles puts local files into the file input matching selector.
func (b *Browser) SetFiles(ctx context.Context, selector string, files ...string) error {
	var doc struct {
		Root struct {
			NodeID int `json:"nodeId"`
		} `json:"root"`
	}
	if err := b.Call(ctx, "DOM.getDocument", nil, &doc); err != nil {
		return err
	}
	var q struct {
		NodeID int `json:"nodeId"`
	}
	if err := b.Call(ctx, "DOM.querySelector", map[string]any{"nodeId": doc.Root.NodeID, "selector": selector}, &q); err != nil {
		return err
	}
	return b.Call(ctx, "DOM.setFileInputFiles", map[string]any{"nodeId": q.NodeID, "files": files}, nil)
}

// AllowDownloads saves downloads into dir.
func (b *Browser) AllowDownloads(ctx context.Context, dir string) error {
	return b.Call(ctx, "Browser.setDownloadBehavior", map[string]any{"behavior": "allow", "downloadPath": dir}, nil)
}

// Screenshot saves a PNG of the whole page to path.
func (b *Browser) Screenshot(ctx context.Context, path string) error {
	var res struct {
		Data string `json:"data"`
	}
	if err := b.Call(ctx, "Page.captureScreenshot", map[string]any{"format": "png", "captureBeyondViewport": true}, &res); err != nil {
		return err
	}
	png, err := base64.StdEncoding.DecodeString(res.Data)
	if err != nil {
		return fmt.Errorf("cdp: screenshot: %w", err)
	}
	return os.WriteFile(path, png, 0o644)
}

// Close kills the browser with its helper processes and waits for it, so
// nothing writes into the profile folder afterwards.
func (b *Browser) Close() error {
	if b.ws != nil {
		b.ws.Close()
	}
	killGroup(b.cmd)
	if b.cmd.Process != nil {
		b.cmd.Process.Kill()
	}
	b.cmd.Wait()
	return nil
}
