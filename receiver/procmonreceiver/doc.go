// Package procmonreceiver is an OpenTelemetry Collector receiver that reports
// every process exec and exit on a Linux host as a log record, from the
// kernel's process events, and its own counters as metrics.
package procmonreceiver // import "github.com/procmon-otel/procmon/receiver/procmonreceiver"
