package smtpd

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/emersion/go-smtp"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sealgate/sealgate/mail"
)

// Regression: a full spool disk was answered "451 4.3.0 Internal error";
// it is "452 4.3.1 Insufficient system storage" (RFC 3463), without the
// file name the queue's error carries.
func TestFullDiskAnswers452InsufficientStorage(t *testing.T) {
	t.Parallel()
	for _, errno := range []syscall.Errno{syscall.ENOSPC, syscall.EDQUOT, syscall.EIO} {
		h := newHarness(t, nil)
		h.q.err = fmt.Errorf("queue: %w", &os.PathError{Op: "write", Path: "/var/lib/sealgate/spool/0000000000000001.seg", Err: errno})
		c := h.submit(t)
		err := send(c, "news@news.example.org", "x@example.net", message("news@news.example.org", "x@example.net", "hi"))
		var se *smtp.SMTPError
		if !errors.As(err, &se) || se.Code != 452 || se.EnhancedCode != (smtp.EnhancedCode{4, 3, 1}) {
			t.Fatalf("%v: got %v, want 452 4.3.1", errno, err)
		}
		if se.Message != "Insufficient system storage" {
			t.Errorf("%v: reply text %q", errno, se.Message)
		}
		if got := testutil.ToFloat64(h.srv.m.rejected.WithLabelValues("insufficient_storage")); got != 1 {
			t.Errorf("%v: insufficient_storage rejections %v, want 1", errno, got)
		}
	}
}

// Below the queue's free-space floor, MAIL is refused with 452 before the
// client sends the data, and the client may try again later.
func TestBelowFreeSpaceFloorMailRefused452(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.q.space = fmt.Errorf("queue: %w", mail.ErrInsufficientStorage)
	c := h.submit(t)
	err := c.Mail("news@news.example.org", &smtp.MailOptions{Size: 4096})
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 452 || se.EnhancedCode != (smtp.EnhancedCode{4, 3, 1}) {
		t.Fatalf("MAIL below the floor: %v, want 452 4.3.1", err)
	}
	if strings.Contains(se.Message, "MiB") || strings.Contains(se.Message, "spool") {
		t.Errorf("reply carries internal text: %q", se.Message)
	}
	h.q.mu.Lock()
	h.q.space = nil
	h.q.mu.Unlock()
	if err := send(c, "news@news.example.org", "x@example.net", message("news@news.example.org", "x@example.net", "hi")); err != nil {
		t.Fatalf("after space came back: %v", err)
	}
}
