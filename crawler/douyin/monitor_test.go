package douyin

import (
	"context"
	"encoding/json"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tidewatch/tidewatch/crawler"
	"github.com/tidewatch/tidewatch/crawler/fakedouyin"
	"github.com/tidewatch/tidewatch/protocol"
)

func TestDetectsCommentsAndDMsOnceAcrossRestarts(t *testing.T) {
	fake, clk := startFake(t)
	info, acc := newAccount(t, fake)
	fan := &fakedouyin.User{Nickname: "热心粉丝"}

	// The baseline: an hour-old comment and DM are history, not news.
	clk.set(-time.Hour)
	_, err := fake.AddComment(info.UID, fakedouyin.CommentSpec{Text: "一小时前的评论"})
	require.NoError(t, err)
	_, err = fake.AddDM(info.UID, fakedouyin.DMSpec{Text: "一小时前的私信"})
	require.NoError(t, err)
	clk.set(0)

	dataDir := t.TempDir()
	f := newFactory(t, testConfig(fake, dataDir))
	sink := &recSink{}
	m := startMonitor(t, f, acc, sink)
	waitPolls(t, sink, 1)

	// Own items, system notices and mentions are never news.
	_, err = fake.AddComment(info.UID, fakedouyin.CommentSpec{Text: "作者自己的评论", FromCreator: true})
	require.NoError(t, err)
	_, err = fake.AddComment(info.UID, fakedouyin.CommentSpec{
		Text: "作者用账号评论", Fan: &fakedouyin.User{UID: info.UID, Nickname: info.Nickname}})
	require.NoError(t, err)
	_, err = fake.AddComment(info.UID, fakedouyin.CommentSpec{Text: "@了你", Kind: fakedouyin.KindMention})
	require.NoError(t, err)
	_, err = fake.AddDM(info.UID, fakedouyin.DMSpec{Text: "我发出的私信", FromMe: true})
	require.NoError(t, err)
	_, err = fake.AddDM(info.UID, fakedouyin.DMSpec{System: true})
	require.NoError(t, err)

	// One fan comment and one fan DM.
	c, err := fake.AddComment(info.UID, fakedouyin.CommentSpec{
		AwemeID: info.Videos[1].AwemeID, Text: "新评论：拍得真好", Fan: fan})
	require.NoError(t, err)
	dm, err := fake.AddDM(info.UID, fakedouyin.DMSpec{Text: "新私信：你好呀", Peer: &fakedouyin.User{Nickname: "私信粉丝"}})
	require.NoError(t, err)

	eventually(t, func() bool { _, n := sink.detections(); return n >= 2 }, "comment and DM detected")
	waitPolls(t, sink, 3)
	got, n := sink.detections()
	assert.Equal(t, 2, n, "exactly one detection each: %v", got)

	cd, ok := got["dy-cmt-"+c.CID]
	require.True(t, ok, "comment detection under its stable id")
	assert.Equal(t, crawler.Detection{
		MessageType: protocol.MessageTypeComment,
		Data: protocol.MessageData{
			ID: "dy-cmt-" + c.CID, PlatformCommentID: protocol.ID(c.CID), Content: "新评论：拍得真好",
			AuthorName: "热心粉丝", AuthorID: protocol.ID(c.User.UID),
			PostID: protocol.ID(info.Videos[1].AwemeID), PostTitle: "第二条视频",
			CreatedAt: protocol.Timestamp(c.CreateTime),
		},
	}, cd)

	dd, ok := got["dy-dm-"+dm.ServerID]
	require.True(t, ok, "DM detection under its stable id")
	assert.Equal(t, crawler.Detection{
		MessageType: protocol.MessageTypeDirectMessage,
		Data: protocol.MessageData{
			ID: "dy-dm-" + dm.ServerID, PlatformMessageID: protocol.ID(dm.ServerID), Content: "新私信：你好呀",
			AuthorID: protocol.ID(dm.Sender), AuthorName: "私信粉丝",
			SenderID: protocol.ID(dm.Sender), SenderName: "私信粉丝",
			ConversationID: dm.ConversationID, CreatedAt: protocol.Timestamp(dm.CreatedAt / 1000),
		},
	}, dd)
	assert.Empty(t, sink.failuresOf(protocol.ErrorTypeAuthFailed))
	assert.Empty(t, sink.failuresOf(protocol.ErrorTypeRateLimited))

	// Rolled cookies go back as a jar the fake accepts.
	cc, _ := sink.lastCreds()
	require.NotNil(t, cc.blob, "rolled cookies were handed over")
	var jar Credentials
	require.NoError(t, json.Unmarshal(cc.blob, &jar))
	now, err := fake.Account(info.UID)
	require.NoError(t, err)
	for _, name := range []string{"msToken", "sid_guard", "sessionid"} {
		k, ok := jar.cookie(name)
		require.True(t, ok, name)
		assert.Equal(t, cookieOf(now.Credentials, name), k.Value, name)
	}
	assert.True(t, func() bool { k, _ := jar.cookie("sessionid"); return k.HTTPOnly }(), "HttpOnly kept")
	assert.Equal(t, now.Credentials.LocalStorage["xmst"], jar.LocalStorage["xmst"])
	assert.False(t, cc.expires.IsZero())

	// A restart (new browser, same data dir) reports nothing twice, even
	// though the page replays old DMs and the feed lists old comments.
	require.NoError(t, m.Stop(context.Background()))
	closeFactory(t, f)
	acc.Credentials = cc.blob
	f2 := newFactory(t, testConfig(fake, dataDir))
	sink2 := &recSink{}
	startMonitor(t, f2, acc, sink2)
	waitPolls(t, sink2, 3)
	_, n2 := sink2.detections()
	assert.Zero(t, n2, "nothing reported twice after a restart")

	c2, err := fake.AddComment(info.UID, fakedouyin.CommentSpec{Text: "重启后的评论"})
	require.NoError(t, err)
	eventually(t, func() bool { g, _ := sink2.detections(); _, ok := g["dy-cmt-"+c2.CID]; return ok }, "new comment after restart")
}

// cookieOf returns a cookie value of a fake jar.
func cookieOf(c fakedouyin.Credentials, name string) string {
	for _, k := range c.Cookies {
		if k.Name == name {
			return k.Value
		}
	}
	return ""
}

func TestAuthFailedStopsUntilNewCredentials(t *testing.T) {
	fake, _ := startFake(t)
	info, acc := newAccount(t, fake)
	f := newFactory(t, testConfig(fake, t.TempDir()))
	sink := &recSink{}
	m := startMonitor(t, f, acc, sink)
	waitPolls(t, sink, 1)

	_, err := fake.SetFaults(info.UID, fakedouyin.FaultsPatch{Expired: new(true)})
	require.NoError(t, err)
	eventually(t, func() bool { return len(sink.failuresOf(protocol.ErrorTypeAuthFailed)) > 0 }, "auth_failed")
	eventually(t, func() bool {
		sink.mu.Lock()
		defer sink.mu.Unlock()
		return len(sink.polls) > 0 && sink.polls[len(sink.polls)-1].ErrorType == protocol.ErrorTypeAuthFailed
	}, "the failed poll is reported")
	polls, _ := sink.pollCount()
	time.Sleep(2500 * time.Millisecond)
	after, _ := sink.pollCount()
	assert.Equal(t, polls, after, "the monitor stops polling after auth_failed")
	assert.Len(t, sink.failuresOf(protocol.ErrorTypeAuthFailed), 1)

	// New credentials (a fresh login) resume it.
	_, err = fake.SetFaults(info.UID, fakedouyin.FaultsPatch{Expired: new(false)})
	require.NoError(t, err)
	cur, err := fake.Account(info.UID)
	require.NoError(t, err)
	blob, err := json.Marshal(cur.Credentials)
	require.NoError(t, err)
	m.UpdateCredentials(blob)
	waitPolls(t, sink, 1)
	c, err := fake.AddComment(info.UID, fakedouyin.CommentSpec{})
	require.NoError(t, err)
	eventually(t, func() bool { g, _ := sink.detections(); _, ok := g["dy-cmt-"+c.CID]; return ok }, "detects after resuming")
}

func TestRateLimitedBacksOffAndRecovers(t *testing.T) {
	fake, _ := startFake(t)
	info, acc := newAccount(t, fake)
	f := newFactory(t, testConfig(fake, t.TempDir()))
	sink := &recSink{}
	startMonitor(t, f, acc, sink)
	waitPolls(t, sink, 1)

	for _, tc := range []struct {
		name  string
		fault fakedouyin.FaultsPatch
		clear fakedouyin.FaultsPatch
		typ   string
		msg   string
	}{
		{"captcha", fakedouyin.FaultsPatch{Captcha: new(true)}, fakedouyin.FaultsPatch{Captcha: new(false)},
			protocol.ErrorTypeRateLimited, "captcha"},
		{"throttle", fakedouyin.FaultsPatch{Throttle: new(true)}, fakedouyin.FaultsPatch{Throttle: new(false)},
			protocol.ErrorTypeRateLimited, "throttled"},
		{"dropped connections", fakedouyin.FaultsPatch{Drop: new(true)}, fakedouyin.FaultsPatch{Drop: new(false)},
			protocol.ErrorTypeNetworkError, "ERR_"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(sink.failuresOf(tc.typ))
			_, err := fake.SetFaults(info.UID, tc.fault)
			require.NoError(t, err)
			eventually(t, func() bool { return len(sink.failuresOf(tc.typ)) >= before+3 }, "three failures in a row")
			fs := sink.failuresOf(tc.typ)[before:]
			assert.Contains(t, fs[0].msg, tc.msg)
			assert.Equal(t, []int{0, 1, 2}, []int{fs[0].retry, fs[1].retry, fs[2].retry}, "retry counts grow")
			assert.Greater(t, fs[2].at.Sub(fs[1].at), fs[1].at.Sub(fs[0].at)/2, "waits do not shrink")
			assert.Greater(t, fs[2].at.Sub(fs[1].at), 500*time.Millisecond, "backing off, not hammering")

			_, err = fake.SetFaults(info.UID, tc.clear)
			require.NoError(t, err)
			waitPolls(t, sink, 1)
			c, err := fake.AddComment(info.UID, fakedouyin.CommentSpec{})
			require.NoError(t, err)
			eventually(t, func() bool { g, _ := sink.detections(); _, ok := g["dy-cmt-"+c.CID]; return ok }, "recovered")
		})
	}
	assert.Empty(t, sink.failuresOf(protocol.ErrorTypeAuthFailed))
}

func TestSlowBodyAndRefusingSink(t *testing.T) {
	fake, _ := startFake(t)
	info, acc := newAccount(t, fake)
	f := newFactory(t, testConfig(fake, t.TempDir()))
	sink := &recSink{}
	startMonitor(t, f, acc, sink)
	waitPolls(t, sink, 1)

	// The body arrives over 1.5 s: it is read after loadingFinished.
	_, err := fake.SetFaults(info.UID, fakedouyin.FaultsPatch{SlowMS: new(int64(1500))})
	require.NoError(t, err)
	sink.refuse.Store(1)
	c, err := fake.AddComment(info.UID, fakedouyin.CommentSpec{Text: "慢慢来的评论"})
	require.NoError(t, err)
	eventually(t, func() bool { g, _ := sink.detections(); _, ok := g["dy-cmt-"+c.CID]; return ok }, "slow body read")
	assert.Equal(t, int32(1), sink.refused.Load(), "the first hand-over was refused and offered again")
	waitPolls(t, sink, 2)
	got, n := sink.detections()
	assert.Equal(t, 1, n, "%v", got)
	assert.Equal(t, "慢慢来的评论", got["dy-cmt-"+c.CID].Data.Content)
	assert.Empty(t, sink.failuresOf(protocol.ErrorTypeNetworkError))
	assert.Empty(t, sink.failuresOf(protocol.ErrorTypeRateLimited))
}

func TestBrowserKilledRecovers(t *testing.T) {
	fake, _ := startFake(t)
	info1, acc1 := newAccount(t, fake)
	info2, acc2 := newAccount(t, fake)
	f := newFactory(t, testConfig(fake, t.TempDir()))
	s1, s2 := &recSink{}, &recSink{}
	startMonitor(t, f, acc1, s1)
	startMonitor(t, f, acc2, s2)
	waitPolls(t, s1, 1)
	waitPolls(t, s2, 1)

	st := f.Browser().Stats()
	require.True(t, st.Running)
	assert.Equal(t, 1, st.Starts, "two accounts share one browser")
	require.NoError(t, syscall.Kill(st.PID, syscall.SIGKILL))

	for _, s := range []*recSink{s1, s2} {
		eventually(t, func() bool {
			for _, fl := range s.failuresOf(protocol.ErrorTypeNetworkError) {
				if strings.Contains(fl.msg, "crash") || strings.Contains(fl.msg, "lost") {
					return true
				}
			}
			return false
		}, "network_error after the crash")
	}
	c1, err := fake.AddComment(info1.UID, fakedouyin.CommentSpec{})
	require.NoError(t, err)
	dm2, err := fake.AddDM(info2.UID, fakedouyin.DMSpec{})
	require.NoError(t, err)
	eventually(t, func() bool { g, _ := s1.detections(); _, ok := g["dy-cmt-"+c1.CID]; return ok }, "account 1 resumed")
	eventually(t, func() bool { g, _ := s2.detections(); _, ok := g["dy-dm-"+dm2.ServerID]; return ok }, "account 2 resumed")
	st = f.Browser().Stats()
	assert.Equal(t, 2, st.Starts, "restarted once")
	assert.Equal(t, 1, st.Crashes)
	assert.NotEqual(t, 0, st.PID)
}

func TestFactoryValidation(t *testing.T) {
	requireChromium(t)
	_, err := NewFactory(&Config{})
	assert.Error(t, err, "data dir required")
	_, err = NewFactory(&Config{DataDir: t.TempDir(), WWWOrigin: "ftp://x"})
	assert.Error(t, err)

	f := newFactory(t, &Config{DataDir: t.TempDir(), Logger: testLogger()})
	assert.Equal(t, "douyin", f.Platform())
	_, err = f.Start(context.Background(), crawler.Account{ID: "a", Credentials: []byte(`{}`)}, &recSink{})
	assert.Error(t, err, "credentials without cookies")
	_, err = f.Start(context.Background(), crawler.Account{ID: "a", Credentials: []byte(`not json`)}, &recSink{})
	assert.Error(t, err)
	assert.False(t, f.Browser().Stats().Running, "no browser without a monitor")
}
