// Package archtest holds the test that keeps sealgate's import graph in the
// shape docs/architecture.md describes. It has no code of its own: the test
// reads the "Forbidden imports" table from that document, lists every
// package of the module with go/build, and fails on each import a row
// forbids.
package archtest
