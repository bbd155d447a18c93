// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * procmon's eBPF event stream: one record per process exec (with what it
 * ran, read at the moment it ran it), per new process and per process exit
 * (when its last thread ends, with the status its parent's wait sees).
 * Records go to one ring buffer; the Go side (source_linux.go) reads them.
 */
#include "kernel.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "record.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Bounds of what an exec record holds. */
#define PATH_MAX 4096     /* one path, as the kernel bounds it */
#define NAME_MASK 0x1ff   /* one path component, bounded for the verifier */
#define MAX_DEPTH 32      /* components walked per path; a power of two */
#define DATA_MASK 0x3fff  /* where the three paths end, at most */
#define ARGS_CAP 32768    /* the most argument bytes a record carries */

/* Set by the loader before the programs load. */
const volatile __u32 args_max = 4096;          /* argument bytes to capture, <= ARGS_CAP */
const volatile __u64 wakeup_interval_ns = 4000000; /* see wakeup_flags */
const volatile __u64 wakeup_bytes = 1 << 20;

/* Records that could not be put in the ring buffer (it was full). */
__u64 lost;
/* When the reader was last woken up. */
__u64 last_wakeup;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 23); /* the loader sets the size */
} events SEC(".maps");

struct component {
	const unsigned char *name;
	__u32 len;
	__u32 pad;
};

/*
 * The state of a path walk. It lives in the scratch slot, not in registers:
 * the verifier then sees each value as unknown when it is loaded, so the
 * states of one loop iteration match the next one's and its checks stay
 * linear in the loop's length.
 */
struct walk {
	__u64 dentry; /* or kernfs_node */
	__u64 mnt;
	__u32 n;      /* names collected */
	__u32 done;   /* the walk reached a root */
	__u32 start;  /* where the path starts in data */
	__u32 off;    /* where it ends */
	__u32 cut;
	__u32 pad;
};

/*
 * An exec record is built here, one slot per CPU (the loader sizes the map),
 * since it is far larger than the 512-byte stack. Only the exec program uses
 * it, and the kernel never runs a program twice at once on one CPU.
 */
struct scratch {
	struct exec_record rec;
	__u8 data[DATA_MASK + 1 + ARGS_CAP];
	struct component names[MAX_DEPTH];
	struct walk w;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1); /* the loader sets one per possible CPU */
	__type(key, __u32);
	__type(value, struct scratch);
} scratch SEC(".maps");

/*
 * wakeup_flags decides whether a record wakes the reader. Waking it per
 * record costs more than the rest of the record's trip, so a record wakes it
 * only when none did for wakeup_interval_ns, or when the ring holds
 * wakeup_bytes. The reader, once woken, polls again within a little more than
 * wakeup_interval_ns (source_linux.go), which picks up what came unwoken.
 */
static __always_inline __u64 wakeup_flags(void)
{
	__u64 now = bpf_ktime_get_ns();

	if (now - last_wakeup >= wakeup_interval_ns ||
	    bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= wakeup_bytes) {
		last_wakeup = now;
		return BPF_RB_FORCE_WAKEUP;
	}
	return BPF_RB_NO_WAKEUP;
}

static __always_inline void emit(void *rec, __u64 size)
{
	if (bpf_ringbuf_output(&events, rec, size, wakeup_flags()))
		__sync_fetch_and_add(&lost, 1);
}

static __always_inline void fill_header(struct header *h, __u32 kind)
{
	h->kind = kind;
	h->cpu = bpf_get_smp_processor_id();
	h->ktime = bpf_ktime_get_ns();
}

static __always_inline __s32 pid_of(struct signal_struct *sig, int type)
{
	struct pid *p = BPF_CORE_READ(sig, pids[type]);

	if (!p)
		return 0;
	return BPF_CORE_READ(p, numbers[0].nr);
}

/* fill_task describes the process p leads, as /proc/<tgid>/stat would. */
static __always_inline void fill_task(struct task *t, struct task_struct *p)
{
	struct task_struct *leader = BPF_CORE_READ(p, group_leader);
	struct task_struct *parent = BPF_CORE_READ(p, real_parent);
	struct signal_struct *sig = BPF_CORE_READ(p, signal);

	t->pid = BPF_CORE_READ(p, pid);
	t->tgid = BPF_CORE_READ(p, tgid);
	t->ppid = BPF_CORE_READ(parent, tgid);
	t->parent_pid = BPF_CORE_READ(parent, pid);
	t->pgid = pid_of(sig, bpf_core_enum_value(enum pid_type, PIDTYPE_PGID));
	t->sid = pid_of(sig, bpf_core_enum_value(enum pid_type, PIDTYPE_SID));
	t->flags = BPF_CORE_READ(sig, tty) ? TASK_TTY : 0;
	t->pad = 0;
	t->start_boottime = BPF_CORE_READ(leader, start_boottime);
	BPF_CORE_READ_INTO(&t->comm, leader, comm);
}

static __always_inline bool is_root(struct dentry *d)
{
	return BPF_CORE_READ(d, d_parent) == d;
}

static __always_inline struct scratch *scratch_slot(void)
{
	__u32 cpu = bpf_get_smp_processor_id();

	return bpf_map_lookup_elem(&scratch, &cpu);
}

/* What put_path and put_cgroup return: the length, and flags above it. */
#define PUT_LEN 0xffff
#define PUT_CUT (1 << 16)
#define PUT_DELETED (1 << 17)

/* walk_mount_step takes one step of a path walk up from s->w.dentry. */
static __always_inline void walk_mount_step(struct scratch *s)
{
	struct dentry *d = (struct dentry *)s->w.dentry;
	struct mount *m = (struct mount *)s->w.mnt;
	struct dentry *parent = BPF_CORE_READ(d, d_parent);
	__u32 n;

	if (d == BPF_CORE_READ(m, mnt.mnt_root)) {
		struct mount *up = BPF_CORE_READ(m, mnt_parent);

		if (up == m) {
			s->w.done = 1; /* the root of the mount namespace */
			return;
		}
		s->w.dentry = (__u64)BPF_CORE_READ(m, mnt_mountpoint);
		s->w.mnt = (__u64)up;
		return;
	}
	if (d == parent) {
		s->w.done = 1;
		return;
	}
	n = s->w.n & (MAX_DEPTH - 1);
	s->names[n].name = BPF_CORE_READ(d, d_name.name);
	s->names[n].len = BPF_CORE_READ(d, d_name.len);
	s->w.n = n + 1;
	s->w.dentry = (__u64)parent;
}

static __always_inline struct kernfs_node *kn_parent(struct kernfs_node *kn)
{
	if (bpf_core_field_exists(kn->__parent))
		return BPF_CORE_READ(kn, __parent);
	return BPF_CORE_READ((struct kernfs_node___pre615 *)kn, parent);
}

/* walk_kernfs_step takes one step of a cgroup walk up from s->w.dentry. */
static __always_inline void walk_kernfs_step(struct scratch *s)
{
	struct kernfs_node *kn = (struct kernfs_node *)s->w.dentry;
	struct kernfs_node *parent = kn ? kn_parent(kn) : 0;
	__u32 n;

	if (!parent) {
		s->w.done = 1; /* the hierarchy's root has no name */
		return;
	}
	n = s->w.n & (MAX_DEPTH - 1);
	s->names[n].name = (const unsigned char *)BPF_CORE_READ(kn, name);
	s->names[n].len = 0; /* NUL-terminated */
	s->w.n = n + 1;
	s->w.dentry = (__u64)parent;
}

/*
 * write_names writes the names collected, root first, each after a '/', at
 * data[s->w.start], and returns the length with PUT_CUT when they do not fit
 * in PATH_MAX. A name of length 0 is read up to its NUL.
 */
static __always_inline __u32 write_names(struct scratch *s)
{
	s->w.off = s->w.start;
	if (s->w.n == 0) {
		s->data[s->w.start & DATA_MASK] = '/';
		return 1;
	}
	for (int j = 0; j < MAX_DEPTH; j++) {
		__u32 n = s->w.n, off = s->w.off;
		struct component *c;
		long len;

		if (j >= n || s->w.cut)
			break;
		if (off - s->w.start + 2 > PATH_MAX) {
			s->w.cut = 1;
			break;
		}
		c = &s->names[(n - 1 - j) & (MAX_DEPTH - 1)];
		s->data[off & DATA_MASK] = '/';
		off++;
		if (c->len) {
			len = c->len & NAME_MASK;
			bpf_probe_read_kernel(&s->data[off & DATA_MASK], len, c->name);
		} else {
			/* Its NUL is overwritten by the next '/' or left out. */
			len = bpf_probe_read_kernel_str(&s->data[off & DATA_MASK], NAME_MASK, c->name);
			len = len > 0 ? len - 1 : 0;
		}
		if (off - s->w.start + len > PATH_MAX) {
			s->w.cut = 1;
			len = PATH_MAX - (off - s->w.start);
		}
		s->w.off = off + (len & NAME_MASK);
	}
	return (s->w.off - s->w.start) & PUT_LEN;
}

/*
 * put_path writes the path of (dentry, vfsmnt) at data[off] of this CPU's
 * scratch slot as readlink of /proc/<pid>/exe or cwd shows it, crossing mount
 * points up to the root of the mount namespace. It returns the length, with
 * PUT_CUT when the path is longer than PATH_MAX or deeper than MAX_DEPTH, and
 * PUT_DELETED when it was unlinked (the reader adds " (deleted)", as the
 * kernel does). A global function, so that the verifier checks it once
 * rather than at every call.
 */
__noinline __u32 put_path(__u32 off, __u64 dentry_addr, __u64 vfsmnt_addr)
{
	struct dentry *dentry = (struct dentry *)dentry_addr;
	struct vfsmount *vfsmnt = (struct vfsmount *)vfsmnt_addr;
	struct scratch *s = scratch_slot();
	__u32 ret = 0;

	if (!s || !dentry || !vfsmnt)
		return 0;
	s->w.dentry = dentry_addr;
	s->w.mnt = vfsmnt_addr - bpf_core_field_offset(struct mount, mnt);
	s->w.n = 0;
	s->w.done = 0;
	s->w.cut = 0;
	s->w.start = off;
	if (is_root(dentry) && dentry != BPF_CORE_READ(vfsmnt, mnt_root)) {
		/* A file of no directory (memfd, anonymous): the kernel shows
		 * "/name (deleted)". */
		s->names[0].name = BPF_CORE_READ(dentry, d_name.name);
		s->names[0].len = BPF_CORE_READ(dentry, d_name.len);
		s->w.n = 1;
		s->w.done = 1;
		ret |= PUT_DELETED;
	} else if (!BPF_CORE_READ(dentry, d_hash.pprev) && !is_root(dentry)) {
		ret |= PUT_DELETED;
	}
	for (int i = 0; i < MAX_DEPTH; i++) {
		if (s->w.done)
			break;
		walk_mount_step(s);
	}
	if (!s->w.done)
		s->w.cut = 1;
	ret |= write_names(s);
	if (s->w.cut)
		ret |= PUT_CUT;
	return ret;
}

/* put_cgroup writes the path of a cgroup within its hierarchy, as put_path does. */
__noinline __u32 put_cgroup(__u32 off, __u64 cgroup_addr)
{
	struct scratch *s = scratch_slot();
	__u32 ret = 0;

	if (!s || !cgroup_addr)
		return 0;
	s->w.dentry = (__u64)BPF_CORE_READ((struct cgroup *)cgroup_addr, kn);
	s->w.n = 0;
	s->w.done = 0;
	s->w.cut = 0;
	s->w.start = off;
	for (int i = 0; i < MAX_DEPTH; i++) {
		if (s->w.done)
			break;
		walk_kernfs_step(s);
	}
	if (!s->w.done)
		s->w.cut = 1;
	ret |= write_names(s);
	if (s->w.cut)
		ret |= PUT_CUT;
	return ret;
}

/*
 * cgroup_of picks the cgroup that stands for the process, as procfs.ParseCgroup
 * does from /proc/<pid>/cgroup: the cgroup v2 one unless it is the root while
 * the pids, memory or cpu controller of v1 places the process deeper.
 */
static __always_inline struct cgroup *cgroup_of(struct task_struct *p)
{
	struct css_set *cs = BPF_CORE_READ(p, cgroups);
	struct cgroup *dfl = BPF_CORE_READ(cs, dfl_cgrp);
	int ids[3] = {-1, -1, -1};

	if (dfl && kn_parent(BPF_CORE_READ(dfl, kn)))
		return dfl;
	if (bpf_core_enum_value_exists(enum cgroup_subsys_id, pids_cgrp_id))
		ids[0] = bpf_core_enum_value(enum cgroup_subsys_id, pids_cgrp_id);
	if (bpf_core_enum_value_exists(enum cgroup_subsys_id, memory_cgrp_id))
		ids[1] = bpf_core_enum_value(enum cgroup_subsys_id, memory_cgrp_id);
	if (bpf_core_enum_value_exists(enum cgroup_subsys_id, cpu_cgrp_id))
		ids[2] = bpf_core_enum_value(enum cgroup_subsys_id, cpu_cgrp_id);
	for (int i = 0; i < 3; i++) {
		struct cgroup_subsys_state *css;
		struct cgroup *cg;

		if (ids[i] < 0 || ids[i] >= 16)
			continue;
		css = BPF_CORE_READ(cs, subsys[ids[i]]);
		if (!css)
			continue;
		cg = BPF_CORE_READ(css, cgroup);
		if (cg && kn_parent(BPF_CORE_READ(cg, kn)))
			return cg;
	}
	return dfl;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(handle_exec, struct task_struct *p, int old_pid, struct linux_binprm *bprm)
{
	struct scratch *s = scratch_slot();
	struct exec_record *r;
	const struct cred *cred;
	struct mm_struct *mm;
	struct file *exe;
	struct fs_struct *fs;
	struct cgroup *cg;
	__u64 a0, a1, alen;
	__u32 off = 0, put;

	if (!s)
		return 0;
	r = &s->rec;
	fill_header(&r->h, RECORD_EXEC);
	fill_task(&r->t, p);
	cred = BPF_CORE_READ(p, real_cred);
	r->uid[0] = BPF_CORE_READ(cred, uid.val);
	r->uid[1] = BPF_CORE_READ(cred, euid.val);
	r->uid[2] = BPF_CORE_READ(cred, suid.val);
	r->uid[3] = BPF_CORE_READ(cred, fsuid.val);
	r->gid[0] = BPF_CORE_READ(cred, gid.val);
	r->gid[1] = BPF_CORE_READ(cred, egid.val);
	r->gid[2] = BPF_CORE_READ(cred, sgid.val);
	r->gid[3] = BPF_CORE_READ(cred, fsgid.val);
	r->cgroup_id = bpf_get_current_cgroup_id();
	r->argc = BPF_CORE_READ(bprm, argc);
	r->flags = 0;
	r->pad = 0;
	r->pad2 = 0;

	mm = BPF_CORE_READ(p, mm);
	exe = BPF_CORE_READ(mm, exe_file);
	if (exe) {
		put = put_path(off, (__u64)BPF_CORE_READ(exe, f_path.dentry), (__u64)BPF_CORE_READ(exe, f_path.mnt));
		if (put & PUT_CUT)
			r->flags |= EXEC_EXE_CUT;
		if (put & PUT_DELETED)
			r->flags |= EXEC_EXE_DELETED;
	} else {
		put = 0;
		r->flags |= EXEC_NO_EXE;
	}
	r->exe_len = put & PUT_LEN;
	off += put & PUT_LEN;

	fs = BPF_CORE_READ(p, fs);
	if (fs) {
		put = put_path(off, (__u64)BPF_CORE_READ(fs, pwd.dentry), (__u64)BPF_CORE_READ(fs, pwd.mnt));
		if (put & PUT_CUT)
			r->flags |= EXEC_CWD_CUT;
		if (put & PUT_DELETED)
			r->flags |= EXEC_CWD_DELETED;
	} else {
		put = 0;
		r->flags |= EXEC_NO_CWD;
	}
	r->cwd_len = put & PUT_LEN;
	off += put & PUT_LEN;

	cg = cgroup_of(p);
	if (cg) {
		put = put_cgroup(off, (__u64)cg);
		if (put & PUT_CUT)
			r->flags |= EXEC_CGROUP_CUT;
	} else {
		put = 0;
		r->flags |= EXEC_NO_CGROUP;
	}
	r->cgroup_len = put & PUT_LEN;
	off += put & PUT_LEN;
	off &= DATA_MASK;

	a0 = BPF_CORE_READ(mm, arg_start);
	a1 = BPF_CORE_READ(mm, arg_end);
	alen = a1 > a0 ? a1 - a0 : 0;
	if (alen > args_max) {
		alen = args_max;
		r->flags |= EXEC_ARGS_CUT;
	}
	if (alen > ARGS_CAP)
		alen = ARGS_CAP;
	if (alen && bpf_probe_read_user(&s->data[off], alen, (void *)a0)) {
		alen = 0;
		r->flags |= EXEC_NO_ARGS;
	}
	r->args_len = alen;
	emit(r, sizeof(*r) + off + alen);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(handle_fork, struct task_struct *parent, struct task_struct *child)
{
	struct fork_record r;

	if (BPF_CORE_READ(child, pid) != BPF_CORE_READ(child, tgid))
		return 0; /* a new thread */
	fill_header(&r.h, RECORD_FORK);
	fill_task(&r.t, child);
	emit(&r, sizeof(r));
	return 0;
}

/*
 * exit_status is what the parent's wait sees: the group's exit code once the
 * group was told to exit (exit_group, a fatal signal, or the last thread's
 * exit, which the kernel records the same way), else the task's own.
 */
static __always_inline __u32 exit_status(struct task_struct *p)
{
	struct signal_struct *sig = BPF_CORE_READ(p, signal);

	if (BPF_CORE_READ(sig, flags) & SIGNAL_GROUP_EXIT)
		return BPF_CORE_READ(sig, group_exit_code);
	return BPF_CORE_READ(p, exit_code);
}

static __always_inline void process_exit(struct task_struct *p)
{
	struct exit_record r;

	fill_header(&r.h, RECORD_EXIT);
	fill_task(&r.t, p);
	r.t.pid = r.t.tgid; /* the last thread may not be the leader */
	r.status = exit_status(p);
	r.pad = 0;
	emit(&r, sizeof(r));
}

/* Linux 6.16 and later say whether a task's exit ends its thread group. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(handle_exit, struct task_struct *p, bool group_dead)
{
	if (group_dead)
		process_exit(p);
	return 0;
}

/* The processes whose exit handle_exit_live reported, by tgid and start time. */
struct exit_key {
	__u64 start_boottime;
	__s32 tgid;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct exit_key);
	__type(value, __u8);
} exited SEC(".maps");

/*
 * Before 6.16 the exit tracepoint fires for every thread and does not say
 * which is the last. do_exit has already taken the thread off signal->live
 * when it fires, so the last thread sees 0 there; two threads that exit at
 * once may both see 0, and the first to claim the process in exited reports
 * it. The loader attaches this program instead of handle_exit on such
 * kernels.
 */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(handle_exit_live, struct task_struct *p)
{
	struct exit_key key = {};
	__u8 one = 1;

	if (BPF_CORE_READ(p, signal, live.counter) != 0)
		return 0;
	key.tgid = BPF_CORE_READ(p, tgid);
	key.start_boottime = BPF_CORE_READ(p, group_leader, start_boottime);
	if (bpf_map_update_elem(&exited, &key, &one, BPF_NOEXIST))
		return 0; /* another thread of it reported the exit */
	process_exit(p);
	return 0;
}
