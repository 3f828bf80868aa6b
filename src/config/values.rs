//! Setting values with their own rules: the log format, and a database URL that hides
//! its password.

use std::fmt;

use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// A database URL. It may carry a password (`postgres://user:secret@host/db`), so its
/// `Debug` and `Display` hide that part.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    pub fn new(url: impl Into<String>) -> Self {
        Self(url.into())
    }

    /// The full URL, password included: only for connecting.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The file of a `sqlite://FILE` (or `sqlite:FILE`) URL, without its `?options`;
    /// `None` for PostgreSQL and for an in-memory database.
    pub fn sqlite_path(&self) -> Option<std::path::PathBuf> {
        let rest = self
            .0
            .strip_prefix("sqlite://")
            .or_else(|| self.0.strip_prefix("sqlite:"))?;
        let file = rest.split('?').next().unwrap_or(rest);
        (!file.is_empty() && file != ":memory:").then(|| std::path::PathBuf::from(file))
    }

    /// The URL without its password, and the password apart: for a program such as
    /// `pg_dump` that takes the password from its environment rather than its command
    /// line (which any user of the machine can read).
    pub fn split_password(&self) -> (String, Option<String>) {
        match url::Url::parse(&self.0) {
            Ok(mut url) if url.password().is_some() => {
                let password = url
                    .password()
                    .map(|p| crate::config::percent_decode(p).unwrap_or_else(|| p.to_owned()));
                let _ = url.set_password(None);
                (url.to_string(), password)
            }
            _ => (self.0.clone(), None),
        }
    }

    pub fn redacted(&self) -> String {
        match url::Url::parse(&self.0) {
            Ok(mut url) if url.password().is_some() => {
                let _ = url.set_password(Some("***"));
                url.to_string()
            }
            _ => self.0.clone(),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.redacted())
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sqlite_url_names_its_file() {
        let path = |url: &str| DatabaseUrl::new(url).sqlite_path();
        assert_eq!(
            path("sqlite://data/n.db?mode=rwc"),
            Some("data/n.db".into())
        );
        assert_eq!(path("sqlite:n.db"), Some("n.db".into()));
        assert_eq!(path("sqlite:///var/lib/n.db"), Some("/var/lib/n.db".into()));
        assert_eq!(path("sqlite::memory:"), None);
        assert_eq!(path("postgres://h/db"), None);
    }

    #[test]
    fn a_password_is_taken_out_of_the_url() {
        let url = DatabaseUrl::new("postgres://kom:p%40ss@db.example.org:5432/nyhetsbrev");
        let (bare, password) = url.split_password();
        assert_eq!(bare, "postgres://kom@db.example.org:5432/nyhetsbrev");
        assert_eq!(password.as_deref(), Some("p@ss"));
    }
}
