//! Publications as the first migration makes them, for tests that render without a
//! database (benches/personalise.rs includes this file by `#[path]`).

use nyhetsbrev::domain::{
    Publication, PublicationDescription, PublicationId, PublicationKind, PublicationName,
    PublicationSlug, Timestamp,
};

pub fn publication(slug: &str, name: &str, kind: PublicationKind) -> Publication {
    Publication {
        // The first row, as the migration numbers it.
        id: PublicationId::parse("1").unwrap(),
        slug: PublicationSlug::parse(slug).unwrap(),
        name: PublicationName::parse(name).unwrap(),
        description: PublicationDescription::parse("Til testene.").unwrap(),
        kind,
        footer: Default::default(),
        created_at: Timestamp::now(),
        updated_at: Timestamp::now(),
    }
}

/// "Nyhetsbrev fra KOM", the publication every issue belongs to by default.
pub fn newsletter() -> Publication {
    publication(
        "nyhetsbrev",
        "Nyhetsbrev fra KOM",
        PublicationKind::Newsletter,
    )
}
