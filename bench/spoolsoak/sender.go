package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/emersion/go-smtp"
)

// sender sends messages, five per connection, until the load stops or
// the run's message budget is spent. While the gateway is down it waits.
func (l *load) sender(w int) {
	body := strings.Repeat(strings.Repeat("x", 70)+"\r\n", max(l.o.size/72, 1))
	for n := 0; ; {
		select {
		case <-l.stopped:
			return
		default:
		}
		addr := *l.addr.Load()
		if addr == "" {
			time.Sleep(10 * time.Millisecond)
			continue
		}
		c, err := smtp.Dial(addr)
		if err != nil {
			time.Sleep(10 * time.Millisecond)
			continue
		}
		for j := 0; j < 5; j++ {
			if l.budget.Add(-1) < 0 {
				c.Close()
				return
			}
			n++
			id := fmt.Sprintf("soak-%d-%d@clinic.example.org", w, n)
			msg := "From: lab@clinic.example.org\r\nTo: dr@example.net\r\nSubject: soak\r\nMessage-ID: <" + id + ">\r\n\r\n" + body
			err := c.SendMail("lab@clinic.example.org", []string{"dr@example.net"}, strings.NewReader(msg))
			var se *smtp.SMTPError
			l.record(id, err == nil, errors.As(err, &se))
			if err != nil {
				break
			}
		}
		c.Close()
	}
}
