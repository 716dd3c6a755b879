CREATE TABLE `usage_days` (
	`tenant_id` text NOT NULL,
	`day` text NOT NULL,
	`spans_accepted` integer NOT NULL,
	`spans_rejected` integer NOT NULL,
	PRIMARY KEY(`tenant_id`, `day`)
);
