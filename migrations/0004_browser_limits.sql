ALTER TABLE `pools` ADD `cpu_millis` integer DEFAULT 1000 NOT NULL;--> statement-breakpoint
ALTER TABLE `pools` ADD `storage_mb` integer DEFAULT 256 NOT NULL;