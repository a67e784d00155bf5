-- Since this version a facility's delete deletes its live services too, each with a delete in
-- the change feed. Services of facilities deleted before are deleted here, at their facility's
-- time; the change triggers (0002) add their feed deletes.
UPDATE `services` SET
  `deleted_at` = (SELECT f.`deleted_at` FROM `facilities` f WHERE f.`id` = `services`.`facility_id`),
  `updated_at` = (SELECT f.`deleted_at` FROM `facilities` f WHERE f.`id` = `services`.`facility_id`)
WHERE `deleted_at` IS NULL
  AND `facility_id` IN (SELECT `id` FROM `facilities` WHERE `deleted_at` IS NOT NULL);
