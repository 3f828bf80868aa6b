-- Erasure means erased (issue 29): the trigram search index deletes a contact's
-- entries from its segments at once instead of leaving them until a merge, and is
-- rebuilt once so that nothing an earlier deletion left behind stays in it.
INSERT INTO contacts_search (contacts_search, rank) VALUES ('secure-delete', 1);
INSERT INTO contacts_search (contacts_search) VALUES ('rebuild');
