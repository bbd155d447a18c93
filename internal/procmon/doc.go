// Package procmon is procmon's process monitor: it reads process events from
// a Source, keeps what it learnt at exec in a pid table so that exits can say
// what exited, and hands exec and exit events to subscribed callbacks through
// bounded worker queues. It knows nothing of OpenTelemetry.
package procmon
