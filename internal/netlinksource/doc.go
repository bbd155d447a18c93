// Package netlinksource reads process events from the kernel's proc
// connector: a NETLINK_CONNECTOR socket, opened in the root network
// namespace, subscribed to CN_IDX_PROC. It decodes every proc event without
// allocating and counts the events the kernel dropped from the connector's
// per-CPU sequence numbers.
package netlinksource
