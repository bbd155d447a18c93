// Package tools pins the code generators procmon's `make generate` runs, in
// a module of their own so that their dependencies never reach the
// receiver's go.mod.
package tools
