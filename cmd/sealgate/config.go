package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/sealgate/sealgate/config"
)

// systemConfig is the last file findConfig tries.
const systemConfig = "/etc/sealgate/sealgate.yaml"

// configSource says where a command's configuration came from; path is ""
// for the built-in safe local defaults.
type configSource struct {
	path string
	why  string // "--config", "SEALGATE_CONFIG", "working folder", "system", "defaults"
}

func (s configSource) String() string {
	if s.path == "" {
		return "built-in defaults (no --config, no SEALGATE_CONFIG, no ./sealgate.yaml, no " + systemConfig + ")"
	}
	return s.path + " (" + s.why + ")"
}

// findConfig is the one rule every command follows (configHelp): --config,
// then $SEALGATE_CONFIG, then ./sealgate.yaml, then /etc/sealgate/sealgate.yaml,
// then the defaults. A file named explicitly need not exist here; Load says
// so when it does not.
func findConfig(flagPath string) configSource {
	if flagPath != "" {
		return configSource{flagPath, "--config"}
	}
	if env := os.Getenv("SEALGATE_CONFIG"); env != "" {
		return configSource{env, "SEALGATE_CONFIG"}
	}
	for _, c := range []configSource{{"sealgate.yaml", "working folder"}, {systemConfig, "system"}} {
		if _, err := os.Stat(c.path); !errors.Is(err, fs.ErrNotExist) {
			return c
		}
	}
	return configSource{why: "defaults"}
}

// loadConfig reads the configuration findConfig picks, or returns the
// defaults rooted in the working folder.
func loadConfig(src configSource) (*config.Config, error) {
	if src.path == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, err
		}
		return config.Default(wd), nil
	}
	return config.Load(src.path)
}

// commandConfig finds and loads the configuration of inv.
func commandConfig(inv *invocation) (*config.Config, configSource, error) {
	src := findConfig(inv.flag("config"))
	cfg, err := loadConfig(src)
	return cfg, src, err
}

// cmdConfigCheck is `sealgate config check`: every problem of the config
// file in one pass, each with file and line.
func cmdConfigCheck(inv *invocation, io stdio) int {
	src := findConfig(inv.flag("config"))
	if src.path == "" {
		return io.fail("config check: no config file found: %s", src)
	}
	if _, err := config.Load(src.path); err != nil {
		fmt.Fprintln(io.err, err)
		return 1
	}
	fmt.Fprintf(io.out, "%s: ok\n", src.path)
	return 0
}
