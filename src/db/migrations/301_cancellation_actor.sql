-- Who cancelled: a late cancellation counts against the person who made it
-- (NULL for rows written before this column: charged to the student, as before).
ALTER TABLE attendance_cancellations ADD COLUMN cancelled_by uuid REFERENCES users(id);
