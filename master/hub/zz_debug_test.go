package hub_test

import (
	"os"
	"testing"

	siolog "github.com/zishang520/socket.io/v3/pkg/log"
)

func TestMain(m *testing.M) {
	if os.Getenv("SIODEBUG") != "" {
		siolog.DEBUG.Store(true)
	}
	os.Exit(m.Run())
}
