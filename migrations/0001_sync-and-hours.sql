CREATE TABLE `changes` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`entity_type` text NOT NULL,
	`entity_id` text NOT NULL,
	`action` text NOT NULL,
	`changed_at` text NOT NULL,
	`actor` text
);
--> statement-breakpoint
CREATE INDEX `changes_entity_idx` ON `changes` (`entity_type`,`entity_id`);--> statement-breakpoint
CREATE TABLE `write_context` (
	`id` integer PRIMARY KEY NOT NULL,
	`actor` text
);
--> statement-breakpoint
ALTER TABLE `facilities` ADD `opening_hours` text;--> statement-breakpoint
CREATE INDEX `facilities_updated_idx` ON `facilities` (`updated_at`,`id`);--> statement-breakpoint
CREATE INDEX `facilities_geo_idx` ON `facilities` (`lat`,`lon`);--> statement-breakpoint
CREATE INDEX `facilities_bezirksregion_idx` ON `facilities` (`bezirksregion`);--> statement-breakpoint
CREATE INDEX `services_updated_idx` ON `services` (`updated_at`,`id`);