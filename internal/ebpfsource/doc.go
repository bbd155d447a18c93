// Package ebpfsource is procmon's eBPF event stream: BPF programs on the
// kernel's sched_process_exec, sched_process_fork and sched_process_exit
// tracepoints that capture, at the moment a process runs a program, what it
// ran (executable, arguments, working directory, ids, cgroup), and when its
// last thread ends, the status its parent's wait sees. They hand records to
// user space through one BPF ring buffer, which a procevent.Source reads.
//
// The BPF C lives in bpf/; `make generate` compiles it with bpf2go into the
// committed procmon_bpf{el,eb}.go and .o files, so that building procmon
// needs no C compiler. bpf/sources.sha256 records the C sources those files
// were made from, and a test fails when they differ.
package ebpfsource
