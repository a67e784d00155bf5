DROP INDEX `facilities_ortsteil_idx`;--> statement-breakpoint
DROP INDEX `facilities_name_idx`;--> statement-breakpoint
DROP INDEX `facilities_bezirksregion_idx`;--> statement-breakpoint
CREATE INDEX `facilities_ortsteil_idx` ON `facilities` ("ortsteil" COLLATE NOCASE,`deleted_at`,"name" COLLATE NOCASE,`id`);--> statement-breakpoint
CREATE INDEX `facilities_name_idx` ON `facilities` ("name" COLLATE NOCASE,`id`);--> statement-breakpoint
CREATE INDEX `facilities_bezirksregion_idx` ON `facilities` ("bezirksregion" COLLATE NOCASE);