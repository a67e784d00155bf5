CREATE TABLE `contacts_ever_public` (
	`contact_id` text PRIMARY KEY NOT NULL
);
--> statement-breakpoint
CREATE TABLE `facility_contact_removals` (
	`facility_id` text PRIMARY KEY NOT NULL,
	`removed_at` text NOT NULL
);
--> statement-breakpoint
-- Kept by triggers, so that writes through the API, the seed and plain SQL all count (from this
-- migration on; the backfill below covers what came before).
CREATE TRIGGER `contacts_ever_public_insert` AFTER INSERT ON `contacts` WHEN NEW.visibility = 'public' BEGIN
  INSERT OR IGNORE INTO contacts_ever_public (contact_id) VALUES (NEW.id);
END;
--> statement-breakpoint
CREATE TRIGGER `contacts_ever_public_update` AFTER UPDATE OF visibility ON `contacts` WHEN NEW.visibility = 'public' BEGIN
  INSERT OR IGNORE INTO contacts_ever_public (contact_id) VALUES (NEW.id);
END;
--> statement-breakpoint
-- A contact served at a facility (public, live) that stops being served there: deleted, made
-- internal, moved to another facility or to none.
CREATE TRIGGER `contacts_public_removal_update` AFTER UPDATE ON `contacts`
  WHEN OLD.facility_id IS NOT NULL AND OLD.visibility = 'public' AND OLD.deleted_at IS NULL
    AND (NEW.visibility <> 'public' OR NEW.deleted_at IS NOT NULL OR NEW.facility_id IS NOT OLD.facility_id) BEGIN
  INSERT INTO facility_contact_removals (facility_id, removed_at) VALUES (OLD.facility_id, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    ON CONFLICT (facility_id) DO UPDATE SET removed_at = excluded.removed_at;
END;
--> statement-breakpoint
CREATE TRIGGER `contacts_public_removal_delete` AFTER DELETE ON `contacts`
  WHEN OLD.facility_id IS NOT NULL AND OLD.visibility = 'public' AND OLD.deleted_at IS NULL BEGIN
  INSERT INTO facility_contact_removals (facility_id, removed_at) VALUES (OLD.facility_id, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    ON CONFLICT (facility_id) DO UPDATE SET removed_at = excluded.removed_at;
END;
--> statement-breakpoint
-- Contacts public now, those the history shows public before, and (the seed and SQL wrote no
-- history before this migration) every contact changed or deleted since it was created: it may
-- have been public, so public copies are told to drop it rather than keep it.
INSERT OR IGNORE INTO contacts_ever_public (contact_id)
  SELECT id FROM contacts WHERE visibility = 'public' OR updated_at <> created_at OR deleted_at IS NOT NULL
  UNION SELECT entity_id FROM history WHERE entity_type = 'contact'
    AND 'public' IN (json_extract(changes, '$.visibility.old'), json_extract(changes, '$.visibility.new'));
