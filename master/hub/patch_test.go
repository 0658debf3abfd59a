package hub_test

import "github.com/tidewatch/tidewatch/master/store"

// storePatch builds a status patch.
func storePatch(status *string) store.AccountPatch { return store.AccountPatch{Status: status} }
