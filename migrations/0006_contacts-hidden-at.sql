ALTER TABLE `contacts_ever_public` ADD `hidden_at` text;--> statement-breakpoint
ALTER TABLE `contacts_ever_public` ADD `hidden_change_at` text;--> statement-breakpoint
-- A contact that stops being public and live (made internal or deleted) is, for the public, gone
-- at that moment: its tombstone keeps that time (hidden_at, the contact's updated_at then), and its
-- later changes are not shown to the public (hidden_change_at: the change row of the same
-- statement has the same 'now'), since their times would tell when an internal contact is edited.
CREATE TRIGGER `contacts_hidden_update` AFTER UPDATE ON `contacts`
  WHEN OLD.visibility = 'public' AND OLD.deleted_at IS NULL AND (NEW.visibility <> 'public' OR NEW.deleted_at IS NOT NULL) BEGIN
  UPDATE contacts_ever_public SET hidden_at = coalesce(NEW.deleted_at, NEW.updated_at), hidden_change_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
    WHERE contact_id = NEW.id;
END;
--> statement-breakpoint
CREATE TRIGGER `contacts_shown_update` AFTER UPDATE ON `contacts`
  WHEN NEW.visibility = 'public' AND NEW.deleted_at IS NULL BEGIN
  UPDATE contacts_ever_public SET hidden_at = NULL, hidden_change_at = NULL WHERE contact_id = NEW.id;
END;
--> statement-breakpoint
-- Contacts hidden before this migration: as of their last change (every change the public feed
-- showed so far is still shown, nothing after it; the tombstone keeps its time).
UPDATE contacts_ever_public SET
  hidden_at = (SELECT coalesce(k.deleted_at, k.updated_at) FROM contacts k WHERE k.id = contacts_ever_public.contact_id),
  hidden_change_at = (SELECT max(c.changed_at) FROM changes c WHERE c.entity_type = 'contact' AND c.entity_id = contacts_ever_public.contact_id)
WHERE contact_id IN (SELECT id FROM contacts WHERE visibility <> 'public' OR deleted_at IS NOT NULL);
