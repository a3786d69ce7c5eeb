// Package config holds the settings of the serve command, each group with
// the flags and STOPSCOPE_* variables that set it and the checks it must
// pass once parsed. cmd/dashboard wires them into Main.
package config
