CREATE TABLE `proxies` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`scheme` text NOT NULL,
	`host` text NOT NULL,
	`port` integer NOT NULL,
	`username` text,
	`password_encrypted` text,
	`routes` text DEFAULT '[]' NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	`updated_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `proxies_name_unique` ON `proxies` (`name`);--> statement-breakpoint
CREATE TABLE `rule_set_versions` (
	`rule_set_id` text NOT NULL,
	`version` integer NOT NULL,
	`rules` text NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	PRIMARY KEY(`rule_set_id`, `version`),
	FOREIGN KEY (`rule_set_id`) REFERENCES `rule_sets`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `rule_sets` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`description` text DEFAULT '' NOT NULL,
	`version` integer DEFAULT 1 NOT NULL,
	`rules` text NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	`updated_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `rule_sets_name_unique` ON `rule_sets` (`name`);--> statement-breakpoint
ALTER TABLE `pools` ADD `egress_allow` text DEFAULT '[]' NOT NULL;--> statement-breakpoint
ALTER TABLE `pools` ADD `proxy_id` text;--> statement-breakpoint
ALTER TABLE `sessions` ADD `bytes_sent` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `sessions` ADD `bytes_received` integer DEFAULT 0 NOT NULL;