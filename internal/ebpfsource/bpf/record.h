/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The records procmon's BPF programs put in the ring buffer. The Go decoder
 * (record.go) reads them at the offsets these structs give, and a Go test
 * checks those offsets against the layout bpf2go generates from this file.
 */
#ifndef PROCMON_RECORD_H
#define PROCMON_RECORD_H

enum record_kind {
	RECORD_EXEC = 1,
	RECORD_EXIT = 2,
	RECORD_FORK = 3,
};

/* task.flags */
enum task_flag {
	TASK_TTY = 1 << 0, /* the process has a controlling terminal */
};

/* exec_record.flags */
enum exec_flag {
	EXEC_EXE_CUT = 1 << 0,       /* exe is a prefix: too long or too deep */
	EXEC_CWD_CUT = 1 << 1,       /* cwd likewise */
	EXEC_CGROUP_CUT = 1 << 2,    /* cgroup likewise */
	EXEC_ARGS_CUT = 1 << 3,      /* args holds the first args_max bytes */
	EXEC_EXE_DELETED = 1 << 4,   /* the executable was unlinked */
	EXEC_CWD_DELETED = 1 << 5,   /* the working directory was removed */
	EXEC_NO_EXE = 1 << 6,        /* the executable could not be read */
	EXEC_NO_CWD = 1 << 7,        /* the working directory could not be read */
	EXEC_NO_CGROUP = 1 << 8,     /* the cgroup could not be read */
	EXEC_NO_ARGS = 1 << 9,       /* the arguments could not be read */
};

/* What every record starts with. */
struct header {
	__u32 kind;  /* enum record_kind */
	__u32 cpu;   /* the CPU the program ran on */
	__u64 ktime; /* CLOCK_MONOTONIC, ns */
};

/* A process as /proc/<pid>/stat describes it. */
struct task {
	__s32 pid;             /* for fork, the child */
	__s32 tgid;
	__s32 ppid;            /* the real parent's thread group */
	__s32 parent_pid;      /* the real parent thread */
	__s32 pgid;
	__s32 sid;
	__u32 flags;           /* enum task_flag */
	__u32 pad;
	__u64 start_boottime;  /* CLOCK_BOOTTIME at fork, ns */
	char comm[16];
};

/*
 * An exec, followed by data[]: exe_len bytes of executable path, cwd_len of
 * working directory, cgroup_len of cgroup path, then args_len bytes of
 * arguments, each NUL-terminated as in /proc/<pid>/cmdline. No terminator
 * follows the paths.
 */
struct exec_record {
	struct header h;
	struct task t;
	__u32 uid[4]; /* real, effective, saved, filesystem */
	__u32 gid[4];
	__u64 cgroup_id;
	__u32 argc;
	__u32 flags; /* enum exec_flag */
	__u16 exe_len;
	__u16 cwd_len;
	__u16 cgroup_len;
	__u16 pad;
	__u32 args_len;
	__u32 pad2;
};

/* The end of a whole process: its last thread has exited. */
struct exit_record {
	struct header h;
	struct task t;
	__u32 status; /* as wait(2) returns it: code << 8 | core << 7 | signal */
	__u32 pad;
};

/* A new process (never a thread). */
struct fork_record {
	struct header h;
	struct task t;
};

#endif
