CREATE TABLE `contact_hidden_periods` (
	`contact_id` text NOT NULL,
	`from_seq` integer NOT NULL,
	`to_seq` integer,
	PRIMARY KEY(`contact_id`, `from_seq`)
);
--> statement-breakpoint
-- The stretches in which a contact was not public and live, by sequence number of the change feed
-- (times would not do: two statements may write in the same millisecond). The change triggers of
-- contacts keep them, with the seq of the change row they have just written (last_insert_rowid()).
-- They replace the triggers of 0006, which cleared the mark when a contact was public again.
DROP TRIGGER `contacts_hidden_update`;
--> statement-breakpoint
DROP TRIGGER `contacts_shown_update`;
--> statement-breakpoint
DROP TRIGGER `contacts_changes_insert`;
--> statement-breakpoint
DROP TRIGGER `contacts_changes_update`;
--> statement-breakpoint
CREATE TRIGGER `contacts_changes_insert` AFTER INSERT ON `contacts` BEGIN
  INSERT INTO changes (entity_type, entity_id, action, changed_at, actor)
  VALUES ('contact', NEW.id, CASE WHEN NEW.deleted_at IS NULL THEN 'create' ELSE 'delete' END, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), (SELECT actor FROM write_context WHERE id = 1));
  -- Created internal (or deleted): hidden from its first change on.
  INSERT INTO contact_hidden_periods (contact_id, from_seq)
    SELECT NEW.id, last_insert_rowid() WHERE NEW.visibility <> 'public' OR NEW.deleted_at IS NOT NULL;
END;
--> statement-breakpoint
CREATE TRIGGER `contacts_changes_update` AFTER UPDATE ON `contacts` BEGIN
  INSERT INTO changes (entity_type, entity_id, action, changed_at, actor)
  VALUES ('contact', NEW.id, CASE
    WHEN NEW.deleted_at IS NOT NULL AND OLD.deleted_at IS NULL THEN 'delete'
    WHEN NEW.deleted_at IS NULL AND OLD.deleted_at IS NOT NULL THEN 'create'
    WHEN NEW.deleted_at IS NOT NULL THEN 'delete'
    ELSE 'update' END, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), (SELECT actor FROM write_context WHERE id = 1));
  -- Public and live again: the stretch ends with this change (which the public sees).
  UPDATE contact_hidden_periods SET to_seq = last_insert_rowid()
    WHERE contact_id = NEW.id AND to_seq IS NULL AND NEW.visibility = 'public' AND NEW.deleted_at IS NULL;
  UPDATE contacts_ever_public SET hidden_at = NULL
    WHERE contact_id = NEW.id AND NEW.visibility = 'public' AND NEW.deleted_at IS NULL;
  -- No longer public and live: a stretch begins with this change (the public's delete), and its
  -- tombstone keeps the contact's time of it.
  UPDATE contacts_ever_public SET hidden_at = coalesce(NEW.deleted_at, NEW.updated_at)
    WHERE contact_id = NEW.id AND OLD.visibility = 'public' AND OLD.deleted_at IS NULL AND (NEW.visibility <> 'public' OR NEW.deleted_at IS NOT NULL);
  INSERT INTO contact_hidden_periods (contact_id, from_seq)
    SELECT NEW.id, last_insert_rowid()
    WHERE OLD.visibility = 'public' AND OLD.deleted_at IS NULL AND (NEW.visibility <> 'public' OR NEW.deleted_at IS NOT NULL);
END;
--> statement-breakpoint
-- The stretch each contact is in now, if it is hidden: from its hiding as 0006 recorded it, else
-- (hidden before 0006, or never public) from its newest change, so that nothing the public feed
-- showed so far disappears.
INSERT INTO contact_hidden_periods (contact_id, from_seq)
  SELECT k.id, coalesce(
    (SELECT max(c.seq) FROM changes c WHERE c.entity_type = 'contact' AND c.entity_id = k.id AND c.changed_at <= p.hidden_change_at),
    (SELECT max(c.seq) FROM changes c WHERE c.entity_type = 'contact' AND c.entity_id = k.id), 0)
  FROM contacts k LEFT JOIN contacts_ever_public p ON p.contact_id = k.id
  WHERE k.visibility <> 'public' OR k.deleted_at IS NOT NULL;
--> statement-breakpoint
ALTER TABLE `contacts_ever_public` DROP COLUMN `hidden_change_at`;
