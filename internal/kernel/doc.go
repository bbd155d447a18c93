// Package kernel runs code inside other Linux network namespaces, so that
// procmon can open its proc connector socket in the root network namespace
// even when the collector itself runs elsewhere.
package kernel
