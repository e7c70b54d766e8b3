-- The watch's e-mail recipients (issue 22): plain addresses, one per line.
ALTER TABLE watches ADD COLUMN emails TEXT;
