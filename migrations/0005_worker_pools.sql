CREATE TABLE `worker_pools` (
	`worker_id` text NOT NULL,
	`pool_id` text NOT NULL,
	PRIMARY KEY(`worker_id`, `pool_id`),
	FOREIGN KEY (`worker_id`) REFERENCES `workers`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`pool_id`) REFERENCES `pools`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `worker_pools_pool_idx` ON `worker_pools` (`pool_id`);--> statement-breakpoint
INSERT INTO `worker_pools`("worker_id", "pool_id") SELECT "id", "pool_id" FROM `workers` WHERE NOT ("kind" = 'docker' AND "endpoint" LIKE 'unix://%' AND ((SELECT count(*) FROM `pools`) = 1 OR NOT EXISTS (SELECT 1 FROM `pools` WHERE "egress_allow" != '[]')));--> statement-breakpoint
PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_workers` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`all_pools` integer DEFAULT false NOT NULL,
	`endpoint` text NOT NULL,
	`kind` text NOT NULL,
	`capacity` integer DEFAULT 10 NOT NULL,
	`status` text DEFAULT 'offline' NOT NULL,
	`last_heartbeat_at` integer,
	`labels` text,
	`created_at` integer DEFAULT (cast(unixepoch('subsec') * 1000 as integer)) NOT NULL,
	`host_key_fingerprint` text,
	`ssh_key_encrypted` text,
	`remove_requested_at` integer,
	`last_error` text
);
--> statement-breakpoint
INSERT INTO `__new_workers`("id", "name", "all_pools", "endpoint", "kind", "capacity", "status", "last_heartbeat_at", "labels", "created_at", "host_key_fingerprint", "ssh_key_encrypted", "remove_requested_at", "last_error") SELECT "id", "name", ("kind" = 'docker' AND "endpoint" LIKE 'unix://%' AND ((SELECT count(*) FROM `pools`) = 1 OR NOT EXISTS (SELECT 1 FROM `pools` WHERE "egress_allow" != '[]'))), "endpoint", "kind", "capacity", "status", "last_heartbeat_at", "labels", "created_at", "host_key_fingerprint", "ssh_key_encrypted", "remove_requested_at", "last_error" FROM `workers`;--> statement-breakpoint
DROP TABLE `workers`;--> statement-breakpoint
ALTER TABLE `__new_workers` RENAME TO `workers`;--> statement-breakpoint
PRAGMA foreign_keys=ON;--> statement-breakpoint
CREATE UNIQUE INDEX `workers_endpoint_unique` ON `workers` (`endpoint`);