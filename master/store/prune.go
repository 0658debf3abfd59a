package store

import (
	"context"
	"fmt"
	"time"
)

// SQL for pruning, one bounded batch per statement so the write lock is
// released between batches.
const (
	sqlPruneNotifications = `DELETE FROM notifications WHERE seq IN
	(SELECT seq FROM notifications WHERE created_at < ? ORDER BY seq LIMIT ?)`
	sqlPruneMessages = `DELETE FROM messages WHERE id IN
	(SELECT id FROM messages WHERE ingested_at < ? LIMIT ?)`
)

// Prune deletes the notifications (with their read marks) and messages
// ingested before olderThan, in batches of a few hundred rows, and returns
// how many notifications it deleted. A pruned message is forgotten by the
// dedupe, so the retention must be far longer than any worker outbox delay.
func (s *Store) Prune(ctx context.Context, olderThan time.Time) (int64, error) {
	cutoff := olderThan.UnixNano()

	notifications, err := s.pruneBatches(ctx, sqlPruneNotifications, cutoff)
	if err != nil {
		return notifications, fmt.Errorf("pruning notifications: %w", err)
	}

	messages, err := s.pruneBatches(ctx, sqlPruneMessages, cutoff)
	if err != nil {
		return notifications, fmt.Errorf("pruning messages: %w", err)
	}

	if notifications > 0 || messages > 0 {
		s.logger.InfoContext(ctx, "pruned", "notifications", notifications, "messages", messages,
			"older_than", olderThan.UTC().Format(time.RFC3339))
	}

	return notifications, nil
}

// pruneBatches runs a batched delete until a batch comes back short.
func (s *Store) pruneBatches(ctx context.Context, query string, cutoff int64) (int64, error) {
	var total int64
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}

		res, err := s.wdb.ExecContext(ctx, query, cutoff, pruneBatch)
		if err != nil {
			return total, err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, err
		}
		total += n

		if n < pruneBatch {
			return total, nil
		}
	}
}
