/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The few kernel types procmon's BPF programs read, declared with only the
 * fields they use. preserve_access_index makes every access a CO-RE
 * relocation, so libbpf-style loaders fix the offsets against the running
 * kernel's BTF; the object never depends on the headers of the machine that
 * built it.
 */
#ifndef PROCMON_KERNEL_H
#define PROCMON_KERNEL_H

typedef unsigned char __u8;
typedef unsigned short __u16;
typedef unsigned int __u32;
typedef unsigned long long __u64;
typedef signed char __s8;
typedef short __s16;
typedef int __s32;
typedef long long __s64;
typedef __u16 __be16;
typedef __u32 __be32;
typedef __u32 __wsum;
typedef __u64 __be64;
typedef _Bool bool;
#define true 1
#define false 0

/* From linux/bpf.h: the uapi values these programs use. */
enum {
	BPF_MAP_TYPE_ARRAY = 2,
	BPF_MAP_TYPE_LRU_HASH = 9,
	BPF_MAP_TYPE_RINGBUF = 27,
};
enum {
	BPF_NOEXIST = 1,
};
enum {
	BPF_RB_NO_WAKEUP = 1,
	BPF_RB_FORCE_WAKEUP = 2,
};
enum {
	BPF_RB_AVAIL_DATA = 0,
};

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

struct qstr {
	union {
		struct {
			__u32 hash;
			__u32 len;
		};
		__u64 hash_len;
	};
	const unsigned char *name;
};

struct hlist_bl_node {
	struct hlist_bl_node *next, **pprev;
};

struct dentry {
	struct hlist_bl_node d_hash;
	struct dentry *d_parent;
	struct qstr d_name;
};

struct vfsmount {
	struct dentry *mnt_root;
};

struct mount {
	struct mount *mnt_parent;
	struct dentry *mnt_mountpoint;
	struct vfsmount mnt;
};

struct path {
	struct vfsmount *mnt;
	struct dentry *dentry;
};

struct file {
	struct path f_path;
};

struct mm_struct {
	unsigned long arg_start;
	unsigned long arg_end;
	struct file *exe_file;
};

struct fs_struct {
	struct path pwd;
};

/* kernfs_node.parent became __parent in Linux 6.15. */
struct kernfs_node {
	struct kernfs_node *__parent;
	const char *name;
};

struct kernfs_node___pre615 {
	struct kernfs_node *parent;
};

struct cgroup {
	struct kernfs_node *kn;
};

struct cgroup_subsys_state {
	struct cgroup *cgroup;
};

struct css_set {
	struct cgroup_subsys_state *subsys[16];
	struct cgroup *dfl_cgrp;
};

struct upid {
	int nr;
};

struct pid {
	struct upid numbers[1];
};

struct tty_struct;

typedef struct {
	int counter;
} atomic_t;

struct signal_struct {
	atomic_t live;
	int group_exit_code;
	unsigned int flags;
	struct pid *pids[4];
	struct tty_struct *tty;
};

typedef struct {
	__u32 val;
} kuid_t;

typedef struct {
	__u32 val;
} kgid_t;

struct cred {
	kuid_t uid;
	kgid_t gid;
	kuid_t suid;
	kgid_t sgid;
	kuid_t euid;
	kgid_t egid;
	kuid_t fsuid;
	kgid_t fsgid;
};

struct task_struct {
	int pid;
	int tgid;
	int exit_code;
	struct task_struct *real_parent;
	struct task_struct *group_leader;
	struct mm_struct *mm;
	struct fs_struct *fs;
	const struct cred *real_cred;
	struct signal_struct *signal;
	struct css_set *cgroups;
	__u64 start_boottime;
	char comm[16];
};

struct linux_binprm {
	int argc;
};

#pragma clang attribute pop

/* Enumerators whose values CO-RE reads from the kernel's BTF. */
enum pid_type {
	PIDTYPE_PGID = 2,
	PIDTYPE_SID = 3,
};

enum cgroup_subsys_id {
	cpu_cgrp_id,
	memory_cgrp_id,
	pids_cgrp_id,
};

/* signal_struct.flags: the thread group was told to exit (linux/sched/signal.h). */
#define SIGNAL_GROUP_EXIT 0x00000004

#endif
