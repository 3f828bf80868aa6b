-- Publications (issue 18): the contact list gets more than the newsletter, and each
-- person chooses what they get. migrations/sqlite/ holds the same for SQLite.

CREATE TABLE publications (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug            TEXT    NOT NULL,            -- "rettsavgjorelser": List-Id, archive path, front matter
    name            TEXT    NOT NULL,            -- "Oversikt over rettsavgjørelser": the masthead
    description     TEXT    NOT NULL,            -- one line shown to subscribers
    kind            TEXT    NOT NULL
        CHECK (kind IN ('newsletter', 'announcement')),
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL
);
CREATE UNIQUE INDEX publications_slug ON publications (slug);

-- KOM's three from the start. The millisecond time of this migration's date.
INSERT INTO publications (slug, name, description, kind, created_at, updated_at) VALUES
    ('nyhetsbrev', 'Nyhetsbrev fra KOM',
     'Fire ganger i året: nytt fra KOM og arbeidet mot menneskehandel.', 'newsletter',
     1796342400000, 1796342400000),
    ('rettsavgjorelser', 'Oversikt over rettsavgjørelser',
     'Hver fjerde måned: KOMs oversikt over rettsavgjørelser om menneskehandel.', 'announcement',
     1796342400000, 1796342400000),
    ('tilstandsrapport', 'KOMs tilstandsrapport',
     'Én gang i året: KOMs rapport om menneskehandel i Norge.', 'announcement',
     1796342400000, 1796342400000);

-- What each contact chose, with its own consent. A row with left_at set is a
-- publication the contact left (kept: when and how they joined is their record).
CREATE TABLE subscriptions (
    contact_id      BIGINT  NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    publication_id  BIGINT  NOT NULL REFERENCES publications (id) ON DELETE CASCADE,
    consent_source  TEXT    NOT NULL
        CHECK (consent_source IN ('web', 'email-request', 'import', 'staff')),
    consent_at      BIGINT  NOT NULL,
    consent_note    TEXT,
    left_at         BIGINT,
    PRIMARY KEY (contact_id, publication_id)
);
-- A send of one publication reads its subscribers in contact order.
CREATE INDEX subscriptions_publication ON subscriptions (publication_id, contact_id) WHERE left_at IS NULL;
CREATE INDEX subscriptions_left ON subscriptions (left_at) WHERE left_at IS NOT NULL;

-- Everyone on the list agreed to "alt KOM sender": subscribed to all three, with the
-- consent they gave. Contacts who left have nothing to be subscribed to.
INSERT INTO subscriptions (contact_id, publication_id, consent_source, consent_at, consent_note)
SELECT c.id, p.id, c.consent_source, c.consent_at, 'alt KOM sender (fra før publikasjonene)'
FROM contacts c CROSS JOIN publications p
WHERE c.status <> 'unsubscribed';

-- An issue belongs to one publication: every issue so far is a newsletter.
ALTER TABLE issues ADD COLUMN publication_id BIGINT REFERENCES publications (id);
UPDATE issues SET publication_id = (SELECT id FROM publications WHERE slug = 'nyhetsbrev');
CREATE INDEX issues_publication ON issues (publication_id, status);

-- A request from the web form says which publications were ticked (slugs, comma-
-- separated); NULL is all of them (requests queued before publications).
ALTER TABLE subscription_requests ADD COLUMN publications TEXT;
