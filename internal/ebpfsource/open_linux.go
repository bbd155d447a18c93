package ebpfsource

import (
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/features"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
	"golang.org/x/sys/unix"

	"github.com/procmon-otel/procmon/internal/kernel"
)

// Setup failures, each its own sentence; errors.Is tells them apart.
var (
	ErrPermission = errors.New("the eBPF source needs CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN: " +
		"run the collector as root or grant them")
	ErrNoBTF = errors.New("the eBPF source needs the kernel's BTF type information, which this kernel lacks " +
		"(/sys/kernel/btf/vmlinux, built with CONFIG_DEBUG_INFO_BTF=y)")
	ErrNoRingBuffer = errors.New("the eBPF source needs BPF ring buffers, which this kernel lacks (Linux 5.8 or later)")
	ErrNoHooks      = errors.New("this kernel cannot attach the eBPF source's programs to its process tracepoints " +
		"(BTF-enabled tracepoints, Linux 5.8 or later)")
)

// open checks that the kernel and the collector's privileges allow the eBPF
// source, then loads and attaches its programs and opens the reader of their
// ring buffer.
func open(cfg Config) (*source, error) {
	if err := checkCapabilities(); err != nil {
		return nil, err
	}
	kspec, err := btf.LoadKernelSpec()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoBTF, err)
	}
	if err := features.HaveMapType(ebpf.RingBuf); err != nil {
		if errors.Is(err, ebpf.ErrNotSupported) {
			return nil, fmt.Errorf("%w: %w", ErrNoRingBuffer, err)
		}
		return nil, loadError("probing for BPF ring buffers", err)
	}
	spec, err := loadProcmon()
	if err != nil {
		return nil, fmt.Errorf("reading the embedded eBPF programs: %w", err)
	}
	if err := configure(spec, kspec, cfg); err != nil {
		return nil, err
	}
	coll, err := ebpf.NewCollectionWithOptions(spec, ebpf.CollectionOptions{
		Programs: ebpf.ProgramOptions{KernelTypes: kspec},
	})
	if err != nil {
		return nil, loadError("loading the eBPF programs", err)
	}
	s := &source{coll: coll, interval: cfg.WakeupInterval, batch: cfg.Batch, closed: make(chan struct{}), idle: true}
	if err := s.attach(); err != nil {
		return nil, errors.Join(err, s.release())
	}
	if s.rd, err = ringbuf.NewReader(coll.Maps["events"]); err != nil {
		return nil, errors.Join(fmt.Errorf("opening the eBPF ring buffer: %w", err), s.release())
	}
	if s.ready, s.raw, err = pollable(coll.Maps["events"]); err != nil {
		return nil, errors.Join(fmt.Errorf("polling the eBPF ring buffer: %w", err), s.release())
	}
	s.lostV = coll.Variables["lost"]
	s.statsAt = time.Now()
	// Loading parsed the kernel's BTF, tens of MiB that are garbage now:
	// hand them back at once rather than at the runtime's pace.
	debug.FreeOSMemory()
	return s, nil
}

// checkCapabilities fails when the collector lacks the capabilities that
// loading BPF programs needs, before the kernel answers with a bare EPERM.
func checkCapabilities() error {
	caps, err := kernel.EffectiveCaps()
	if err != nil {
		return err
	}
	has := func(c uint) bool { return caps&(1<<c) != 0 }
	if has(kernel.CapSysAdmin) || has(kernel.CapBPF) && has(kernel.CapPerfmon) {
		return nil
	}
	return ErrPermission
}

// loadError turns a failure of the kernel's into its sentence.
func loadError(what string, err error) error {
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
		return fmt.Errorf("%w: %s: %w", ErrPermission, what, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// configure sets what the programs read at load time, sizes the maps, and
// keeps the one exit program this kernel needs.
func configure(spec *ebpf.CollectionSpec, kspec *btf.Spec, cfg Config) error {
	hook := cfg.ExitHook
	if hook == "" {
		hook = exitLive
		if exitHasGroupDead(kspec) {
			hook = exitGroupDead
		}
	}
	switch hook {
	case exitGroupDead:
		delete(spec.Programs, "handle_exit_live")
		delete(spec.Maps, "exited")
	case exitLive:
		delete(spec.Programs, "handle_exit")
	default:
		return fmt.Errorf("unknown exit hook %q", hook)
	}
	cpus, err := ebpf.PossibleCPU()
	if err != nil {
		return fmt.Errorf("counting the possible CPUs: %w", err)
	}
	spec.Maps["scratch"].MaxEntries = uint32(cpus)
	spec.Maps["events"].MaxEntries = uint32(cfg.RingBufferBytes)
	for name, v := range map[string]any{
		"args_max":           uint32(cfg.MaxArgsBytes),
		"wakeup_interval_ns": uint64(cfg.WakeupInterval),
		"wakeup_bytes":       uint64(cfg.RingBufferBytes / 4),
	} {
		if err := spec.Variables[name].Set(v); err != nil {
			return fmt.Errorf("setting the eBPF programs' %s: %w", name, err)
		}
	}
	return nil
}

// exitHasGroupDead reports whether the sched_process_exit tracepoint says
// whether the exiting task ends its thread group (Linux 6.16 and later):
// its BTF prototype then takes a context, the task, and that flag.
func exitHasGroupDead(kspec *btf.Spec) bool {
	var td *btf.Typedef
	if err := kspec.TypeByName("btf_trace_sched_process_exit", &td); err != nil {
		return false
	}
	ptr, ok := td.Type.(*btf.Pointer)
	if !ok {
		return false
	}
	proto, ok := ptr.Target.(*btf.FuncProto)
	return ok && len(proto.Params) == 3
}

// attach attaches every loaded program to its tracepoint.
func (s *source) attach() error {
	for name, p := range s.coll.Programs {
		l, err := link.AttachTracing(link.TracingOptions{Program: p})
		if err != nil {
			if errors.Is(err, ebpf.ErrNotSupported) {
				return fmt.Errorf("%w: %s: %w", ErrNoHooks, name, err)
			}
			return loadError("attaching the eBPF program "+name, err)
		}
		s.links = append(s.links, l)
		s.progs = append(s.progs, p)
	}
	return nil
}

// pollable returns a copy of the ring buffer's descriptor in the Go
// runtime's poller, which tells when the ring has records to read.
func pollable(ring *ebpf.Map) (*os.File, syscall.RawConn, error) {
	fd, err := unix.FcntlInt(uintptr(ring.FD()), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, nil, err
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		_ = unix.Close(fd)
		return nil, nil, err
	}
	f := os.NewFile(uintptr(fd), "procmon-ringbuf")
	raw, err := f.SyscallConn()
	if err != nil {
		_ = f.Close()
		return nil, nil, err
	}
	return f, raw, nil
}

// release detaches the programs and frees them, their maps and the reader.
func (s *source) release() error {
	var err error
	if s.ready != nil {
		err = s.ready.Close()
		s.ready = nil
	}
	for _, l := range s.links {
		err = errors.Join(err, l.Close())
	}
	s.links = nil
	if s.rd != nil {
		err = errors.Join(err, s.rd.Close())
	}
	s.coll.Close()
	return err
}
