CREATE TABLE `agreement_parties` (
	`id` text PRIMARY KEY NOT NULL,
	`agreement_id` text NOT NULL,
	`role` text NOT NULL,
	`organisation_id` text,
	`facility_id` text,
	`name` text NOT NULL,
	`confirmation` text NOT NULL,
	`evidence` text NOT NULL,
	`sources` text NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	`deleted_at` text,
	FOREIGN KEY (`agreement_id`) REFERENCES `agreements`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`organisation_id`) REFERENCES `organisations`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`facility_id`) REFERENCES `facilities`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `agreement_parties_agreement_idx` ON `agreement_parties` (`agreement_id`);--> statement-breakpoint
CREATE TABLE `agreements` (
	`id` text PRIMARY KEY NOT NULL,
	`slug` text NOT NULL,
	`title` text NOT NULL,
	`title_note` text,
	`summary` text NOT NULL,
	`announced_on` text,
	`announcement_note` text,
	`signed_on` text,
	`signed_time` text,
	`signed_place` text,
	`signed_note` text,
	`declared_partner_counts` text NOT NULL,
	`partner_count_note` text,
	`aims` text NOT NULL,
	`commitments` text NOT NULL,
	`rationale` text NOT NULL,
	`outcome` text,
	`status_notes` text NOT NULL,
	`document_text_found` integer NOT NULL,
	`signatory_list_found` integer NOT NULL,
	`sources` text NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	`deleted_at` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `agreements_slug_idx` ON `agreements` (`slug`);--> statement-breakpoint
CREATE TABLE `categories` (
	`id` text PRIMARY KEY NOT NULL,
	`slug` text NOT NULL,
	`label_de` text NOT NULL,
	`label_en` text NOT NULL,
	`description` text NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	`deleted_at` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `categories_slug_idx` ON `categories` (`slug`);--> statement-breakpoint
CREATE TABLE `contacts` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`role` text NOT NULL,
	`organisation_id` text,
	`facility_id` text,
	`phone` text,
	`email` text,
	`visibility` text NOT NULL,
	`as_of` text,
	`sources` text NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	`deleted_at` text,
	FOREIGN KEY (`organisation_id`) REFERENCES `organisations`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`facility_id`) REFERENCES `facilities`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `contacts_org_idx` ON `contacts` (`organisation_id`);--> statement-breakpoint
CREATE INDEX `contacts_facility_idx` ON `contacts` (`facility_id`);--> statement-breakpoint
CREATE TABLE `event_participants` (
	`event_id` text NOT NULL,
	`position` integer NOT NULL,
	`name` text NOT NULL,
	`organisation_id` text,
	`facility_id` text,
	PRIMARY KEY(`event_id`, `position`),
	FOREIGN KEY (`event_id`) REFERENCES `events`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`organisation_id`) REFERENCES `organisations`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`facility_id`) REFERENCES `facilities`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE TABLE `events` (
	`id` text PRIMARY KEY NOT NULL,
	`agreement_id` text,
	`slug` text NOT NULL,
	`title` text NOT NULL,
	`description` text,
	`starts_at` text NOT NULL,
	`ends_at` text,
	`time_zone` text NOT NULL,
	`location_name` text,
	`street` text,
	`postcode` text,
	`city` text,
	`organisation_site_id` text,
	`sources` text NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	`deleted_at` text,
	FOREIGN KEY (`agreement_id`) REFERENCES `agreements`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`organisation_site_id`) REFERENCES `organisation_sites`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `events_slug_idx` ON `events` (`slug`);--> statement-breakpoint
CREATE INDEX `events_agreement_idx` ON `events` (`agreement_id`);--> statement-breakpoint
CREATE TABLE `facilities` (
	`id` text PRIMARY KEY NOT NULL,
	`slug` text NOT NULL,
	`name` text NOT NULL,
	`alternate_names` text NOT NULL,
	`operator_id` text,
	`operator_note` text,
	`street` text,
	`postcode` text,
	`city` text,
	`ortsteil` text,
	`bezirksregion` text,
	`address_note` text,
	`lat` real,
	`lon` real,
	`phone` text,
	`fax` text,
	`email` text,
	`website` text,
	`opening_hours_note` text,
	`description` text,
	`partnership_status` text NOT NULL,
	`partnership_evidence` text NOT NULL,
	`status` text NOT NULL,
	`notes` text NOT NULL,
	`verified_at` text,
	`verified_by` text,
	`sources` text NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	`deleted_at` text,
	FOREIGN KEY (`operator_id`) REFERENCES `organisations`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `facilities_slug_idx` ON `facilities` (`slug`);--> statement-breakpoint
CREATE INDEX `facilities_ortsteil_idx` ON `facilities` (`ortsteil`);--> statement-breakpoint
CREATE INDEX `facilities_operator_idx` ON `facilities` (`operator_id`);--> statement-breakpoint
CREATE INDEX `facilities_partnership_idx` ON `facilities` (`partnership_status`);--> statement-breakpoint
CREATE INDEX `facilities_name_idx` ON `facilities` (`name`,`id`);--> statement-breakpoint
CREATE TABLE `facility_target_groups` (
	`facility_id` text NOT NULL,
	`target_group_id` text NOT NULL,
	`original_wording` text NOT NULL,
	PRIMARY KEY(`facility_id`, `target_group_id`),
	FOREIGN KEY (`facility_id`) REFERENCES `facilities`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`target_group_id`) REFERENCES `target_groups`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `facility_target_groups_tg_idx` ON `facility_target_groups` (`target_group_id`);--> statement-breakpoint
CREATE TABLE `facility_types` (
	`facility_id` text NOT NULL,
	`type` text NOT NULL,
	PRIMARY KEY(`facility_id`, `type`),
	FOREIGN KEY (`facility_id`) REFERENCES `facilities`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `facility_types_type_idx` ON `facility_types` (`type`,`facility_id`);--> statement-breakpoint
CREATE TABLE `organisation_sites` (
	`id` text PRIMARY KEY NOT NULL,
	`organisation_id` text NOT NULL,
	`slug` text NOT NULL,
	`name` text NOT NULL,
	`status` text NOT NULL,
	`street` text,
	`postcode` text,
	`city` text,
	`ortsteil` text,
	`lat` real,
	`lon` real,
	`description` text,
	`notes` text NOT NULL,
	`sources` text NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	`deleted_at` text,
	FOREIGN KEY (`organisation_id`) REFERENCES `organisations`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `organisation_sites_slug_idx` ON `organisation_sites` (`slug`);--> statement-breakpoint
CREATE INDEX `organisation_sites_org_idx` ON `organisation_sites` (`organisation_id`);--> statement-breakpoint
CREATE TABLE `organisation_units` (
	`id` text PRIMARY KEY NOT NULL,
	`organisation_id` text NOT NULL,
	`slug` text NOT NULL,
	`kind` text NOT NULL,
	`name` text NOT NULL,
	`description` text,
	`website` text,
	`phone` text,
	`notes` text NOT NULL,
	`sources` text NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	`deleted_at` text,
	FOREIGN KEY (`organisation_id`) REFERENCES `organisations`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `organisation_units_slug_idx` ON `organisation_units` (`slug`);--> statement-breakpoint
CREATE INDEX `organisation_units_org_idx` ON `organisation_units` (`organisation_id`);--> statement-breakpoint
CREATE TABLE `organisations` (
	`id` text PRIMARY KEY NOT NULL,
	`slug` text NOT NULL,
	`kind` text NOT NULL,
	`name` text NOT NULL,
	`alternate_names` text NOT NULL,
	`description` text,
	`legal_form` text,
	`website` text,
	`email` text,
	`phone` text,
	`street` text,
	`postcode` text,
	`city` text,
	`ortsteil` text,
	`notes` text NOT NULL,
	`sources` text NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	`deleted_at` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `organisations_slug_idx` ON `organisations` (`slug`);--> statement-breakpoint
CREATE INDEX `organisations_kind_idx` ON `organisations` (`kind`);--> statement-breakpoint
CREATE TABLE `service_target_groups` (
	`service_id` text NOT NULL,
	`target_group_id` text NOT NULL,
	`original_wording` text NOT NULL,
	PRIMARY KEY(`service_id`, `target_group_id`),
	FOREIGN KEY (`service_id`) REFERENCES `services`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`target_group_id`) REFERENCES `target_groups`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `service_target_groups_tg_idx` ON `service_target_groups` (`target_group_id`);--> statement-breakpoint
CREATE TABLE `services` (
	`id` text PRIMARY KEY NOT NULL,
	`facility_id` text NOT NULL,
	`name` text NOT NULL,
	`description` text,
	`category_id` text NOT NULL,
	`schedule_note` text,
	`fee_note` text,
	`as_of` text,
	`status` text NOT NULL,
	`sources` text NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	`deleted_at` text,
	FOREIGN KEY (`facility_id`) REFERENCES `facilities`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`category_id`) REFERENCES `categories`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `services_facility_idx` ON `services` (`facility_id`);--> statement-breakpoint
CREATE INDEX `services_category_idx` ON `services` (`category_id`);--> statement-breakpoint
CREATE TABLE `target_groups` (
	`id` text PRIMARY KEY NOT NULL,
	`slug` text NOT NULL,
	`label_de` text NOT NULL,
	`label_en` text NOT NULL,
	`description` text NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	`deleted_at` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `target_groups_slug_idx` ON `target_groups` (`slug`);