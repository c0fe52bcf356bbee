package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/sealgate/sealgate/queue"
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

func (c *Client) do(method, path string, out any) error {
	req, err := http.NewRequest(method, "http://sealgate"+path, nil)
	if err != nil {
		return err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("gateway not reachable on its control socket: %w", err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return json.NewDecoder(resp.Body).Decode(out)
	case http.StatusNotFound:
		return ErrNotFound
	}
	return fmt.Errorf("gateway answered %s", resp.Status)
}

// List returns every queued message.
func (c *Client) List() ([]queue.Info, error) {
	var out []queue.Info
	return out, c.do("GET", "/queue", &out)
}

// Show returns one message.
func (c *Client) Show(id string) (queue.Info, error) {
	var out queue.Info
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
