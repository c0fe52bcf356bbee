package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/sealgate/sealgate/passwd"
)

// cmdPasswd is `sealgate passwd`: it reads a password (twice, without
// echo, on a terminal; one line otherwise) and prints its hash.
func cmdPasswd(_ *invocation, io stdio) int {
	pw, err := readPassword(io)
	if err != nil {
		return io.fail("%v", err)
	}
	if len(pw) < 12 {
		return io.fail("password too short: use at least 12 characters")
	}
	h, err := passwd.Hash(pw)
	if err != nil {
		return io.fail("%v", err)
	}
	fmt.Fprintln(io.out, h)
	return 0
}

func readPassword(io stdio) ([]byte, error) {
	if f, ok := io.in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(io.err, "Password: ")
		a, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprint(io.err, "\nAgain: ")
		if err != nil {
			return nil, err
		}
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(io.err)
		if err != nil {
			return nil, err
		}
		if string(a) != string(b) {
			return nil, fmt.Errorf("passwords do not match")
		}
		return a, nil
	}
	line, err := bufio.NewReader(io.in).ReadString('\n')
	if err != nil && line == "" {
		return nil, fmt.Errorf("no password on standard input")
	}
	return []byte(strings.TrimRight(line, "\r\n")), nil
}
