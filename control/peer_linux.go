//go:build linux

package control

import (
	"net"
	"os/user"
	"strconv"

	"golang.org/x/sys/unix"
)

// peerCredentials asks the kernel who is connected to c.
func peerCredentials(c net.Conn) Peer {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return Peer{UID: -1}
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return Peer{UID: -1}
	}
	var cred *unix.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil || credErr != nil {
		return Peer{UID: -1}
	}
	p := Peer{UID: int(cred.Uid), PID: int(cred.Pid)}
	if u, err := user.LookupId(strconv.Itoa(p.UID)); err == nil {
		p.User = u.Username
	}
	return p
}
