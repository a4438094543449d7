CREATE TABLE `artifacts` (
	`id` text PRIMARY KEY NOT NULL,
	`session_id` text NOT NULL,
	`kind` text NOT NULL,
	`name` text NOT NULL,
	`content_type` text NOT NULL,
	`size` integer NOT NULL,
	`sha256` text NOT NULL,
	`storage_key` text NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`session_id`) REFERENCES `sessions`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `artifacts_session_idx` ON `artifacts` (`session_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `artifacts_created_idx` ON `artifacts` (`created_at`);--> statement-breakpoint
CREATE TABLE `profile_locks` (
	`profile_id` text PRIMARY KEY NOT NULL,
	`session_id` text NOT NULL,
	`acquired_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	FOREIGN KEY (`profile_id`) REFERENCES `profiles`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `profile_locks_session_id_unique` ON `profile_locks` (`session_id`);--> statement-breakpoint
CREATE TABLE `profile_versions` (
	`profile_id` text NOT NULL,
	`version` integer NOT NULL,
	`storage_key` text NOT NULL,
	`sha256` text NOT NULL,
	`size` integer NOT NULL,
	`content_bytes` integer NOT NULL,
	`files` integer NOT NULL,
	`source` text NOT NULL,
	`session_id` text,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	PRIMARY KEY(`profile_id`, `version`),
	FOREIGN KEY (`profile_id`) REFERENCES `profiles`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `profiles` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`description` text DEFAULT '' NOT NULL,
	`owner_type` text NOT NULL,
	`owner_id` text,
	`current_version` integer,
	`next_version` integer DEFAULT 1 NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	`updated_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	`last_used_at` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `profiles_name_unique` ON `profiles` (`name`);