package ebpfsource

// bpf2go compiles bpf/procmon.bpf.c for little- and big-endian machines into
// procmon_bpfel.o and procmon_bpfeb.o, and writes the Go files that embed
// them. `make generate` runs it with Debian's clang and libbpf-dev headers,
// and records the sources' hashes in bpf/sources.sha256.
//go:generate go tool -modfile=../tools/go.mod bpf2go -cc clang -cflags "-O2 -g -Wall -Werror" -no-global-types -type exec_record procmon bpf/procmon.bpf.c
