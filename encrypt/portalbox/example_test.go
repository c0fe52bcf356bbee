package portalbox_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/sealgate/sealgate/encrypt/portalbox"
)

// A message is left for pickup; the token goes into the notification's
// link and is the only way back to the message.
func ExampleFileStore() {
	dir, _ := os.MkdirTemp("", "portalbox")
	defer os.RemoveAll(dir)
	st, err := portalbox.OpenFileStore(portalbox.FileConfig{
		Dir: filepath.Join(dir, "portal"), MasterKeyFile: filepath.Join(dir, "keys", "portal.key"),
	})
	if err != nil {
		panic(err)
	}
	defer st.Close()
	ctx := context.Background()
	token, _ := st.Put(ctx, portalbox.Item{QueueID: "Q1", Recipient: "pat@example.net",
		Message: []byte("Subject: Results\r\n\r\n..."), Expires: time.Now().Add(time.Hour)})
	it, _ := st.Get(ctx, token)
	fmt.Println(it.Recipient, len(token))
	_ = st.Delete(ctx, token)
	_, err = st.Get(ctx, token)
	fmt.Println(err)
	// Output:
	// pat@example.net 43
	// portalbox: no such message
}
