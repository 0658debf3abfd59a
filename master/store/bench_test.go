package store

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkIngest measures durable ingests (WAL, synchronous=FULL: one fsync
// per commit), sequential and from parallel callers.
func BenchmarkIngest(b *testing.B) {
	for _, parallel := range []bool{false, true} {
		b.Run(fmt.Sprintf("parallel=%t", parallel), func(b *testing.B) {
			env := newTestStore(b)
			a := mustAccount(b, env.s, "", "bench")
			ctx := context.Background()
			var next atomic.Int64

			ingest := func() {
				id := next.Add(1)
				_, _, err := env.s.IngestMessage(ctx, Message{
					AccountID: a.ID, MessageType: MessageComment, PlatformID: fmt.Sprint(id),
					WorkerMessageID: fmt.Sprint("cmt-", id), Content: "好棒的视频!", AuthorName: "用户A",
				}, Notification{Title: "新评论", Content: "用户A: 好棒的视频!"})
				if err != nil {
					b.Fatal(err)
				}
			}

			b.ResetTimer()
			start := time.Now()
			if parallel {
				b.SetParallelism(4)
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						ingest()
					}
				})
			} else {
				for b.Loop() {
					ingest()
				}
			}
			b.ReportMetric(float64(next.Load())/time.Since(start).Seconds(), "msgs/s")
		})
	}
}

// BenchmarkNotificationsAfter measures a sync page of 100 from the middle of
// 20,000 notifications over 20 accounts of 10 users.
func BenchmarkNotificationsAfter(b *testing.B) {
	env := newTestStore(b)
	s, ctx := env.s, context.Background()

	const users, accountsPerUser, total = 10, 2, 20000
	var (
		viewers  []Viewer
		accounts []Account
	)
	for i := range users {
		u := mustUser(b, s, fmt.Sprint("u", i), false)
		viewers = append(viewers, Viewer{UserID: u.ID})
		for j := range accountsPerUser {
			accounts = append(accounts, mustAccount(b, s, u.ID, fmt.Sprint(i, "-", j)))
		}
	}
	admin := mustUser(b, s, "root", true)

	// Bulk-load in one transaction; per-ingest fsyncs would dominate setup.
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	for i := range total {
		a := accounts[i%len(accounts)]
		msgID := fmt.Sprint("msg-", i)
		if _, err = tx.ExecContext(ctx, sqlInsertMessage, msgID, a.ID, MessageComment, fmt.Sprint(i), "", "c", "", "",
			"", "", "", 0, s.nowDB(), nil); err != nil {
			b.Fatal(err)
		}
		if _, err = tx.ExecContext(ctx, sqlInsertNotification, fmt.Sprint("ntf-", i), a.ID, msgID, a.Name, MessageComment,
			"新评论", "c", "", s.nowDB()); err != nil {
			b.Fatal(err)
		}
	}
	if err = tx.Commit(); err != nil {
		b.Fatal(err)
	}

	for _, tc := range []struct {
		name string
		v    Viewer
	}{
		{name: "user", v: viewers[3]},
		{name: "admin", v: Viewer{UserID: admin.ID, Admin: true}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				page, _, err := s.NotificationsAfter(ctx, tc.v, time.Time{}, total/2, 100)
				if err != nil || len(page) != 100 {
					b.Fatal(err, len(page))
				}
			}
		})
	}
}
