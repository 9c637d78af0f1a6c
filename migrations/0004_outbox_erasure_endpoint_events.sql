PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_event_outbox` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`session_id` text,
	`event_type` text NOT NULL,
	`created_at` integer NOT NULL,
	`messages` text,
	`sent_at` integer,
	`attempts` integer DEFAULT 0 NOT NULL,
	`data` text
);
--> statement-breakpoint
-- `data` is new: old rows get NULL (drizzle-kit generated a SELECT of the column the old table lacks)
INSERT INTO `__new_event_outbox`("id", "tenant_id", "session_id", "event_type", "created_at", "messages", "sent_at", "attempts", "data") SELECT "id", "tenant_id", "session_id", "event_type", "created_at", "messages", "sent_at", "attempts", NULL FROM `event_outbox`;--> statement-breakpoint
DROP TABLE `event_outbox`;--> statement-breakpoint
ALTER TABLE `__new_event_outbox` RENAME TO `event_outbox`;--> statement-breakpoint
PRAGMA foreign_keys=ON;--> statement-breakpoint
CREATE INDEX `event_outbox_pending` ON `event_outbox` (`sent_at`,`created_at`);