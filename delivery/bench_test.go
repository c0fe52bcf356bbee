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
	for _, level := range []mail.TLSLevel{mail.TLSNone, mail.TLSMay} {
		b.Run(map[mail.TLSLevel]string{mail.TLSNone: "plain", mail.TLSMay: "starttls"}[level], func(b *testing.B) {
			sink := smtpsink.Start(b, smtpsink.Options{TLS: smtpsink.ServerTLS(smtpsink.SelfSigned(b, "127.0.0.1"))})
			c, err := New(Config{Hostname: "gw.test", Routes: map[string]string{"partner.test": sink.Addr},
				TLSPolicy: map[string]mail.TLSLevel{"partner.test": level}, MaxConnsPerDest: 8})
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
