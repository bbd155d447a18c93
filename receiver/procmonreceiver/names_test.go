package procmonreceiver

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	conventions "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.yaml.in/yaml/v3"

	"github.com/procmon-otel/procmon/internal/procevent"
	"github.com/procmon-otel/procmon/internal/procmon"
)

// semconvKeys returns the attribute keys of the semantic conventions
// version procmon follows that a record may carry; the compiler checks that
// each is defined there.
func semconvKeys() map[string]bool {
	keys := map[string]bool{}
	for _, k := range []string{
		string(conventions.ProcessPIDKey), string(conventions.ProcessParentPIDKey),
		string(conventions.ProcessExecutableNameKey), string(conventions.ProcessExecutablePathKey),
		string(conventions.ProcessCommandKey), string(conventions.ProcessCommandArgsKey),
		string(conventions.ProcessCommandLineKey), string(conventions.ProcessArgsCountKey),
		string(conventions.ProcessWorkingDirectoryKey), string(conventions.ProcessOwnerKey),
		string(conventions.ProcessUserIDKey), string(conventions.ProcessUserNameKey),
		string(conventions.ProcessRealUserIDKey), string(conventions.ProcessRealUserNameKey),
		string(conventions.ProcessSavedUserIDKey), string(conventions.ProcessSavedUserNameKey),
		string(conventions.ProcessGroupLeaderPIDKey), string(conventions.ProcessSessionLeaderPIDKey),
		string(conventions.ProcessCreationTimeKey), string(conventions.ProcessInteractiveKey),
		string(conventions.ProcessLinuxCgroupKey), string(conventions.ProcessExitCodeKey),
		string(conventions.ProcessExitTimeKey), string(conventions.ContainerIDKey),
	} {
		keys[k] = true
	}
	return keys
}

// everyRecord builds a record of every kind, an exit by signal and one with
// core dumped, a scan record and a rescan one, each from a process with
// every field known.
func everyRecord(t *testing.T) []plog.LogRecord {
	var evs []*procmon.ProcessEvent
	for _, k := range procevent.Kinds() {
		ev := recordEvent(k)
		ev.PrevKnown = true
		ev.Kernel = procevent.Event{Kind: k, RealID: 1001, EffectiveID: 1001, TracerTGID: 7, Comm: [16]byte{'x'}}
		evs = append(evs, ev)
	}
	killed := recordEvent(procevent.KindExit)
	killed.Signal, killed.CoreDumped = 11, true
	scanned, rescanned := recordEvent(procevent.KindExec), recordEvent(procevent.KindExec)
	scanned.Scan, rescanned.Scan = procmon.InitialScan, procmon.Rescan
	secret := recordEvent(procevent.KindExec)
	secret.Process.Args = []string{"mysql", "--password=" + strings.Repeat("x", 5000)}
	evs = append(evs, killed, scanned, rescanned, secret)
	recs := make([]plog.LogRecord, 0, len(evs))
	for _, ev := range evs {
		recs = append(recs, buildOne(t, defaultBuilder(t), ev))
	}
	return recs
}

// TestNamesFollowTheSemanticConventions walks every kind of record: each
// attribute is defined by the semantic conventions or lives under procmon.,
// and so does each event name.
func TestNamesFollowTheSemanticConventions(t *testing.T) {
	semconv := semconvKeys()
	for _, r := range everyRecord(t) {
		require.True(t, strings.HasPrefix(r.EventName(), "procmon."), "event name %s", r.EventName())
		for k := range r.Attributes().All() {
			require.True(t, semconv[k] || strings.HasPrefix(k, "procmon."),
				"%s carries %s, which is neither a semantic convention nor procmon's", r.EventName(), k)
		}
	}
}

// metadataYAML is the part of metadata.yaml this test reads.
type metadataYAML struct {
	Attributes map[string]struct {
		Type string `yaml:"type"`
	} `yaml:"attributes"`
	Events map[string]struct {
		Attributes []string `yaml:"attributes"`
	} `yaml:"events"`
}

// TestMetadataDeclaresEveryRecordAttribute checks metadata.yaml (and so
// documentation.md) against what the records carry: every attribute of a
// record is declared, with its type, for its event.
func TestMetadataDeclaresEveryRecordAttribute(t *testing.T) {
	raw, err := os.ReadFile("metadata.yaml")
	require.NoError(t, err)
	var md metadataYAML
	require.NoError(t, yaml.Unmarshal(raw, &md))
	types := map[string]string{"Str": "string", "Int": "int", "Double": "double", "Bool": "bool", "Slice": "slice"}
	for _, r := range everyRecord(t) {
		ev, ok := md.Events[r.EventName()]
		require.True(t, ok, "metadata.yaml declares no event %s", r.EventName())
		for k, v := range r.Attributes().All() {
			require.Contains(t, ev.Attributes, k, "metadata.yaml does not list %s among %s's attributes", k, r.EventName())
			require.Equal(t, md.Attributes[k].Type, types[v.Type().String()], "the type of %s", k)
		}
	}
}
