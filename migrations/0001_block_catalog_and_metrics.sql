CREATE TABLE `blocks` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`level` integer NOT NULL,
	`format_version` integer NOT NULL,
	`start_ms` integer NOT NULL,
	`end_ms` integer NOT NULL,
	`trace_count` integer NOT NULL,
	`span_count` integer NOT NULL,
	`bytes` integer NOT NULL,
	`services` text NOT NULL,
	`trace_filter` blob NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `blocks_tenant_end` ON `blocks` (`tenant_id`,`end_ms`);--> statement-breakpoint
CREATE TABLE `edge_minutes` (
	`tenant_id` text NOT NULL,
	`minute` integer NOT NULL,
	`source` text NOT NULL,
	`target` text NOT NULL,
	`connection_type` text NOT NULL,
	`requests` integer NOT NULL,
	`failed` integer NOT NULL,
	`client_durations` blob NOT NULL,
	`server_durations` blob NOT NULL,
	PRIMARY KEY(`tenant_id`, `minute`, `source`, `target`, `connection_type`)
);
--> statement-breakpoint
CREATE TABLE `operation_minutes` (
	`tenant_id` text NOT NULL,
	`minute` integer NOT NULL,
	`service` text NOT NULL,
	`operation` text NOT NULL,
	`kind` integer NOT NULL,
	`count` integer NOT NULL,
	`errors` integer NOT NULL,
	`durations` blob NOT NULL,
	PRIMARY KEY(`tenant_id`, `minute`, `service`, `operation`, `kind`)
);
