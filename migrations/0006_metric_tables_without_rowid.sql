-- Hand-written (drizzle-kit generate --custom): drizzle's schema cannot say WITHOUT ROWID.
-- The per-minute metric tables, usage_days, metric_flushes and the block catalog become WITHOUT
-- ROWID tables, whose primary key is the table itself: inserting a row writes one b-tree entry
-- fewer (the row and its primary-key index were two), and D1 bills each as a written row. Columns,
-- keys and the catalog's (tenant, end) index unchanged.
-- A later drizzle-kit migration that rebuilds one of these tables must keep WITHOUT ROWID (see
-- shared/db/schema.ts).
CREATE TABLE `__new_edge_minutes` (
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
) WITHOUT ROWID;
--> statement-breakpoint
INSERT INTO `__new_edge_minutes` (`tenant_id`, `minute`, `source`, `target`, `connection_type`, `requests`, `failed`, `client_durations`, `server_durations`) SELECT `tenant_id`, `minute`, `source`, `target`, `connection_type`, `requests`, `failed`, `client_durations`, `server_durations` FROM `edge_minutes`;
--> statement-breakpoint
DROP TABLE `edge_minutes`;
--> statement-breakpoint
ALTER TABLE `__new_edge_minutes` RENAME TO `edge_minutes`;
--> statement-breakpoint
CREATE TABLE `__new_operation_minutes` (
	`tenant_id` text NOT NULL,
	`minute` integer NOT NULL,
	`service` text NOT NULL,
	`operation` text NOT NULL,
	`kind` integer NOT NULL,
	`count` integer NOT NULL,
	`errors` integer NOT NULL,
	`durations` blob NOT NULL,
	PRIMARY KEY(`tenant_id`, `minute`, `service`, `operation`, `kind`)
) WITHOUT ROWID;
--> statement-breakpoint
INSERT INTO `__new_operation_minutes` (`tenant_id`, `minute`, `service`, `operation`, `kind`, `count`, `errors`, `durations`) SELECT `tenant_id`, `minute`, `service`, `operation`, `kind`, `count`, `errors`, `durations` FROM `operation_minutes`;
--> statement-breakpoint
DROP TABLE `operation_minutes`;
--> statement-breakpoint
ALTER TABLE `__new_operation_minutes` RENAME TO `operation_minutes`;
--> statement-breakpoint
CREATE TABLE `__new_usage_days` (
	`tenant_id` text NOT NULL,
	`day` text NOT NULL,
	`spans_accepted` integer NOT NULL,
	`spans_rejected` integer NOT NULL,
	PRIMARY KEY(`tenant_id`, `day`)
) WITHOUT ROWID;
--> statement-breakpoint
INSERT INTO `__new_usage_days` (`tenant_id`, `day`, `spans_accepted`, `spans_rejected`) SELECT `tenant_id`, `day`, `spans_accepted`, `spans_rejected` FROM `usage_days`;
--> statement-breakpoint
DROP TABLE `usage_days`;
--> statement-breakpoint
ALTER TABLE `__new_usage_days` RENAME TO `usage_days`;
--> statement-breakpoint
CREATE TABLE `__new_metric_flushes` (
	`tenant_id` text NOT NULL,
	`flush_id` text NOT NULL,
	`at` integer NOT NULL,
	PRIMARY KEY(`tenant_id`, `flush_id`)
) WITHOUT ROWID;
--> statement-breakpoint
INSERT INTO `__new_metric_flushes` (`tenant_id`, `flush_id`, `at`) SELECT `tenant_id`, `flush_id`, `at` FROM `metric_flushes`;
--> statement-breakpoint
DROP TABLE `metric_flushes`;
--> statement-breakpoint
ALTER TABLE `__new_metric_flushes` RENAME TO `metric_flushes`;
--> statement-breakpoint
CREATE TABLE `__new_blocks` (
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
) WITHOUT ROWID;
--> statement-breakpoint
INSERT INTO `__new_blocks` (`id`, `tenant_id`, `level`, `format_version`, `start_ms`, `end_ms`, `trace_count`, `span_count`, `bytes`, `services`, `trace_filter`, `created_at`) SELECT `id`, `tenant_id`, `level`, `format_version`, `start_ms`, `end_ms`, `trace_count`, `span_count`, `bytes`, `services`, `trace_filter`, `created_at` FROM `blocks`;
--> statement-breakpoint
DROP TABLE `blocks`;
--> statement-breakpoint
ALTER TABLE `__new_blocks` RENAME TO `blocks`;
--> statement-breakpoint
CREATE INDEX `blocks_tenant_end` ON `blocks` (`tenant_id`,`end_ms`);
