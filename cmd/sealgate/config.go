package main

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"

	"github.com/sealgate/sealgate/config"
)

// loadConfig reads --config, or returns the no-config defaults rooted in
// the working directory when path is "".
func loadConfig(path string) (*config.Config, error) {
	if path == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, err
		}
		return config.Default(wd), nil
	}
	return config.Load(path)
}

func newFlags(name string, io stdio) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.err)
	return fs
}

// cmdConfig is `sealgate config check [--config FILE]`.
func cmdConfig(args []string, io stdio) int {
	if len(args) == 0 || args[0] != "check" {
		return io.fail("usage: sealgate config check [--config FILE]")
	}
	fl := newFlags("config check", io)
	path := fl.String("config", "", "config file")
	if err := fl.Parse(args[1:]); err != nil {
		return 2
	}
	if *path == "" {
		*path = "sealgate.yaml"
		if _, err := os.Stat(*path); errors.Is(err, fs.ErrNotExist) {
			return io.fail("no --config given and no sealgate.yaml here")
		}
	}
	if _, err := config.Load(*path); err != nil {
		fmt.Fprintln(io.err, err)
		return 1
	}
	fmt.Fprintf(io.out, "%s: ok\n", *path)
	return 0
}
