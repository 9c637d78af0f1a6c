CREATE TABLE `answer_digests` (
	`session_id` text NOT NULL,
	`seq` integer NOT NULL,
	`tenant_id` text NOT NULL,
	`key_version` integer NOT NULL,
	`digests` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`session_id`, `seq`),
	FOREIGN KEY (`session_id`) REFERENCES `sessions`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `answer_digests_tenant_created` ON `answer_digests` (`tenant_id`,`created_at`);--> statement-breakpoint
CREATE TABLE `event_outbox` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`session_id` text NOT NULL,
	`event_type` text NOT NULL,
	`created_at` integer NOT NULL,
	`messages` text,
	`sent_at` integer,
	`attempts` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE INDEX `event_outbox_pending` ON `event_outbox` (`sent_at`,`created_at`);--> statement-breakpoint
CREATE TABLE `fingerprints` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`subject_key_id` text NOT NULL,
	`key_version` integer NOT NULL,
	`template` text NOT NULL,
	`client_reference_id` text NOT NULL,
	`consent_ref` text NOT NULL,
	`session_id` text NOT NULL,
	`mode` text NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`subject_key_id`) REFERENCES `subject_keys`(`key_id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `fingerprints_tenant_version` ON `fingerprints` (`tenant_id`,`key_version`);--> statement-breakpoint
CREATE INDEX `fingerprints_subject_key` ON `fingerprints` (`subject_key_id`);--> statement-breakpoint
CREATE TABLE `recognition_requests` (
	`session_id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`enrol` integer NOT NULL,
	`consent_ref` text,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `recognition_results` (
	`session_id` text NOT NULL,
	`tenant_id` text NOT NULL,
	`node_id` text NOT NULL,
	`matched_reference` text,
	`enrolled` integer NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`session_id`, `node_id`)
);
--> statement-breakpoint
CREATE TABLE `subject_keys` (
	`key_id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`subject_hash` text NOT NULL,
	`zone` text NOT NULL,
	`kek_version` integer NOT NULL,
	`wrapped` text NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `subject_keys_subject` ON `subject_keys` (`tenant_id`,`subject_hash`);--> statement-breakpoint
ALTER TABLE `reports` ADD `residency` text;