CREATE TABLE `metric_flushes` (
	`tenant_id` text NOT NULL,
	`flush_id` text NOT NULL,
	`at` integer NOT NULL,
	PRIMARY KEY(`tenant_id`, `flush_id`)
);
