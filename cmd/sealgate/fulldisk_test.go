package main

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"golang.org/x/sys/unix"

	"github.com/sealgate/sealgate/internal/smtpsink"
	"github.com/sealgate/sealgate/internal/testenv"
)

// fullDiskSize is the size of the file system the full-disk test fills.
const fullDiskSize = 24 << 20

// mountTmpfs mounts a tmpfs of size bytes on dir for the rest of the
// test and unmounts it when the test ends (after cleanups registered
// later, such as killing the process that uses it). It needs root: outside
// CI a test that is not root is skipped, under CI=true it fails.
func mountTmpfs(t *testing.T, dir string, size int) {
	t.Helper()
	ci := os.Getenv("CI") == "true"
	skip := func(why string) {
		if ci {
			t.Fatalf("%s; under CI=true this test must run (CI runs as root)", why)
		}
		t.Skip(why)
	}
	if os.Geteuid() != 0 {
		skip("mounting a size-limited tmpfs needs root")
	}
	opts := fmt.Sprintf("size=%d,mode=0700", size)
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, opts); err != nil {
		skip(fmt.Sprintf("mount tmpfs on %s: %v", dir, err))
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, 0); err != nil {
			t.Logf("unmount %s: %v; detaching it", dir, err)
			if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
				t.Errorf("unmount %s: %v", dir, err)
			}
		}
	})
}

// fillDisk writes a file in dir until the file system is full and returns
// its path; removing it frees the space again.
func fillDisk(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for i := 0; i < fullDiskSize/len(buf)+1; i++ {
		if _, err := f.Write(buf); err != nil {
			if errors.Is(err, unix.ENOSPC) {
				break
			}
			t.Fatal(err)
		}
	}
	// Whatever a 64 KiB write could not take, byte by byte up to a page.
	for i := 0; i < len(buf); i++ {
		if _, err := f.Write(buf[:1]); err != nil {
			break
		}
	}
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil || st.Bavail != 0 {
		t.Fatalf("file system not full after the filler: %d blocks free, %v", st.Bavail, err)
	}
	return path
}

// fullDiskConfig is crashConfig with the data folder on the small file
// system, the free-space floor given and a one-second retry.
func fullDiskConfig(t *testing.T, dir, data, sink string, floor int64) string {
	yaml := fmt.Sprintf(`hostname: gw.example.org
data_dir: %[1]s
listeners:
  - {name: relay, address: "127.0.0.1:0", tls: none, auth: none}
clients:
  - {name: ehr, networks: ["127.0.0.0/8"], allowed_senders: ["*@clinic.example.org"]}
delivery:
  routes: {"example.net": "%[2]s"}
  tls: {policy: {default: may}}
  retry: {schedule: [1s], max_age: 1h}
encryption: {order: [pgp, smime, tls]}
queue: {min_free: %[3]d}
metrics: {listen: ""}
limits: {connections_per_client_per_minute: 0}
`, data, sink, floor)
	path := filepath.Join(dir, "sealgate.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// loadStats is what the senders of the full-disk test saw.
type loadStats struct {
	acked   sync.Map // Message-ID (without <>) → true, for every 250
	sent    atomic.Int64
	ok      atomic.Int64
	full    atomic.Int64 // 452 4.3.1
	dropped atomic.Int64 // connection lost or refused (the gateway was down)

	mu    sync.Mutex
	wrong []string // any other reply: the test fails on it
}

// reply files one SendMail result.
func (s *loadStats) reply(id string, err error) {
	var se *smtp.SMTPError
	switch {
	case err == nil:
		s.acked.Store(id, true)
		s.ok.Add(1)
	case errors.As(err, &se) && se.Code == 452 && se.EnhancedCode == (smtp.EnhancedCode{4, 3, 1}):
		s.full.Add(1)
	case errors.As(err, &se):
		s.mu.Lock()
		s.wrong = append(s.wrong, fmt.Sprintf("%d %v %s", se.Code, se.EnhancedCode, se.Message))
		s.mu.Unlock()
	default:
		s.dropped.Add(1)
	}
}

// fullDiskBody is a message of about 32 KiB with id as its Message-ID: a
// supplies list of random words, varied so that no two bodies are alike.
// (Random lines of letters and digits looked like a file pasted as base64,
// which the policy decodes, finds unreadable and protects; and letters
// beside digits can spell a condition's code.)
func fullDiskBody(id string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "From: lab@clinic.example.org\r\nTo: dr@example.net\r\nSubject: r\r\nMessage-ID: <%s>\r\n\r\n", id)
	words := strings.Fields("paper towels pens staples toner folders envelopes tape markers clips binders labels " +
		"notebooks chairs desks lamps cables boxes shelves pallets cartons ribbons stamps")
	for range 420 {
		for j := range 10 {
			if j > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(words[rand.IntN(len(words))])
		}
		b.WriteString("\r\n")
	}
	return b.String()
}

// fullDiskSender sends messages, one connection after another, until stop
// or its budget of messages is spent, and files every reply in st.
func fullDiskSender(w int, listen func() string, stop <-chan struct{}, st *loadStats) {
	connectLoop(2000, listen, stop, func() { st.dropped.Add(1) }, func(c *smtp.Client, i int) {
		for j := 0; j < 5; j++ {
			id := fmt.Sprintf("full-%d-%d-%d@clinic.example.org", w, i, j)
			st.sent.Add(1)
			err := c.SendMail("lab@clinic.example.org", []string{"dr@example.net"}, strings.NewReader(fullDiskBody(id)))
			st.reply(id, err)
			if err != nil {
				// After a refusal or a broken connection, start afresh.
				time.Sleep(10 * time.Millisecond)
				break
			}
		}
	})
}

// waitCount waits until n() reaches want or timeout passes, and reports
// whether it did.
func waitCount(n func() int64, want int64, timeout time.Duration) bool {
	return testenv.Poll(timeout, func() bool { return n() >= want })
}

// TestFullDiskKill9RestartDeliversEveryAcceptedMessage fills a 24 MB file
// system under SMTP load while every delivery is deferred, so the mail
// stays queued: the gateway must answer 452 4.3.1 once the disk is full
// (or at queue.min_free), and, with the disk then filled to the last
// block by another writer, must go on answering 452 4.3.1, never 250. It
// is killed with SIGKILL and started again on the still-full disk, which
// must succeed. Then the space is freed and delivery allowed: every
// message that was answered 250 must reach the receiver (at least once;
// duplicates are counted), and new mail is accepted again. It runs with a
// 4 MiB free-space floor and with none, where every write meets ENOSPC.
func TestFullDiskKill9RestartDeliversEveryAcceptedMessage(t *testing.T) {
	if testing.Short() && os.Getenv("CI") != "true" {
		t.Skip("runs the built binary on a tmpfs; skipped with -short")
	}
	if os.Geteuid() != 0 && os.Getenv("CI") != "true" {
		t.Skip("mounting a size-limited tmpfs needs root")
	}
	bin := buildBinary(t)
	for _, floor := range []int64{4 << 20, 0} {
		t.Run(fmt.Sprintf("min_free=%d", floor), func(t *testing.T) {
			dir := t.TempDir()
			data := filepath.Join(dir, "data")
			if err := os.Mkdir(data, 0o700); err != nil {
				t.Fatal(err)
			}
			mountTmpfs(t, data, fullDiskSize)
			fullDiskRun(t, bin, dir, data, floor)
		})
	}
}

// fullDiskRun is one run of the full-disk test with the data folder on the
// file system mounted on data and queue.min_free set to floor.
func fullDiskRun(t *testing.T, bin, dir, data string, floor int64) {
	var deferAll atomic.Bool
	deferAll.Store(true)
	sink := smtpsink.Start(t, smtpsink.Options{RcptReply: func(string) *smtp.SMTPError {
		if deferAll.Load() {
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 4, 5}, Message: "try later"}
		}
		return nil
	}})
	cfg := fullDiskConfig(t, dir, data, sink.Addr, floor)

	var proc atomic.Pointer[exec.Cmd]
	t.Cleanup(func() { // before the unmount
		if p := proc.Load(); p != nil {
			p.Process.Kill()
			p.Wait()
		}
	})
	var listen atomic.Pointer[string]
	none := ""
	listen.Store(&none)
	start := func() {
		p, addr := startProcess(t, bin, cfg)
		proc.Store(p)
		listen.Store(&addr)
	}
	start()

	st := &loadStats{}
	stop := make(chan struct{})
	stopSenders := sync.OnceFunc(func() { close(stop) })
	defer stopSenders()
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fullDiskSender(w, func() string { return *listen.Load() }, stop, st)
		}()
	}

	// 1. Mail fills the disk down to the floor: 452 4.3.1 from then on. The
	// wait is generous: on a loaded machine the senders fill 24 MB slowly.
	if !waitCount(st.full.Load, 20, 90*time.Second) {
		t.Fatalf("no 452 4.3.1 after 90 s: %d accepted, %d refused as full", st.ok.Load(), st.full.Load())
	}
	filledAt := st.ok.Load()
	// 2. Another writer takes the rest of the disk, to the last block.
	filler := fillDisk(t, data)
	full := st.full.Load()
	if !waitCount(st.full.Load, full+20, 30*time.Second) {
		t.Fatalf("no 452 4.3.1 on the completely full disk after 30 s")
	}
	// 3. SIGKILL, and a restart on the full disk, under load.
	listen.Store(&none)
	p := proc.Load()
	p.Process.Kill()
	p.Wait()
	restartAt := time.Now()
	start()
	t.Logf("restarted on the full disk in %v", time.Since(restartAt).Round(time.Millisecond))
	full = st.full.Load()
	if !waitCount(st.full.Load, full+20, 30*time.Second) {
		t.Fatalf("no 452 4.3.1 after the restart on the full disk")
	}
	stopSenders()
	wg.Wait()
	acceptedWhileFull := st.ok.Load() - filledAt

	// 4. Space freed, delivery allowed: every 250 arrives.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	deferAll.Store(false)
	want := st.ok.Load()
	if want < 100 {
		t.Fatalf("only %d messages acknowledged: the disk was not filled by mail", want)
	}
	missing, got := waitAllAcked(sink, &st.acked, 90*time.Second)
	dups := 0
	for _, n := range got {
		dups += n - 1
	}
	t.Logf("sent %d: %d answered 250 (%d of them after the floor was first reached), %d answered 452 4.3.1, %d connections lost or refused; delivered %d distinct, %d duplicates",
		st.sent.Load(), want, acceptedWhileFull, st.full.Load(), st.dropped.Load(), len(got), dups)
	st.mu.Lock()
	wrong := st.wrong
	st.mu.Unlock()
	if len(wrong) > 0 {
		t.Errorf("%d replies other than 250 and 452 4.3.1, e.g. %q", len(wrong), wrong[:min(3, len(wrong))])
	}
	if len(missing) > 0 {
		t.Fatalf("%d of %d acknowledged messages never delivered, e.g. %s", len(missing), want,
			strings.Join(missing[:min(5, len(missing))], " "))
	}

	// 5. With the queue delivered, the spool's space comes back and new
	// mail is accepted again.
	id := "after-full@clinic.example.org"
	var err error
	if !testenv.Poll(30*time.Second, func() bool {
		err = sendPlain(*listen.Load(), id)
		return err == nil
	}) {
		t.Fatalf("new mail after the queue was delivered: %v", err)
	}
	testenv.WaitFor(t, 30*time.Second, "the mail accepted after the full disk delivered", func() bool {
		return messageIDs(sink.Messages())["<"+id+">"] > 0
	})
}
