package delivery

import (
	"context"
	"testing"

	"github.com/sealgate/sealgate/internal/smtpsink"
	"github.com/sealgate/sealgate/mail"
)

// BenchmarkDeliverPooled measures the hot path: routed deliveries over
// pooled connections, several at once.
func BenchmarkDeliverPooled(b *testing.B) {
	for _, run := range []struct {
		name   string
		level  mail.TLSLevel
		shaped *Shaping
	}{
		{"plain", mail.TLSNone, nil},
		{"starttls", mail.TLSMay, nil},
		// shaping on, with limits the run never reaches: the cost of the
		// per-provider bookkeeping itself
		{"plain-shaped", mail.TLSNone, &Shaping{Limits: ProviderLimits{Connections: 8, MessagesPerConnection: 1 << 30}}},
	} {
		level := run.level
		b.Run(run.name, func(b *testing.B) {
			sink := smtpsink.Start(b, smtpsink.Options{TLS: smtpsink.ServerTLS(smtpsink.SelfSigned(b, "127.0.0.1"))})
			c, err := New(Config{Hostname: "gw.test", Routes: map[string]string{"partner.test": sink.Addr},
				TLSPolicy: map[string]mail.TLSLevel{"partner.test": level}, MaxConnsPerDest: 8, Shaping: run.shaped})
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			body := make([]byte, 5000)
			for i := range body {
				body[i] = 'a' + byte(i%26)
				if i%78 == 77 {
					body[i-1], body[i] = '\r', '\n'
				}
			}
			b.ReportAllocs()
			b.SetParallelism(4)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					d := &mail.Delivery{From: "a@clinic.test", Domain: "partner.test", Body: body,
						Rcpts: []mail.Rcpt{{Addr: "b@partner.test"}}}
					if out := c.Deliver(context.Background(), d); out[0].Err != nil {
						b.Error(out[0].Err)
						return
					}
				}
			})
			b.StopTimer()
			if sink.Conns() > 8 {
				b.Errorf("%d connections", sink.Conns())
			}
		})
	}
}
