// Package filter decides which processes procmon reports, from the include,
// exclude and containers settings of the receiver's configuration.
//
// A process is kept when it passes all three, checked in this order:
//
//   - containers: "any" (the default) keeps every process, "host" only those
//     with no container id, "containers" only those with one;
//   - include: when present, the process must match the block;
//   - exclude: when present, the process must not match the block.
//
// A block (include or exclude) may list names, paths and uids. A process
// matches a block when it matches every kind of criterion the block lists
// (AND across kinds), and it matches a kind when it matches at least one
// entry of that list (OR within a list). So `names: [curl, wget]` with
// `uids: [0]` matches curl or wget run as root. Names are compared with the
// executable's base name, paths with the executable's full path, uids with
// the effective user id.
//
// What is unknown never matches: a process whose name is "" matches no names
// entry, one whose path is "" no paths entry, and one whose uid is unknown no
// uids entry. Such a process therefore fails an include block that lists that
// kind, and is dropped; it cannot match an exclude block that lists that kind,
// and is kept.
//
// match_type says how names and paths are compared (uids are always equal or
// not):
//
//   - strict (the default): exact, case-sensitive equality;
//   - regexp: Go RE2 syntax, unanchored as in the collector's process scraper,
//     so "ssh" matches "sshd" and "/usr/bin/ssh"; write "^ssh$" for the whole
//     string;
//   - glob: path.Match syntax (*, ?, [a-z], \ escapes), matching the whole
//     string. In paths, * and ? do not cross a "/", and a segment that is
//     exactly "**" matches zero or more whole segments: "/usr/**/bin/*"
//     matches "/usr/bin/ls" and "/usr/local/bin/ls", and "/opt/**" matches
//     "/opt" and everything below it. "**" inside a segment ("/opt/**bin") is
//     rejected. In names, which hold no "/", "**" is the same as "*".
//
// Validate and New name the offending key by its full path in the receiver's
// configuration, in which this Config sits under the key "filter": sections
// are joined with "::" and list entries are indexed from zero in brackets, as
// in `filter::include::names[1]: error parsing regexp: ...`. A receiver
// config that embeds Config as a field (of the same type) makes the
// collector's recursive validation call Validate a second time and prefix
// "filter: " again; see the package tests for a field type that avoids it.
package filter
