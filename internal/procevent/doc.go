// Package procevent is the contract between procmon's monitor and the
// sources of kernel process events (the netlink proc connector, the eBPF
// event stream, a fake in tests): the events a source decodes, the sink it
// hands them to, and what a source must do. It imports nothing of procmon,
// so a source depends on this contract and not on the monitor.
package procevent
