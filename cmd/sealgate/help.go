package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
)

// configHelp is the one rule every command follows to find its config.
const configHelp = `Every command that reads a configuration finds it the same way, first match wins:
  1. --config FILE (before or after the verb)
  2. the SEALGATE_CONFIG environment variable
  3. sealgate.yaml in the working folder
  4. /etc/sealgate/sealgate.yaml
  5. none: safe local defaults (loopback only, data folder ./sealgate-data)
A file named by 1 or 2 must exist. With defaults, serve and check run; config check
fails (there is no file to check); queue, reload, health, portal and evidence look for a
gateway, store or audit log in ./sealgate-data and never create one.
`

// printHelp writes the help asked for: the command's, a verb group's, or
// the overview (also `sealgate help [COMMAND]`).
func printHelp(inv *invocation, w io.Writer) {
	switch {
	case inv.group != "":
		printGroupHelp(inv.group, w)
	case inv.overview:
		printOverview(w)
	default:
		printCommandHelp(inv.cmd, w)
	}
}

func printOverview(w io.Writer) {
	fmt.Fprintln(w, "sealgate: a zero-trust outbound SMTP gateway for healthcare\n\ncommands:")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, c := range commands {
		fmt.Fprintf(tw, "  %s %s\t%s\n", c.name(), c.args, c.summary)
	}
	tw.Flush()
	fmt.Fprintln(w, "\nFlags may come before or after the command. `sealgate COMMAND --help` for one command.")
	fmt.Fprint(w, "\n"+configHelp)
}

func printGroupHelp(verb string, w io.Writer) {
	fmt.Fprintf(w, "sealgate %s: one of\n", verb)
	for _, sub := range subcommands(verb) {
		c := findCommand(verb, sub)
		fmt.Fprintf(w, "  %s\n      %s\n", c.usageLine(), c.summary)
	}
}

func printCommandHelp(c *command, w io.Writer) {
	fmt.Fprintf(w, "usage: %s\n\n%s\n", c.usageLine(), c.summary)
	if len(c.flags) > 0 {
		fmt.Fprintln(w, "\nflags (before or after the command):")
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, name := range c.flags {
			f, _ := lookupFlag(name)
			fmt.Fprintf(tw, "  --%s %s\t%s\n", name, f.arg, f.help)
		}
		tw.Flush()
	}
	if c.name() == "help" || slices.Contains(c.flags, "config") {
		fmt.Fprint(w, "\n"+configHelp)
	}
}

// cmdHelp is `sealgate help [COMMAND...]`.
func cmdHelp(inv *invocation, io stdio) int {
	if len(inv.args) == 0 {
		printOverview(io.out)
		return 0
	}
	if inv.args[0] == "config" && len(inv.args) == 1 {
		fmt.Fprint(io.out, configHelp)
		return 0
	}
	target, err := parseArgs(append(append([]string{}, inv.args...), "--help"))
	if err != nil {
		fmt.Fprintf(io.err, "sealgate: help: %v\n", err)
		return 2
	}
	printHelp(target, io.out)
	return 0
}

// bashCompletion is the script `sealgate completion bash` prints; the
// word lists are filled from the command table.
const bashCompletion = `# bash completion for sealgate; load with: source <(sealgate completion bash)
_sealgate() {
    local cur prev verb sub i
    cur="${COMP_WORDS[COMP_CWORD]}"
    prev="${COMP_WORDS[COMP_CWORD-1]}"
    case "$prev" in
        --config|-config|--dir|-dir) COMPREPLY=($(compgen -f -- "$cur")); return 0 ;;
%[1]s    esac
    verb=""; sub=""
    for ((i = 1; i < COMP_CWORD; i++)); do
        case "${COMP_WORDS[i]}" in
            -*) ;;
            *) if [[ -z $verb ]]; then verb="${COMP_WORDS[i]}"; elif [[ -z $sub ]]; then sub="${COMP_WORDS[i]}"; fi ;;
        esac
        case "${COMP_WORDS[i]}" in
%[2]s        esac
    done
    if [[ $cur == -* ]]; then
        case "$verb $sub" in
%[3]s            *) COMPREPLY=($(compgen -W "--help" -- "$cur")) ;;
        esac
        return 0
    fi
    if [[ -z $verb ]]; then
        COMPREPLY=($(compgen -W "%[4]s" -- "$cur"))
        return 0
    fi
    if [[ -z $sub ]]; then
        case "$verb" in
%[5]s            check) COMPREPLY=($(compgen -f -- "$cur")) ;;
            completion) COMPREPLY=($(compgen -W "bash" -- "$cur")) ;;
            help) COMPREPLY=($(compgen -W "%[4]s config" -- "$cur")) ;;
        esac
    fi
    return 0
}
complete -F _sealgate sealgate
`

// completionScript fills bashCompletion from the command table.
func completionScript() string {
	var valueFlags, skipValue, flagCases, subCases strings.Builder
	for _, f := range flagTable {
		if f.arg != "" && f.name != "config" && f.name != "dir" {
			fmt.Fprintf(&valueFlags, "        --%s|-%s) return 0 ;;\n", f.name, f.name)
		}
	}
	// A flag's value is not a verb: skip the word after a value flag.
	var names []string
	for _, f := range flagTable {
		if f.arg != "" {
			names = append(names, "--"+f.name, "-"+f.name)
		}
	}
	fmt.Fprintf(&skipValue, "            %s) ((i++)) ;;\n", strings.Join(names, "|"))
	for _, c := range commands {
		key := c.path[0] + " "
		if len(c.path) == 2 {
			key += c.path[1]
		}
		flags := []string{"--help"}
		for _, f := range c.flags {
			flags = append(flags, "--"+f)
		}
		fmt.Fprintf(&flagCases, "            %q) COMPREPLY=($(compgen -W %q -- \"$cur\")) ;;\n", key, strings.Join(flags, " "))
	}
	for _, v := range verbs() {
		if subs := subcommands(v); len(subs) > 0 {
			fmt.Fprintf(&subCases, "            %s) COMPREPLY=($(compgen -W %q -- \"$cur\")) ;;\n", v, strings.Join(subs, " "))
		}
	}
	return fmt.Sprintf(bashCompletion, valueFlags.String(), skipValue.String(), flagCases.String(),
		strings.Join(verbs(), " "), subCases.String())
}

// cmdCompletion is `sealgate completion bash`.
func cmdCompletion(inv *invocation, io stdio) int {
	if inv.args[0] != "bash" {
		return io.fail("completion: only bash is supported (zsh can load it with bashcompinit)")
	}
	fmt.Fprint(io.out, completionScript())
	return 0
}
