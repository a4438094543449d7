CREATE TABLE `warm_browsers` (
	`id` text PRIMARY KEY NOT NULL,
	`pool_id` text NOT NULL,
	`worker_id` text NOT NULL,
	`status` text NOT NULL,
	`container_id` text,
	`cdp_endpoint` text,
	`config` text NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	`ready_at` integer,
	FOREIGN KEY (`pool_id`) REFERENCES `pools`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`worker_id`) REFERENCES `workers`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `warm_browsers_pool_idx` ON `warm_browsers` (`pool_id`,`status`,`ready_at`);--> statement-breakpoint
ALTER TABLE `pools` ADD `viewport_width` integer DEFAULT 1280 NOT NULL;--> statement-breakpoint
ALTER TABLE `pools` ADD `viewport_height` integer DEFAULT 720 NOT NULL;--> statement-breakpoint
ALTER TABLE `pools` ADD `placement` text DEFAULT 'spread' NOT NULL;--> statement-breakpoint
ALTER TABLE `pools` ADD `warm_max_age_sec` integer DEFAULT 1800 NOT NULL;--> statement-breakpoint
ALTER TABLE `workers` ADD `host_key_fingerprint` text;--> statement-breakpoint
ALTER TABLE `workers` ADD `ssh_key_encrypted` text;--> statement-breakpoint
ALTER TABLE `workers` ADD `remove_requested_at` integer;--> statement-breakpoint
ALTER TABLE `workers` ADD `last_error` text;