CREATE TABLE `contacts_ever_public` (
	`contact_id` text PRIMARY KEY NOT NULL
);
--> statement-breakpoint
-- Kept by triggers, so that writes through the API, the seed and plain SQL all count.
CREATE TRIGGER `contacts_ever_public_insert` AFTER INSERT ON `contacts` WHEN NEW.visibility = 'public' BEGIN
  INSERT OR IGNORE INTO contacts_ever_public (contact_id) VALUES (NEW.id);
END;
--> statement-breakpoint
CREATE TRIGGER `contacts_ever_public_update` AFTER UPDATE OF visibility ON `contacts` WHEN NEW.visibility = 'public' BEGIN
  INSERT OR IGNORE INTO contacts_ever_public (contact_id) VALUES (NEW.id);
END;
--> statement-breakpoint
-- Contacts public now, and those the history shows public before.
INSERT OR IGNORE INTO contacts_ever_public (contact_id)
  SELECT id FROM contacts WHERE visibility = 'public'
  UNION SELECT entity_id FROM history WHERE entity_type = 'contact'
    AND 'public' IN (json_extract(changes, '$.visibility.old'), json_extract(changes, '$.visibility.new'));
