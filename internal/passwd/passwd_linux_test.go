package passwd

import (
	"os"
	"os/user"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRealUsers(t *testing.T) {
	path := PathBeside("/proc")
	if _, err := os.Stat(path); err != nil {
		t.Skipf("no %s: %v", path, err)
	}
	u := NewUsers(path)
	require.NoError(t, u.Err())
	uid := os.Getuid()
	want, err := user.LookupId(strconv.Itoa(uid))
	if err != nil {
		t.Skipf("uid %d unknown to os/user: %v", uid, err)
	}
	// os/user may ask NSS rather than the file; both agree on an ordinary host.
	require.Equal(t, want.Username, u.Name(uint32(uid)))
}
