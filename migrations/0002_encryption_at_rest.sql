CREATE TABLE `tenant_data_keys` (
	`key_id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`generation` integer NOT NULL,
	`zone` text NOT NULL,
	`kek_version` integer NOT NULL,
	`wrapped` text NOT NULL,
	`created_at` integer NOT NULL,
	`retired_at` integer,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `tenant_data_keys_generation` ON `tenant_data_keys` (`tenant_id`,`generation`);--> statement-breakpoint
DROP INDEX `sessions_tenant_reference`;--> statement-breakpoint
ALTER TABLE `sessions` ADD `client_reference_hash` text DEFAULT '' NOT NULL;--> statement-breakpoint
CREATE INDEX `sessions_tenant_reference_hash` ON `sessions` (`tenant_id`,`client_reference_hash`);