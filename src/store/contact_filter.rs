//! Which contacts a list or an export covers: a status, a text searched, a publication.

use sqlx::Any;
use sqlx::any::AnyArguments;
use sqlx::query::Query;

use super::contact_rows::contact_columns;
use crate::domain::ContactStatus;

/// Which contacts a list or export covers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactFilter {
    pub status: Option<ContactStatus>,
    /// Case-insensitive text searched in address, name and organisation.
    pub search: Option<String>,
    /// Only contacts subscribed to this publication (and not left it).
    pub publication: Option<crate::domain::PublicationSlug>,
}

/// The condition for [`ContactFilter::publication`], its slug bound as `$n`.
macro_rules! in_publication {
    ($n:literal) => {
        concat!(
            "EXISTS (SELECT 1 FROM subscriptions s JOIN publications p ON p.id = s.publication_id \
             WHERE s.contact_id = contacts.id AND s.left_at IS NULL AND p.slug = $",
            $n,
            ")"
        )
    };
}
pub(super) use in_publication;

impl ContactFilter {
    /// The SQL for this filter's shape. Four fixed texts rather than one built at run
    /// time: each keeps one set of bind types (see the note on PostgreSQL's statement
    /// cache in ../shared/ENGINEERING.md) and stays a `&'static str`.
    fn sql(&self, count: bool) -> &'static str {
        macro_rules! select {
            ($where:expr) => {
                if count {
                    concat!("SELECT COUNT(*) AS n FROM contacts ", $where)
                } else {
                    concat!(
                        "SELECT ",
                        contact_columns!(),
                        " FROM contacts ",
                        $where,
                        " ORDER BY email_key"
                    )
                }
            };
        }
        match (
            self.status.is_some(),
            self.search.is_some(),
            self.publication.is_some(),
        ) {
            (false, false, false) => select!(""),
            (true, false, false) => select!("WHERE status = $1"),
            (false, true, false) => select!("WHERE search_text LIKE $1 ESCAPE '\\'"),
            (true, true, false) => {
                select!("WHERE status = $1 AND search_text LIKE $2 ESCAPE '\\'")
            }
            (false, false, true) => select!(concat!("WHERE ", in_publication!("1"))),
            (true, false, true) => {
                select!(concat!("WHERE status = $1 AND ", in_publication!("2")))
            }
            (false, true, true) => select!(concat!(
                "WHERE search_text LIKE $1 ESCAPE '\\' AND ",
                in_publication!("2")
            )),
            (true, true, true) => select!(concat!(
                "WHERE status = $1 AND search_text LIKE $2 ESCAPE '\\' AND ",
                in_publication!("3")
            )),
        }
    }

    pub(super) fn query(&self, count: bool) -> Query<'static, Any, AnyArguments> {
        let mut query = sqlx::query(self.sql(count));
        if let Some(status) = self.status {
            query = query.bind(status.as_str());
        }
        if let Some(search) = &self.search {
            query = query.bind(like_pattern(search));
        }
        if let Some(publication) = &self.publication {
            query = query.bind(publication.as_str().to_owned());
        }
        query
    }
}

/// `%text%` with LIKE's own wildcards escaped, lower-cased like `search_text`.
pub(super) fn like_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.trim().to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_pattern(" 50%_Øst "), "%50\\%\\_øst%");
    }
}
