package ebpfsource

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// TestRecordLayout checks the decoder's offsets against the layout bpf2go
// read from bpf/record.h when it compiled the programs.
func TestRecordLayout(t *testing.T) {
	var r procmonExecRecord
	for name, pair := range map[string][2]uintptr{
		"kind":           {offKind, unsafe.Offsetof(r.H.Kind)},
		"cpu":            {offCPU, unsafe.Offsetof(r.H.Cpu)},
		"ktime":          {offKtime, unsafe.Offsetof(r.H.Ktime)},
		"task":           {offTask, unsafe.Offsetof(r.T)},
		"pid":            {offPID, offTask + unsafe.Offsetof(r.T.Pid)},
		"tgid":           {offTGID, offTask + unsafe.Offsetof(r.T.Tgid)},
		"ppid":           {offPPID, offTask + unsafe.Offsetof(r.T.Ppid)},
		"parent_pid":     {offParentPID, offTask + unsafe.Offsetof(r.T.ParentPid)},
		"pgid":           {offPGID, offTask + unsafe.Offsetof(r.T.Pgid)},
		"sid":            {offSID, offTask + unsafe.Offsetof(r.T.Sid)},
		"task flags":     {offTaskFlags, offTask + unsafe.Offsetof(r.T.Flags)},
		"start_boottime": {offStartBoot, offTask + unsafe.Offsetof(r.T.StartBoottime)},
		"comm":           {offComm, offTask + unsafe.Offsetof(r.T.Comm)},
		"end of task":    {taskEnd, offTask + unsafe.Sizeof(r.T)},
		"uid":            {offUID, unsafe.Offsetof(r.Uid)},
		"gid":            {offGID, unsafe.Offsetof(r.Gid)},
		"cgroup_id":      {offCgroupID, unsafe.Offsetof(r.CgroupId)},
		"argc":           {offArgc, unsafe.Offsetof(r.Argc)},
		"exec flags":     {offExecFlags, unsafe.Offsetof(r.Flags)},
		"exe_len":        {offExeLen, unsafe.Offsetof(r.ExeLen)},
		"cwd_len":        {offCwdLen, unsafe.Offsetof(r.CwdLen)},
		"cgroup_len":     {offCgroupLen, unsafe.Offsetof(r.CgroupLen)},
		"args_len":       {offArgsLen, unsafe.Offsetof(r.ArgsLen)},
		"exec record":    {execRecordLen, unsafe.Sizeof(r)},
	} {
		require.Equal(t, pair[1], pair[0], "offset of %s", name)
	}
	// struct exit_record and fork_record are the header and task, then a
	// u32 status and its padding for an exit.
	require.Equal(t, taskEnd, forkRecordLen)
	require.Equal(t, taskEnd+8, exitRecordLen)
}
