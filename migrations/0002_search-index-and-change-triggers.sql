-- Change feed: every insert, update, soft delete (deleted_at set), restore and hard delete of an
-- entity row appends to `changes` in the same transaction, whatever code path wrote it.
-- Link tables (facility_types, *_target_groups, event_participants) are covered because every
-- write path that changes them also bumps the owner's updated_at.
CREATE TRIGGER `facilities_changes_insert` AFTER INSERT ON `facilities` BEGIN
  INSERT INTO changes (entity_type, entity_id, action, changed_at, actor)
  VALUES ('facility', NEW.id, CASE WHEN NEW.deleted_at IS NULL THEN 'create' ELSE 'delete' END, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), (SELECT actor FROM write_context WHERE id = 1));
END;
--> statement-breakpoint
CREATE TRIGGER `facilities_changes_update` AFTER UPDATE ON `facilities` BEGIN
  INSERT INTO changes (entity_type, entity_id, action, changed_at, actor)
  VALUES ('facility', NEW.id, CASE
    WHEN NEW.deleted_at IS NOT NULL AND OLD.deleted_at IS NULL THEN 'delete'
    WHEN NEW.deleted_at IS NULL AND OLD.deleted_at IS NOT NULL THEN 'create'
    WHEN NEW.deleted_at IS NOT NULL THEN 'delete'
    ELSE 'update' END, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), (SELECT actor FROM write_context WHERE id = 1));
END;
--> statement-breakpoint
CREATE TRIGGER `facilities_changes_delete` AFTER DELETE ON `facilities` BEGIN
  INSERT INTO changes (entity_type, entity_id, action, changed_at, actor)
  VALUES ('facility', OLD.id, 'delete', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), (SELECT actor FROM write_context WHERE id = 1));
END;
--> statement-breakpoint
CREATE TRIGGER `services_changes_insert` AFTER INSERT ON `services` BEGIN
  INSERT INTO changes (entity_type, entity_id, action, changed_at, actor)
  VALUES ('service', NEW.id, CASE WHEN NEW.deleted_at IS NULL THEN 'create' ELSE 'delete' END, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), (SELECT actor FROM write_context WHERE id = 1));
END;
--> statement-breakpoint
CREATE TRIGGER `services_changes_update` AFTER UPDATE ON `services` BEGIN
  INSERT INTO changes (entity_type, entity_id, action, changed_at, actor)
  VALUES ('service', NEW.id, CASE
    WHEN NEW.deleted_at IS NOT NULL AND OLD.deleted_at IS NULL THEN 'delete'
    WHEN NEW.deleted_at IS NULL AND OLD.deleted_at IS NOT NULL THEN 'create'
    WHEN NEW.deleted_at IS NOT NULL THEN 'delete'
    ELSE 'update' END, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), (SELECT actor FROM write_context WHERE id = 1));
END;
--> statement-breakpoint
CREATE TRIGGER `services_changes_delete` AFTER DELETE ON `services` BEGIN
  INSERT INTO changes (entity_type, entity_id, action, changed_at, actor)
  VALUES ('service', OLD.id, 'delete', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), (SELECT actor FROM write_context WHERE id = 1));
END;
--> statement-breakpoint
CREATE TRIGGER `organisations_changes_insert` AFTER INSERT ON `organisations` BEGIN
  INSERT INTO changes (entity_type, entity_id, action, changed_at, actor)
  VALUES ('organisation', NEW.id, CASE WHEN NEW.deleted_at IS NULL THEN 'create' ELSE 'delete' END, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), (SELECT actor FROM write_context WHERE id = 1));
END;
--> statement-breakpoint
CREATE TRIGGER `organisations_changes_update` AFTER UPDATE ON `organisations` BEGIN
  INSERT INTO changes (entity_type, entity_id, action, changed_at, actor)
  VALUES ('organisation', NEW.id, CASE
    WHEN NEW.deleted_at IS NOT NULL AND OLD.deleted_at IS NULL THEN 'delete'
    WHEN NEW.deleted_at IS NULL AND OLD.deleted_at IS NOT NULL THEN 'create'
    WHEN NEW.deleted_at IS NOT NULL THEN 'delete'
    ELSE 'update' END, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), (SELECT actor FROM write_context WHERE id = 1));
END;
--> statement-breakpoint
CREATE TRIGGER `organisations_changes_delete` AFTER DELETE ON `organisations` BEGIN
  INSERT INTO changes (entity_type, entity_id, action, changed_at, actor)
  VALUES ('organisation', OLD.id, 'delete', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), (SELECT actor FROM write_context WHERE id = 1));
END;
--> statement-breakpoint
CREATE TRIGGER `organisation_units_changes_insert` AFTER INSERT ON `organisation_units` BEGIN
  INSERT INTO changes (entity_type, entity_id, action, changed_at, actor)
  VALUES ('organisation_unit', NEW.id, CASE WHEN NEW.deleted_at IS NULL THEN 'create' ELSE 'delete' END, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), (SELECT actor FROM write_context WHERE id = 1));
END;
--> statement-breakpoint
CREATE TRIGGER `organisation_units_changes_update` AFTER UPDATE ON `organisation_units` BEGIN
  INSERT INTO changes (entity_type, entity_id, action, changed_at, actor)
  VALUES ('organisation_unit', NEW.id, CASE
    WHEN NEW.deleted_at IS NOT NULL AND OLD.deleted_at IS NULL THEN 'delete'
    WHEN NEW.deleted_at IS NULL AND OLD.deleted_at IS NOT NULL THEN 'create'
    WHEN NEW.deleted_at IS NOT NULL THEN 'delete'
    ELSE 'update' END, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), (SELECT actor FROM write_context WHERE id = 1));
END;
--> statement-breakpoint
CREATE TRIGGER `organisation_units_changes_delete` AFTER DELETE ON `organisation_units` BEGIN
  INSERT INTO changes (entity_type, entity_id, action, changed_at, actor)
  VALUES ('organisation_unit', OLD.id, 'delete', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), (SELECT actor FROM write_context WHERE id = 1));
END;
--> statement-breakpoint
CREATE TRIGGER `organisation_sites_changes_insert` AFTER INSERT ON `organisation_sites` BEGIN
  INSERT INTO changes (entity_type, entity_id, action, changed_at, actor)
  VALUES ('organisation_site', NEW.id, CASE WHEN NEW.deleted_at IS NULL THEN 'create' ELSE 'delete' END, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), (SELECT actor FROM write_context WHERE id = 1));
END;
--> statement-breakpoint
CREATE TRIGGER `organisation_sites_changes_update` AFTER UPDATE ON `organisation_sites` BEGIN
  INSERT INTO changes (entity_type, entity_id, action, changed_at, actor)
  VALUES ('organisation_site', NEW.id, CASE
    WHEN NEW.deleted_at IS NOT NULL AND OLD.deleted_at IS NULL THEN 'delete'
    WHEN NEW.deleted_at IS NULL AND OLD.deleted_at IS NOT NULL THEN 'create'
    WHEN NEW.deleted_at IS NOT NULL THEN 'delete'
    ELSE 'update' END, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), (SELECT actor FROM write_context WHERE id = 1));
END;
--> statement-breakpoint
CREATE TRIGGER `organisation_sites_changes_delete` AFTER DELETE ON `organisation_sites` BEGIN
  INSERT INTO changes (entity_type, entity_id, action, changed_at, actor)
  VALUES ('organisation_site', OLD.id, 'delete', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), (SELECT actor FROM write_context WHERE id = 1));
END;
--> statement-breakpoint
CREATE TRIGGER `contacts_changes_insert` AFTER INSERT ON `contacts` BEGIN
  INSERT INTO changes (entity_type, entity_id, action, changed_at, actor)
  VALUES ('contact', NEW.id, CASE WHEN NEW.deleted_at IS NULL THEN 'create' ELSE 'delete' END, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), (SELECT actor FROM write_context WHERE id = 1));
END;
--> statement-breakpoint
CREATE TRIGGER `contacts_changes_update` AFTER UPDATE ON `contacts` BEGIN
  INSERT INTO changes (entity_type, entity_id, action, changed_at, actor)
  VALUES ('contact', NEW.id, CASE
    WHEN NEW.deleted_at IS NOT NULL AND OLD.deleted_at IS NULL THEN 'delete'
    WHEN NEW.deleted_at IS NULL AND OLD.deleted_at IS NOT NULL THEN 'create'
    WHEN NEW.deleted_at IS NOT NULL THEN 'delete'
    ELSE 'update' END, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), (SELECT actor FROM write_context WHERE id = 1));
END;
--> statement-breakpoint
CREATE TRIGGER `contacts_changes_delete` AFTER DELETE ON `contacts` BEGIN
  INSERT INTO changes (entity_type, entity_id, action, changed_at, actor)
  VALUES ('contact', OLD.id, 'delete', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), (SELECT actor FROM write_context WHERE id = 1));
END;
--> statement-breakpoint
CREATE TRIGGER `categories_changes_insert` AFTER INSERT ON `categories` BEGIN
  INSERT INTO changes (entity_type, entity_id, action, changed_at, actor)
  VALUES ('category', NEW.id, CASE WHEN NEW.deleted_at IS NULL THEN 'create' ELSE 'delete' END, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), (SELECT actor FROM write_context WHERE id = 1));
END;
--> statement-breakpoint
CREATE TRIGGER `categories_changes_update` AFTER UPDATE ON `categories` BEGIN
  INSERT INTO changes (entity_type, entity_id, action, changed_at, actor)
  VALUES ('category', NEW.id, CASE
    WHEN NEW.deleted_at IS NOT NULL AND OLD.deleted_at IS NULL THEN 'delete'
    WHEN NEW.deleted_at IS NULL AND OLD.deleted_at IS NOT NULL THEN 'create'
    WHEN NEW.deleted_at IS NOT NULL THEN 'delete'
    ELSE 'update' END, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), (SELECT actor FROM write_context WHERE id = 1));
END;
--> statement-breakpoint
CREATE TRIGGER `categories_changes_delete` AFTER DELETE ON `categories` BEGIN
  INSERT INTO changes (entity_type, entity_id, action, changed_at, actor)
  VALUES ('category', OLD.id, 'delete', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), (SELECT actor FROM write_context WHERE id = 1));
END;
--> statement-breakpoint
CREATE TRIGGER `target_groups_changes_insert` AFTER INSERT ON `target_groups` BEGIN
  INSERT INTO changes (entity_type, entity_id, action, changed_at, actor)
  VALUES ('target_group', NEW.id, CASE WHEN NEW.deleted_at IS NULL THEN 'create' ELSE 'delete' END, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), (SELECT actor FROM write_context WHERE id = 1));
END;
--> statement-breakpoint
CREATE TRIGGER `target_groups_changes_update` AFTER UPDATE ON `target_groups` BEGIN
  INSERT INTO changes (entity_type, entity_id, action, changed_at, actor)
  VALUES ('target_group', NEW.id, CASE
    WHEN NEW.deleted_at IS NOT NULL AND OLD.deleted_at IS NULL THEN 'delete'
    WHEN NEW.deleted_at IS NULL AND OLD.deleted_at IS NOT NULL THEN 'create'
    WHEN NEW.deleted_at IS NOT NULL THEN 'delete'
    ELSE 'update' END, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), (SELECT actor FROM write_context WHERE id = 1));
END;
--> statement-breakpoint
CREATE TRIGGER `target_groups_changes_delete` AFTER DELETE ON `target_groups` BEGIN
  INSERT INTO changes (entity_type, entity_id, action, changed_at, actor)
  VALUES ('target_group', OLD.id, 'delete', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), (SELECT actor FROM write_context WHERE id = 1));
END;
--> statement-breakpoint
CREATE TRIGGER `agreements_changes_insert` AFTER INSERT ON `agreements` BEGIN
  INSERT INTO changes (entity_type, entity_id, action, changed_at, actor)
  VALUES ('agreement', NEW.id, CASE WHEN NEW.deleted_at IS NULL THEN 'create' ELSE 'delete' END, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), (SELECT actor FROM write_context WHERE id = 1));
END;
--> statement-breakpoint
CREATE TRIGGER `agreements_changes_update` AFTER UPDATE ON `agreements` BEGIN
  INSERT INTO changes (entity_type, entity_id, action, changed_at, actor)
  VALUES ('agreement', NEW.id, CASE
    WHEN NEW.deleted_at IS NOT NULL AND OLD.deleted_at IS NULL THEN 'delete'
    WHEN NEW.deleted_at IS NULL AND OLD.deleted_at IS NOT NULL THEN 'create'
    WHEN NEW.deleted_at IS NOT NULL THEN 'delete'
    ELSE 'update' END, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), (SELECT actor FROM write_context WHERE id = 1));
END;
--> statement-breakpoint
CREATE TRIGGER `agreements_changes_delete` AFTER DELETE ON `agreements` BEGIN
  INSERT INTO changes (entity_type, entity_id, action, changed_at, actor)
  VALUES ('agreement', OLD.id, 'delete', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), (SELECT actor FROM write_context WHERE id = 1));
END;
--> statement-breakpoint
CREATE TRIGGER `agreement_parties_changes_insert` AFTER INSERT ON `agreement_parties` BEGIN
  INSERT INTO changes (entity_type, entity_id, action, changed_at, actor)
  VALUES ('agreement_party', NEW.id, CASE WHEN NEW.deleted_at IS NULL THEN 'create' ELSE 'delete' END, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), (SELECT actor FROM write_context WHERE id = 1));
END;
--> statement-breakpoint
CREATE TRIGGER `agreement_parties_changes_update` AFTER UPDATE ON `agreement_parties` BEGIN
  INSERT INTO changes (entity_type, entity_id, action, changed_at, actor)
  VALUES ('agreement_party', NEW.id, CASE
    WHEN NEW.deleted_at IS NOT NULL AND OLD.deleted_at IS NULL THEN 'delete'
    WHEN NEW.deleted_at IS NULL AND OLD.deleted_at IS NOT NULL THEN 'create'
    WHEN NEW.deleted_at IS NOT NULL THEN 'delete'
    ELSE 'update' END, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), (SELECT actor FROM write_context WHERE id = 1));
END;
--> statement-breakpoint
CREATE TRIGGER `agreement_parties_changes_delete` AFTER DELETE ON `agreement_parties` BEGIN
  INSERT INTO changes (entity_type, entity_id, action, changed_at, actor)
  VALUES ('agreement_party', OLD.id, 'delete', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), (SELECT actor FROM write_context WHERE id = 1));
END;
--> statement-breakpoint
CREATE TRIGGER `events_changes_insert` AFTER INSERT ON `events` BEGIN
  INSERT INTO changes (entity_type, entity_id, action, changed_at, actor)
  VALUES ('event', NEW.id, CASE WHEN NEW.deleted_at IS NULL THEN 'create' ELSE 'delete' END, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), (SELECT actor FROM write_context WHERE id = 1));
END;
--> statement-breakpoint
CREATE TRIGGER `events_changes_update` AFTER UPDATE ON `events` BEGIN
  INSERT INTO changes (entity_type, entity_id, action, changed_at, actor)
  VALUES ('event', NEW.id, CASE
    WHEN NEW.deleted_at IS NOT NULL AND OLD.deleted_at IS NULL THEN 'delete'
    WHEN NEW.deleted_at IS NULL AND OLD.deleted_at IS NOT NULL THEN 'create'
    WHEN NEW.deleted_at IS NOT NULL THEN 'delete'
    ELSE 'update' END, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), (SELECT actor FROM write_context WHERE id = 1));
END;
--> statement-breakpoint
CREATE TRIGGER `events_changes_delete` AFTER DELETE ON `events` BEGIN
  INSERT INTO changes (entity_type, entity_id, action, changed_at, actor)
  VALUES ('event', OLD.id, 'delete', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), (SELECT actor FROM write_context WHERE id = 1));
END;
--> statement-breakpoint
-- Records that existed before the feed: one entry each, oldest first.
INSERT INTO changes (entity_type, entity_id, action, changed_at)
SELECT entity_type, id, action, changed_at FROM (
  SELECT 'facility' AS entity_type, id, CASE WHEN deleted_at IS NULL THEN 'create' ELSE 'delete' END AS action, coalesce(deleted_at, updated_at) AS changed_at FROM `facilities`
  UNION ALL SELECT 'service' AS entity_type, id, CASE WHEN deleted_at IS NULL THEN 'create' ELSE 'delete' END AS action, coalesce(deleted_at, updated_at) AS changed_at FROM `services`
  UNION ALL SELECT 'organisation' AS entity_type, id, CASE WHEN deleted_at IS NULL THEN 'create' ELSE 'delete' END AS action, coalesce(deleted_at, updated_at) AS changed_at FROM `organisations`
  UNION ALL SELECT 'organisation_unit' AS entity_type, id, CASE WHEN deleted_at IS NULL THEN 'create' ELSE 'delete' END AS action, coalesce(deleted_at, updated_at) AS changed_at FROM `organisation_units`
  UNION ALL SELECT 'organisation_site' AS entity_type, id, CASE WHEN deleted_at IS NULL THEN 'create' ELSE 'delete' END AS action, coalesce(deleted_at, updated_at) AS changed_at FROM `organisation_sites`
  UNION ALL SELECT 'contact' AS entity_type, id, CASE WHEN deleted_at IS NULL THEN 'create' ELSE 'delete' END AS action, coalesce(deleted_at, updated_at) AS changed_at FROM `contacts`
  UNION ALL SELECT 'category' AS entity_type, id, CASE WHEN deleted_at IS NULL THEN 'create' ELSE 'delete' END AS action, coalesce(deleted_at, updated_at) AS changed_at FROM `categories`
  UNION ALL SELECT 'target_group' AS entity_type, id, CASE WHEN deleted_at IS NULL THEN 'create' ELSE 'delete' END AS action, coalesce(deleted_at, updated_at) AS changed_at FROM `target_groups`
  UNION ALL SELECT 'agreement' AS entity_type, id, CASE WHEN deleted_at IS NULL THEN 'create' ELSE 'delete' END AS action, coalesce(deleted_at, updated_at) AS changed_at FROM `agreements`
  UNION ALL SELECT 'agreement_party' AS entity_type, id, CASE WHEN deleted_at IS NULL THEN 'create' ELSE 'delete' END AS action, coalesce(deleted_at, updated_at) AS changed_at FROM `agreement_parties`
  UNION ALL SELECT 'event' AS entity_type, id, CASE WHEN deleted_at IS NULL THEN 'create' ELSE 'delete' END AS action, coalesce(deleted_at, updated_at) AS changed_at FROM `events`
) ORDER BY changed_at, entity_type, id;
--> statement-breakpoint
-- Full-text search (FTS5). unicode61 with remove_diacritics folds case and umlauts
-- (Begegnungsstätte = begegnungsstatte); the variants column adds ß→ss and ä→ae spellings.
-- Maintained by src/repositories/search-index.ts.
CREATE VIRTUAL TABLE facility_search USING fts5(
  facility_id UNINDEXED, name, alternate_names, description, services, target_groups, categories, variants,
  tokenize = 'unicode61 remove_diacritics 2'
);
--> statement-breakpoint
CREATE VIRTUAL TABLE service_search USING fts5(
  service_id UNINDEXED, name, description, category, target_groups, facility, variants,
  tokenize = 'unicode61 remove_diacritics 2'
);
