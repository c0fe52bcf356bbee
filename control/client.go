package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/sealgate/sealgate/mail"
)

// Client talks to a running gateway's control socket.
type Client struct {
	hc *http.Client
}

// ErrNotFound is returned for an unknown queue ID.
var ErrNotFound = errors.New("no such message")

// Dial returns a client for the socket at path.
func Dial(path string) *Client {
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", path)
	}}
	return &Client{hc: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

func (c *Client) send(method, path string) (*http.Response, error) {
	req, err := http.NewRequest(method, "http://sealgate"+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("gateway not reachable on its control socket: %w", err)
	}
	return resp, nil
}

func (c *Client) do(method, path string, out any) error {
	resp, err := c.send(method, path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := statusError(resp); err != nil {
		return err
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// ErrNotHeld is returned when a message is not held by policy.
var ErrNotHeld = errors.New("not held by policy")

// statusError turns a reply other than 200 into an error, with the
// gateway's own words where it gave them.
func statusError(resp *http.Response) error {
	switch resp.StatusCode {
	case http.StatusOK:
		return nil
	case http.StatusNotFound:
		return ErrNotFound
	case http.StatusConflict:
		return ErrNotHeld
	}
	var body struct {
		Error string `json:"error"`
	}
	if json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&body) == nil && body.Error != "" {
		return errors.New(body.Error)
	}
	return fmt.Errorf("gateway answered %s", resp.Status)
}

// List returns every queued message.
func (c *Client) List() ([]mail.Info, error) {
	var out []mail.Info
	return out, c.do("GET", "/queue", &out)
}

// Show returns one message.
func (c *Client) Show(id string) (mail.Info, error) {
	var out mail.Info
	return out, c.do("GET", "/queue/"+id, &out)
}

// Retry makes a message due now.
func (c *Client) Retry(id string) error { return c.do("POST", "/queue/"+id+"/retry", &struct{}{}) }

// Delete removes a message without delivering it.
func (c *Client) Delete(id string) error { return c.do("DELETE", "/queue/"+id, &struct{}{}) }

// Flush makes every waiting message due now and returns how many.
func (c *Client) Flush() (int, error) {
	var out struct {
		Flushed int `json:"flushed"`
	}
	return out.Flushed, c.do("POST", "/queue/flush", &out)
}

// Release lets a message held by policy be delivered.
func (c *Client) Release(id string) error { return c.do("POST", "/queue/"+id+"/release", &struct{}{}) }

// Content returns a held message's bytes. The gateway audits the request
// before it answers.
func (c *Client) Content(id string) ([]byte, error) {
	resp, err := c.send("GET", "/queue/"+id+"/content")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if err := statusError(resp); err != nil {
		return nil, err
	}
	return io.ReadAll(resp.Body)
}

// Reload asks the gateway to re-read its configuration, keys and
// certificates. A refused configuration comes back as an error naming
// file, line and key; the gateway keeps running on the old one.
func (c *Client) Reload() error { return c.do("POST", "/reload", &struct{}{}) }

// Health asks whether the gateway is sound: HealthReady when it takes
// mail, NodeDraining or NodeDrained when it is out of service on purpose,
// or an error saying why it is not sound.
func (c *Client) Health() (string, error) {
	var out struct {
		Health string `json:"health"`
	}
	if err := c.do("GET", "/health", &out); err != nil {
		return "", err
	}
	return out.Health, nil
}

// Ready asks whether the gateway takes mail; the error says why not.
func (c *Client) Ready() error { return c.do("GET", "/readyz", &struct{}{}) }
