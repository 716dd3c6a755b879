-- Hand-edited: WITHOUT ROWID (drizzle cannot declare it), so an insert writes one billed row, as
-- for the other metric tables (0006).
CREATE TABLE `service_minutes` (
	`tenant_id` text NOT NULL,
	`minute` integer NOT NULL,
	`service` text NOT NULL,
	`service_name_type` integer NOT NULL,
	`count` integer NOT NULL,
	`errors` integer NOT NULL,
	`durations` blob NOT NULL,
	PRIMARY KEY(`tenant_id`, `minute`, `service`, `service_name_type`)
) WITHOUT ROWID;
